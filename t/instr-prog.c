/*
 * instr-prog.c: a program built with -finstrument-functions and linked with
 * libevprof-instrument, run by t/instrument with EVPROF_OUTPUT set.
 *   plain        fib on the main thread and on two more threads
 *   exit-thread  a thread calls exit() deep in calls while main is mid-call
 *   thread-exit  a thread calls pthread_exit() deep in calls
 *   fork         fork() mid-call; the child exit()s mid-call
 *   wait         a thread and main in calls, "ready" on stdout, then until
 *                killed
 *   handler      the same, the program's own SIGTERM handler installed
 *                before recording starts (again): it says "handled" and
 *                _exit(42)s
 *   dlopen P     loads the shared object P, calls its plugin_work, unloads
 *                it, exits
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <evprof/instrument.h>

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

static volatile int looping;

static void leaf_forever(void)
{
    looping++;
    for (;;) {
        sink += fib(8);
        usleep(1000);
    }
}

static void *forever_thread(void *arg)
{
    (void)arg;
    nest(2, leaf_forever);
    return NULL;
}

/* Calls open on two threads, then "ready", until a signal ends it. */
static int wait_for_signal(void)
{
    pthread_t t;

    pthread_create(&t, NULL, forever_thread, NULL);
    while (looping == 0)
        usleep(1000);
    sink += fib(10);
    printf("ready\n");
    fflush(stdout);
    nest(3, leaf_forever);
    return 1;
}

static void on_term(int sig)
{
    static const char msg[] = "handled\n";

    (void)sig;
    if (write(1, msg, sizeof(msg) - 1) < 0)
        _exit(43);
    _exit(42);
}

/* Calls plugin_work of the shared object `path`, then unloads it. */
static int use_plugin(const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    int (*work)(int), (*start)(const char *);

    if (h == NULL) {
        fprintf(stderr, "%s\n", dlerror());
        return 5;
    }
    work = (int (*)(int))(uintptr_t)dlsym(h, "plugin_work");
    if (work == NULL)
        return 6;
    /* A plugin with its own copy of evprof-instrument defers to ours. */
    start = (int (*)(const char *))(uintptr_t)dlsym(h, "plugin_start");
    if (start != NULL && start("/dev/null") != -EEXIST)
        return 8;
    sink += work(8);
    if (dlclose(h) != 0)
        return 7;
    sink += fib(6);
    return 0;
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
    if (strcmp(mode, "dlopen") == 0 && argc > 2)
        return use_plugin(argv[2]);
    if (strcmp(mode, "wait") == 0)
        return wait_for_signal();
    if (strcmp(mode, "handler") == 0) {
        const char *out = getenv("EVPROF_OUTPUT");
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_term;
        sigaction(SIGTERM, &sa, NULL);
        /* Recording started before main; started again, it finds our
         * handler in place and calls it after writing the trace. */
        if (out == NULL || evprof_instrument_stop() != 0
            || evprof_instrument_start(out) != 0)
            return 4;
        return wait_for_signal();
    }
    fprintf(stderr, "%s: unknown mode %s\n", argv[0], mode);
    return 2;
}
