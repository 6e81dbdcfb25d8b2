/*
 * instr.c: the cost of -finstrument-functions with libevprof-instrument.
 * Built twice from this file: bench/instr_plain (no instrumentation) and
 * bench/instr_hooked (-finstrument-functions, linked with the library);
 * bench/instr.sh runs both and compares.  Prints the calls made and the
 * nanoseconds the workload took (writing the trace at exit is not timed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

__attribute__((noinline)) long fib(int n);
__attribute__((noinline)) long fib(int n)
{
    long r;

    if (n < 2)
        return n;
    r = fib(n - 1) + fib(n - 2);
    /* Keeps GCC from turning the recursion into a loop (tail recursion
     * with an accumulator), which it does without -finstrument-functions:
     * both binaries then make the same calls. */
    __asm__ volatile("" : "+r"(r));
    return r;
}

static long now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 24, reps = argc > 2 ? atoi(argv[2]) : 5;
    volatile long sink = 0;
    long t0, t1, calls;
    int i;

    t0 = now_ns();
    for (i = 0; i < reps; i++)
        sink += fib(n);
    t1 = now_ns();
    /* fib(n) makes 2 fib(n + 1) - 1 calls. */
    calls = (2 * (sink / reps + (n >= 1 ? fib(n - 1) : 0)) - 1) * reps;
    printf("calls %ld ns %ld\n", calls, t1 - t0);
    return 0;
}
