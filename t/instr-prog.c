/*
 * instr-prog.c: a program built with -finstrument-functions and linked with
 * libevprof-instrument, run by t/instrument with EVPROF_OUTPUT set.
 *   plain        fib on the main thread and on two more threads
 *   exit-thread  a thread calls exit() deep in calls while main is mid-call
 *   thread-exit  a thread calls pthread_exit() deep in calls
 *   fork         fork() mid-call; the child exit()s mid-call
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) int fib(int n);
__attribute__((noinline)) int fib(int n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static volatile int sink;

__attribute__((noinline)) static void nest(int depth, void (*leaf)(void))
{
    if (depth == 0)
        leaf();
    else
        nest(depth - 1, leaf);
    sink++;
}

static void leaf_exit(void)
{
    sink += fib(5);
    exit(0);
}

static void leaf_pthread_exit(void)
{
    pthread_exit(NULL);
}

static void leaf_wait(void)
{
    for (;;)
        pause(); /* until the other thread's exit() */
}

static void *fib_thread(void *arg)
{
    sink += fib(*(int *)arg);
    return NULL;
}

static void *exit_thread(void *arg)
{
    (void)arg;
    usleep(20000);
    nest(4, leaf_exit);
    return NULL;
}

static void *pexit_thread(void *arg)
{
    (void)arg;
    nest(3, leaf_pthread_exit);
    return NULL;
}

__attribute__((noinline)) static int do_fork(void)
{
    int status = 0;
    pid_t pid = fork();

    if (pid < 0)
        return 1;
    if (pid == 0)
        nest(2, leaf_exit);
    sink += fib(6);
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "plain";
    pthread_t t[2];
    int n = 12;

    sink += fib(10);
    if (strcmp(mode, "plain") == 0) {
        /* The trace still goes where EVPROF_OUTPUT said, relative to the
         * directory the program started in. */
        if (chdir("/") != 0)
            return 3;
        pthread_create(&t[0], NULL, fib_thread, &n);
        pthread_create(&t[1], NULL, fib_thread, &n);
        pthread_join(t[0], NULL);
        pthread_join(t[1], NULL);
        return 0;
    }
    if (strcmp(mode, "exit-thread") == 0) {
        pthread_create(&t[0], NULL, exit_thread, NULL);
        nest(3, leaf_wait);
        return 1;
    }
    if (strcmp(mode, "thread-exit") == 0) {
        pthread_create(&t[0], NULL, pexit_thread, NULL);
        pthread_join(t[0], NULL);
        return 0;
    }
    if (strcmp(mode, "fork") == 0)
        return do_fork();
    fprintf(stderr, "%s: unknown mode %s\n", argv[0], mode);
    return 2;
}
