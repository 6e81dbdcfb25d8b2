/*
 * bench_log.c: the cost of evprof_log against the floor, side by side.
 *
 * The floor is what any timeline logger must pay: a raw timestamp read (the
 * TSC where there is one) and a 48-byte store, in the same loop shape.  Runs
 * are interleaved and repeated; medians are reported, and the ratio of the
 * medians is the figure that matters (absolute times on a shared machine
 * are noise).
 *
 * usage: bench_log [events-per-run [runs]]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <evprof.h>

#define NTHREADS 4

static size_t nevents = 1000000;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The raw read of the source in use: the TSC itself, unscaled, or
 * clock_gettime(CLOCK_MONOTONIC). */
static int64_t raw_time(void)
{
#if EVPROF_HAVE_TSC
    if (evprof__clock.source == EVPROF_CLOCK_TSC)
        return (int64_t)__rdtsc();
#endif
    return evprof__clock_monotonic();
}

/* A loop filling a warm array the way evprof_log fills a chunk, stamping
 * each event with CLOCK(): one function per clock, so that each compiles to
 * the loop it measures. */
#define DEFINE_FILL_RUN(NAME, CLOCK)                                        \
    __attribute__((noinline)) static void NAME(evprof_event *arr, size_t n) \
    {                                                                       \
        size_t i;                                                           \
        for (i = 0; i < n; i++) {                                           \
            evprof_event *e = &arr[i];                                      \
            e->id_frame = (int64_t)i;                                       \
            e->id_arg = 2;                                                  \
            e->event = EVPROF_CALL;                                         \
            e->time = CLOCK();                                              \
            e->value1 = (int64_t)i;                                         \
            e->value2 = 5;                                                  \
        }                                                                   \
        __asm__ __volatile__("" : : "r"(arr) : "memory");                   \
    }

/* The floor: a raw timestamp and a 48-byte store. */
DEFINE_FILL_RUN(floor_run, raw_time)
/* The same with the calibrated clock: what the scaling costs. */
DEFINE_FILL_RUN(clock_run, evprof_clock_ns)

__attribute__((noinline)) static void log_run(evprof_buffer *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        evprof_log(b, (int64_t)i, 2, EVPROF_CALL, (int64_t)i, 5);
}

static double ns_per_event(int64_t t0, int64_t t1, size_t n)
{
    return (double)(t1 - t0) / (double)n;
}

struct worker {
    evprof_buffer *b;
    size_t n;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    log_run(w->b, w->n);
    return NULL;
}

/* Events per second with `nthreads` threads logging into one GROW buffer. */
static double threaded_rate(int nthreads, evprof_event *sink)
{
    pthread_t tid[NTHREADS];
    struct worker w;
    evprof_buffer *b = evprof_buffer_new(4096, EVPROF_GROW);
    int64_t t0, t1;
    int i;

    if (b == NULL) {
        perror("evprof_buffer_new");
        exit(1);
    }
    w.b = b;
    w.n = nevents;
    t0 = evprof_clock_ns();
    for (i = 0; i < nthreads; i++)
        pthread_create(&tid[i], NULL, worker_main, &w);
    for (i = 0; i < nthreads; i++)
        pthread_join(tid[i], NULL);
    t1 = evprof_clock_ns();
    if (evprof_buffer_count(b) != (size_t)nthreads * nevents
        || evprof_buffer_lost(b) != 0) {
        fprintf(stderr, "bench_log: events lost in the threaded run\n");
        exit(1);
    }
    while (evprof_buffer_dump(b, sink, nevents) > 0)
        ;
    evprof_buffer_free(b);
    return (double)nthreads * (double)nevents * 1e9 / (double)(t1 - t0);
}

int main(int argc, char **argv)
{
    int runs = 21, r;
    double *f, *c, *l, rate1[5], rate4[5];
    evprof_event *arr;
    evprof_buffer *b;
    int64_t t0, t1;

    if (argc > 1)
        nevents = strtoul(argv[1], NULL, 10);
    if (argc > 2)
        runs = atoi(argv[2]);
    if (nevents == 0 || runs <= 0) {
        fprintf(stderr, "usage: bench_log [events-per-run [runs]]\n");
        return 2;
    }
    f = calloc((size_t)runs, sizeof(*f));
    c = calloc((size_t)runs, sizeof(*c));
    l = calloc((size_t)runs, sizeof(*l));
    arr = malloc(nevents * sizeof(*arr));
    b = evprof_buffer_new(1024, EVPROF_GROW);
    if (f == NULL || c == NULL || l == NULL || arr == NULL || b == NULL) {
        perror("bench_log");
        return 1;
    }
    memset(arr, 0, nevents * sizeof(*arr));
    /* Warm up: the buffer's chunks, the array's pages, the clock. */
    log_run(b, nevents);
    while (evprof_buffer_dump(b, arr, nevents) > 0)
        ;
    floor_run(arr, nevents);

    for (r = 0; r < runs; r++) {
        t0 = evprof_clock_ns();
        floor_run(arr, nevents);
        t1 = evprof_clock_ns();
        f[r] = ns_per_event(t0, t1, nevents);

        t0 = evprof_clock_ns();
        log_run(b, nevents);
        t1 = evprof_clock_ns();
        l[r] = ns_per_event(t0, t1, nevents);
        if (evprof_buffer_count(b) != nevents) {
            fprintf(stderr, "bench_log: events lost\n");
            return 1;
        }
        while (evprof_buffer_dump(b, arr, nevents) > 0)
            ;

        t0 = evprof_clock_ns();
        clock_run(arr, nevents);
        t1 = evprof_clock_ns();
        c[r] = ns_per_event(t0, t1, nevents);
    }
    for (r = 0; r < 5; r++) {
        rate1[r] = threaded_rate(1, arr);
        rate4[r] = threaded_rate(NTHREADS, arr);
    }

    printf("clock source: %s\n", evprof_clock_name());
    printf("%zu events a run, %d runs, medians:\n", nevents, runs);
    printf("  floor (raw timestamp + 48-byte store)  %6.2f ns/event\n",
           median(f, runs));
    printf("  same with evprof_clock_ns()            %6.2f ns/event\n",
           median(c, runs));
    printf("  evprof_log into a GROW buffer          %6.2f ns/event\n",
           median(l, runs));
    printf("  evprof_log / floor                     %6.2fx (target <= 1.30x)\n",
           median(l, runs) / median(f, runs));
    printf("threads logging into one GROW buffer (%ld CPUs), medians of 5:\n",
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("  1 thread   %7.1f M events/s\n", median(rate1, 5) / 1e6);
    printf("  %d threads  %7.1f M events/s (x%.2f), nothing lost\n", NTHREADS,
           median(rate4, 5) / 1e6, median(rate4, 5) / median(rate1, 5));
    evprof_buffer_free(b);
    free(arr);
    free(f);
    free(c);
    free(l);
    return 0;
}
