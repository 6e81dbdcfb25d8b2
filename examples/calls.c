/*
 * calls.c: a program profiled with -finstrument-functions.  Nothing in it
 * mentions evprof: build it with the evprof-instrument flags and name the
 * trace file in EVPROF_OUTPUT,
 *
 *   cc -g $(pkg-config --cflags evprof-instrument) calls.c -o calls \
 *      $(pkg-config --libs evprof-instrument)
 *   EVPROF_OUTPUT=calls.evt ./calls && ./check_trace calls calls.evt fib
 *
 * and every call and return of its functions, on every thread, is in
 * calls.evt, with the functions' names and source files.  "exit" as
 * argument makes a thread call exit() while calls are open.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile long sink;

int fib(int n);
int fib(int n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static void *worker(void *arg)
{
    sink += fib(*(int *)arg);
    return NULL;
}

static void finish_early(int depth)
{
    if (depth > 0)
        finish_early(depth - 1);
    else if (getenv("CALLS_NO_EXIT") == NULL)
        exit(0); /* calls still open: the trace is written all the same */
}

int main(int argc, char **argv)
{
    pthread_t t;
    int n = 15;

    pthread_create(&t, NULL, worker, &n);
    sink += fib(12);
    pthread_join(t, NULL);
    if (argc > 1 && strcmp(argv[1], "exit") == 0)
        finish_early(3);
    printf("fib: %ld\n", sink);
    return 0;
}
