/*
 * bench_native_cost.c: where the time of a recorded native allocation
 * goes, in one process run with libevprof-malloc.so preloaded.  For one
 * malloc/free pair of 64 bytes (the loop of bench_native.py's C
 * extension), interleaved runs, medians of the calling thread's CPU time:
 *   - the C library's malloc and free called directly (unprofiled);
 *   - the interposed ones, nothing attached (what the preload costs a
 *     program that records nothing);
 *   - the interposed ones with the buffer sink attached but inactive
 *     (forwarding and the checks, no event);
 *   - the interposed ones with a buffer of this program attached, as the
 *     Python package attaches its own (evprof_native_attach_buffer);
 *   - the same with a function sink logging into that buffer instead
 *     (evprof_native_attach: a call into this program per event, which
 *     looks at its hook flag and calls evprof_log);
 *   - two reads of the clock, what the two events' timestamps cost alone.
 * Thread CPU time, not wall time, so that other processes on a shared
 * machine weigh less; the buffer is a RING, so that no chunk is allocated
 * inside the timed loop (bench_native.py measures the whole run).
 *
 * usage: LD_PRELOAD=lib/.libs/libevprof-malloc.so bench_native_cost
 *        [pairs-per-run [runs]]
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <evprof.h>
#include <evprof/native.h>

typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);
typedef int (*attach_buffer_fn)(const evprof_native_buffer_sink *);
typedef int (*attach_fn)(const evprof_native_sink *);

static void *volatile block;
static volatile int64_t sink_time;
static int active = 1;

/* The function sink: what the buffer sink does, by a call. */
static void fn_log(void *ctx, int64_t event, int64_t domain, int64_t ptr,
                   int64_t size)
{
    if (evprof_hook_active() || !__atomic_load_n(&active, __ATOMIC_RELAXED))
        return;
    (void)evprof_log(ctx, evprof_context_get(), domain, event, ptr, size);
}

static double cpu_now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* ns per pair through these functions (pointers, as a PLT call goes). */
static double pairs(malloc_fn m, free_fn f, long n)
{
    double t0 = cpu_now();
    long i;

    for (i = 0; i < n; i++) {
        block = m(64);
        *(volatile char *)block = 1;
        f(block);
    }
    return (cpu_now() - t0) / (double)n;
}

static double clock_pairs(long n)
{
    double t0 = cpu_now();
    int64_t s = 0;
    long i;

    for (i = 0; i < n; i++) {
        s += evprof_clock_ns();
        s += evprof_clock_ns();
    }
    sink_time = s;
    return (cpu_now() - t0) / (double)n;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    int runs = argc > 2 ? atoi(argv[2]) : 11, r;
    attach_buffer_fn attach_buffer = (attach_buffer_fn)dlsym(
        RTLD_DEFAULT, "evprof_native_attach_buffer");
    attach_fn attach = (attach_fn)dlsym(RTLD_DEFAULT, "evprof_native_attach");
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    malloc_fn libc_malloc, any_malloc = malloc;
    free_fn libc_free, any_free = free;
    double *v[6];
    evprof_native_buffer_sink sink;
    evprof_native_sink fn;
    evprof_buffer *b;
    int k;

    if (attach_buffer == NULL || attach == NULL || libc == NULL
        || n <= 0 || runs <= 0) {
        fprintf(stderr, "usage: LD_PRELOAD=libevprof-malloc.so %s "
                "[pairs [runs]] (glibc)\n", argv[0]);
        return 2;
    }
    libc_malloc = (malloc_fn)dlsym(libc, "malloc");
    libc_free = (free_fn)dlsym(libc, "free");
    b = evprof_buffer_new((size_t)1 << 16, EVPROF_RING);
    for (k = 0; k < 6; k++)
        v[k] = calloc((size_t)runs, sizeof(double));
    if (libc_malloc == NULL || libc_free == NULL || b == NULL
        || v[5] == NULL)
        return 1;
    evprof_native_buffer_sink_init(&sink, b, &active);
    fn.log = fn_log;
    fn.ctx = b;
    for (r = -1; r < runs; r++) { /* run -1 warms up */
        double t[6];

        t[0] = pairs(libc_malloc, libc_free, n);
        t[1] = pairs(any_malloc, any_free, n);
        if (attach_buffer(&sink) != 0)
            return 1;
        t[2] = pairs(any_malloc, any_free, n);
        active = 0;
        t[5] = pairs(any_malloc, any_free, n);
        active = 1;
        (void)attach(NULL);
        t[3] = clock_pairs(n);
        if (attach(&fn) != 0)
            return 1;
        t[4] = pairs(any_malloc, any_free, n);
        (void)attach(NULL);
        for (k = 0; r >= 0 && k < 6; k++)
            v[k][r] = t[k];
    }
    {
        double c = median(v[0], runs), p = median(v[1], runs);
        double a = median(v[2], runs), t = median(v[3], runs);
        double f = median(v[4], runs), q = median(v[5], runs);

        printf("ns per malloc/free pair (thread CPU time, medians of %d "
               "runs of %ld; clock %s):\n", runs, n, evprof_clock_name());
        printf("  unprofiled (the C library's)      %6.1f\n", c);
        printf("  interposed, nothing attached      %6.1f  +%.1f\n",
               p, p - c);
        printf("  interposed, buffer sink inactive  %6.1f  +%.1f\n",
               q, q - c);
        printf("  interposed, buffer sink           %6.1f  +%.1f  %.2fx\n",
               a, a - c, a / c);
        printf("  interposed, function sink         %6.1f  +%.1f  %.2fx\n",
               f, f - c, f / c);
        printf("  two clock reads alone             %6.1f\n", t);
        printf("  the buffer sink's +%.1f: forwarding and checks %.1f, "
               "clock %.1f, the rest %.1f\n", a - c, q - c, t, a - q - t);
        printf("  floor, C library + two clock reads: %.2fx unprofiled\n",
               (c + t) / c);
    }
    evprof_buffer_free(b);
    return 0;
}
