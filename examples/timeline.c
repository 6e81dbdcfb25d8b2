/*
 * timeline.c: four threads log calls and returns into one buffer; the main
 * thread dumps the merged timeline and prints its head and a per-thread
 * count.  Build it against an installed libevprof with:
 *
 *     cc timeline.c $(pkg-config --cflags --libs evprof)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <evprof.h>

#define NTHREADS 4
#define CALLS 100000

static evprof_buffer *buffer;

static long work(long depth)
{
    long r;

    evprof_log(buffer, depth, 0, EVPROF_CALL, 0, 0);
    r = depth > 0 ? work(depth - 1) + depth : 0;
    evprof_log(buffer, depth, 0, EVPROF_RETURN, 0, 0);
    return r;
}

static void *thread_main(void *arg)
{
    long i, sum = 0;

    for (i = 0; i < CALLS / 4; i++)
        sum += work(3);
    *(long *)arg = sum;
    return NULL;
}

int main(void)
{
    pthread_t tid[NTHREADS];
    long sums[NTHREADS];
    size_t count[NTHREADS] = { 0 }, n, i, total = 0;
    evprof_event *events;
    uint32_t *thread;
    evprof_thread_info info;
    int t;

    buffer = evprof_buffer_new(4096, EVPROF_GROW);
    if (buffer == NULL) {
        perror("evprof_buffer_new");
        return 1;
    }
    for (t = 0; t < NTHREADS; t++)
        pthread_create(&tid[t], NULL, thread_main, &sums[t]);
    for (t = 0; t < NTHREADS; t++)
        pthread_join(tid[t], NULL);

    n = evprof_buffer_count(buffer);
    events = malloc(n * sizeof(*events));
    thread = malloc(n * sizeof(*thread));
    if (events == NULL || thread == NULL) {
        perror("malloc");
        return 1;
    }
    n = evprof_buffer_dump_ex(buffer, events, thread, n);
    printf("clock: %s, %zu events, %llu lost\n", evprof_clock_name(), n,
           (unsigned long long)evprof_buffer_lost(buffer));
    printf("%8s  %-8s %6s %5s\n", "ns", "event", "thread", "depth");
    for (i = 0; i < n; i++) {
        count[thread[i]]++;
        if (i < 12)
            printf("%8lld  %-8s %6u %5lld\n",
                   (long long)(events[i].time - events[0].time),
                   evprof_event_name(events[i].event), thread[i],
                   (long long)events[i].id_frame);
    }
    for (t = 0; t < NTHREADS; t++) {
        if (evprof_buffer_thread(buffer, (size_t)t, &info) == 0)
            printf("thread %d (tid %lld): %zu events\n", t,
                   (long long)info.native_id, count[t]);
        total += count[t];
    }
    printf("total: %zu events over %lld ns\n", total,
           (long long)(events[n - 1].time - events[0].time));
    free(events);
    free(thread);
    evprof_buffer_free(buffer);
    return total == (size_t)NTHREADS * (CALLS / 4) * 8 ? 0 : 1;
}
