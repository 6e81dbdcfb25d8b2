/* Four threads logging at once while another dumps: nothing lost in GROW,
 * each thread's events in its own order, times never backwards per thread;
 * RING and DROP account for every event, and their lost count never goes
 * down while others log and dump. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <evprof.h>

#include "tap.h"

#define NTHREADS 4
#define PER_THREAD 1000000

struct shared {
    evprof_buffer *b;
    int writers_done;
    int64_t failed[NTHREADS];
};

struct writer {
    struct shared *s;
    int64_t id;
};

static void *write_events(void *arg)
{
    struct writer *w = arg;
    int64_t i;

    for (i = 0; i < PER_THREAD; i++)
        if (evprof_log(w->s->b, w->id, 0, EVPROF_CALL, w->id, i) != 0)
            w->s->failed[w->id]++;
    __atomic_fetch_add(&w->s->writers_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

struct check {
    int64_t got[NTHREADS];     /* events seen per writer */
    int64_t next[NTHREADS];    /* smallest sequence number allowed next */
    int64_t last_time[NTHREADS];
    int order_ok, time_ok, merge_ok, thread_ok;
    uint32_t thread_of[NTHREADS]; /* buffer thread index of each writer */
};

static void check_batch(struct check *c, const evprof_event *e,
                        const uint32_t *thr, size_t n, int exact)
{
    size_t i;

    for (i = 0; i < n; i++) {
        int64_t w = e[i].value1;
        if (w < 0 || w >= NTHREADS) {
            c->order_ok = 0;
            continue;
        }
        if (exact ? e[i].value2 != c->next[w] : e[i].value2 < c->next[w])
            c->order_ok = 0;
        c->next[w] = e[i].value2 + 1;
        if (e[i].time < c->last_time[w])
            c->time_ok = 0;
        c->last_time[w] = e[i].time;
        if (i > 0 && e[i].time < e[i - 1].time)
            c->merge_ok = 0;
        if (c->thread_of[w] == UINT32_MAX)
            c->thread_of[w] = thr[i];
        else if (c->thread_of[w] != thr[i])
            c->thread_ok = 0;
        c->got[w]++;
    }
}

static void run(int policy, size_t capacity)
{
    static const char *pname[] = { "GROW", "RING", "DROP" };
    const char *p = pname[policy];
    struct shared s;
    struct writer w[NTHREADS];
    pthread_t tid[NTHREADS];
    struct check c;
    evprof_event *out;
    uint32_t *thr;
    size_t n, max = 65536;
    int64_t total = 0, failed = 0;
    int i, done = 0;

    memset(&s, 0, sizeof(s));
    memset(&c, 0, sizeof(c));
    c.order_ok = c.time_ok = c.merge_ok = c.thread_ok = 1;
    for (i = 0; i < NTHREADS; i++)
        c.thread_of[i] = UINT32_MAX;
    s.b = evprof_buffer_new(capacity, policy);
    out = malloc(max * sizeof(*out));
    thr = malloc(max * sizeof(*thr));
    if (s.b == NULL || out == NULL || thr == NULL)
        bail("out of memory");
    for (i = 0; i < NTHREADS; i++) {
        w[i].s = &s;
        w[i].id = i;
        if (pthread_create(&tid[i], NULL, write_events, &w[i]) != 0)
            bail("pthread_create failed");
    }
    /* Dump concurrently while the writers run, then drain. */
    while (!done) {
        done = 1;
        done = __atomic_load_n(&s.writers_done, __ATOMIC_ACQUIRE)
               == NTHREADS;
        n = evprof_buffer_dump_ex(s.b, out, thr, max);
        check_batch(&c, out, thr, n, policy == EVPROF_GROW);
        total += (int64_t)n;
    }
    for (i = 0; i < NTHREADS; i++)
        pthread_join(tid[i], NULL);
    while ((n = evprof_buffer_dump_ex(s.b, out, thr, max)) > 0) {
        check_batch(&c, out, thr, n, policy == EVPROF_GROW);
        total += (int64_t)n;
    }
    for (i = 0; i < NTHREADS; i++)
        failed += s.failed[i];
    if (policy == EVPROF_GROW) {
        is_int((int64_t)NTHREADS * PER_THREAD, total,
               "%s: all %d x %d events dumped", p, NTHREADS, PER_THREAD);
        is_int(0, (int64_t)evprof_buffer_lost(s.b), "%s: none lost", p);
        is_int(0, failed, "%s: no log failed", p);
    } else {
        is_int((int64_t)NTHREADS * PER_THREAD,
               total + (int64_t)evprof_buffer_lost(s.b),
               "%s: dumped + lost = logged", p);
        ok(total > 0, "%s: some events dumped (%lld)", p, (long long)total);
        is_int(policy == EVPROF_DROP ? (int64_t)evprof_buffer_lost(s.b) : 0,
               failed, "%s: failed logs are the lost ones", p);
    }
    ok(c.order_ok, "%s: each thread's events in its own order", p);
    ok(c.time_ok, "%s: times never go backwards within a thread", p);
    ok(c.merge_ok, "%s: each dump is merged by time", p);
    ok(c.thread_ok, "%s: each event carries its thread", p);
    is_int(NTHREADS, evprof_buffer_thread_count(s.b), "%s: %d threads", p,
           NTHREADS);
    is_int(0, evprof_buffer_count(s.b), "%s: empty at the end", p);
    evprof_buffer_free(s.b);
    free(out);
    free(thr);
}

struct churn {
    evprof_buffer *b;
    int stop;
};

static void *log_until_stopped(void *arg)
{
    struct churn *c = arg;
    int64_t i = 0;

    while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE))
        (void)evprof_log(c->b, 1, 0, EVPROF_CALL, i++, 0);
    return NULL;
}

static void *dump_until_stopped(void *arg)
{
    struct churn *c = arg;
    static evprof_event out[4096];

    while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE))
        evprof_buffer_dump(c->b, out, 4096);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* evprof_buffer_lost() read in a loop while two threads log and one dumps,
 * for about a second: a counter, it never goes down. */
static void lost_monotonic(int policy)
{
    static const char *pname[] = { "GROW", "RING", "DROP" };
    struct churn c = { NULL, 0 };
    pthread_t tid[3];
    uint64_t prev = 0, cur, drops = 0, reads = 0;
    double end = now_s() + 1.0;
    int i;

    c.b = evprof_buffer_new(4096, policy);
    if (c.b == NULL)
        bail("out of memory");
    for (i = 0; i < 3; i++)
        if (pthread_create(&tid[i], NULL, i < 2 ? log_until_stopped
                           : dump_until_stopped, &c) != 0)
            bail("pthread_create failed");
    while (now_s() < end) {
        cur = evprof_buffer_lost(c.b);
        if (cur < prev) {
            if (drops++ == 0)
                diag("lost() went from %llu to %llu",
                     (unsigned long long)prev, (unsigned long long)cur);
        }
        prev = cur;
        reads++;
    }
    __atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
    for (i = 0; i < 3; i++)
        pthread_join(tid[i], NULL);
    is_int(0, (int64_t)drops, "%s: lost() never decreases under concurrent "
           "logs and dumps (%llu reads, %llu lost)", pname[policy],
           (unsigned long long)reads, (unsigned long long)prev);
    evprof_buffer_free(c.b);
}

int main(void)
{
    plan(3 * 9 + 2);
    run(EVPROF_GROW, 4096);
    run(EVPROF_RING, 1000);
    run(EVPROF_DROP, 1000);
    lost_monotonic(EVPROF_RING);
    lost_monotonic(EVPROF_DROP);
    return 0;
}
