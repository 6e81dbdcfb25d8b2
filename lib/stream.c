/*
 * stream.c: a thread draining an EVPROF_GROW buffer into a trace writer
 * while other threads log into it (evprof_stream_start(3)).
 *
 * The consumer of the LTTng shape: producers publish their chunk heads
 * (release) and never wait for it on the fast path; it reads what is
 * published, one thread at a time under the buffer's consumer lock (so a
 * concurrent dump and the stream each get every event once), encodes it
 * into a section of its own, writes that outside every buffer lock, and
 * gives each chunk read to its end back to the buffer (lib/chunks.c).
 * The slow path wakes it when a chunk fills; otherwise it wakes every
 * period, so that a process killed loses at most a period of events.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buffer-private.h"
#include "takeback-private.h"
#include "trace-private.h"

struct evprof_stream {
    evprof_trace_writer *w;
    evprof_buffer *b;
    pid_t pid;                /* of the process the thread runs in */
    unsigned period_ms;
    struct evprof__drain drain; /* b->drain while the stream runs */
    pthread_t thread;
    pthread_mutex_t lock;     /* the requests below */
    pthread_cond_t wake;      /* to the stream's thread */
    pthread_cond_t done;      /* from it: a flush request is done */
    int kicked, stopping, sleeping;
    void (*hook)(void *, evprof_trace_writer *); /* before_drain */
    void *hook_ctx;
    uint64_t flush_req, flush_done;
    /* The stream's thread's own. */
    unsigned char *payload;   /* one EVENTS section */
    size_t max_events;        /* events in it at most */
    struct thread **threads;  /* b's threads, and what each had to give */
    uint64_t *want;
    size_t cap;
    size_t threads_written;   /* in the last THREADS section */
    uint64_t lost_at_start;   /* b's count when the stream started */
    /* Read by other threads (atomics). */
    uint64_t events, sections, lost;
    int error;
    struct evprof_stream *prev_all, *next_all;
};

/* ---- fork: the child must not write into the parent's file ----------- */

/*
 * Every running stream's writer lock is taken around fork(): no section
 * is half through stdio in the child, whose FILE copy thus holds nothing
 * (sections are flushed as written) that an exit() there would write
 * again.  The buffers' own handlers (lib/buffer.c, registered before)
 * take their locks after these and detach the child's buffers.
 */
static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static struct evprof_stream *all_streams;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
    struct evprof_stream *s;

    pthread_mutex_lock(&all_lock);
    for (s = all_streams; s != NULL; s = s->next_all)
        evprof__trace_writer_lock(s->w, 1);
}

static void fork_release(void)
{
    struct evprof_stream *s;

    for (s = all_streams; s != NULL; s = s->next_all)
        evprof__trace_writer_lock(s->w, 0);
    pthread_mutex_unlock(&all_lock);
}

static void atfork_register(void)
{
    pthread_atfork(fork_prepare, fork_release, fork_release);
}

static void link_stream(struct evprof_stream *s, int on)
{
    pthread_mutex_lock(&all_lock);
    if (on) {
        s->next_all = all_streams;
        if (all_streams != NULL)
            all_streams->prev_all = s;
        all_streams = s;
    } else {
        if (s->prev_all != NULL)
            s->prev_all->next_all = s->next_all;
        else
            all_streams = s->next_all;
        if (s->next_all != NULL)
            s->next_all->prev_all = s->prev_all;
    }
    pthread_mutex_unlock(&all_lock);
}

/* ---- the stream's thread -------------------------------------------- */

/* The slow path filled a chunk (called with b->lock held). */
static void kick(void *arg)
{
    struct evprof_stream *s = arg;

    pthread_mutex_lock(&s->lock);
    s->kicked = 1;
    if (s->sleeping)
        pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
}

/* b's threads into s->threads (grown outside b->lock: an allocator hook
 * logging this thread's mallocs would take it again); their count. */
static size_t snapshot(struct evprof_stream *s)
{
    evprof_buffer *b = s->b;
    size_t n;

    for (;;) {
        pthread_mutex_lock(&b->lock);
        n = b->nthreads;
        if (n <= s->cap) {
            if (n > 0)
                memcpy(s->threads, b->by_index, n * sizeof(*s->threads));
            pthread_mutex_unlock(&b->lock);
            return n;
        }
        pthread_mutex_unlock(&b->lock);
        {
            size_t cap = 2 * n;
            struct thread **t = realloc(s->threads, cap * sizeof(*t));
            uint64_t *w;

            if (t != NULL)
                s->threads = t;
            w = t != NULL ? realloc(s->want, cap * sizeof(*w)) : NULL;
            if (w == NULL)
                return s->cap; /* the others wait for memory */
            s->want = w;
            s->cap = cap;
        }
    }
}

/* Published events of t not consumed yet.  With b->consume held. */
static uint64_t avail(const struct thread *t)
{
    const struct chunk *c = t->oldest;
    uint64_t n = 0;

    for (;;) {
        /* `sealed` first: once set, head is final and next is set. */
        int sealed = __atomic_load_n(&c->sealed, __ATOMIC_ACQUIRE);

        n += load_acquire(&c->pub.head) - load_acquire(&c->tail);
        if (!sealed)
            return n;
        c = c->next;
    }
}

static void encode(unsigned char *p, const evprof_event *e, uint64_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* The file's layout is the record's on a little-endian machine. */
    memcpy(p, e, (size_t)n * sizeof(*e));
#else
    uint64_t i;

    for (i = 0; i < n; i++, p += TRACE_EVENT_SIZE) {
        put_u64(p, (uint64_t)e[i].id_frame);
        put_u64(p + 8, (uint64_t)e[i].id_arg);
        put_u64(p + 16, (uint64_t)e[i].event);
        put_u64(p + 24, (uint64_t)e[i].time);
        put_u64(p + 32, (uint64_t)e[i].value1);
        put_u64(p + 40, (uint64_t)e[i].value2);
    }
#endif
}

/*
 * Moves up to `max` published events of t, oldest first, into the
 * payload (or nowhere, `discard`), and retires the chunks read to their
 * end.  With b->consume held: no dump reads t meanwhile, and only
 * consumers change t->oldest.  A GROW writer never touches a slot below
 * its published head, so the events are read in place.  The newest
 * `keep` events of a chunk its writer still fills are left for a later
 * pass: the writer may take them back (lib/takeback-private.h), moving
 * its head back over them, never further.
 */
static uint64_t take(struct evprof_stream *s, struct thread *t, uint64_t max,
                     int discard, uint64_t keep)
{
    evprof_buffer *b = s->b;
    unsigned char *p = s->payload + 8;
    struct chunk *c = t->oldest;
    uint64_t n = 0;

    for (;;) {
        int sealed = __atomic_load_n(&c->sealed, __ATOMIC_ACQUIRE);
        uint64_t head = load_acquire(&c->pub.head);
        uint64_t pos = load_acquire(&c->tail), k;

        if (!sealed)
            head = head - pos > keep ? head - keep : pos;
        k = head - pos;

        if (k > max - n)
            k = max - n;
        if (!discard)
            encode(p + n * TRACE_EVENT_SIZE, c->pub.ev + pos, k);
        pos += k;
        n += k;
        __atomic_store_n(&c->tail, pos, __ATOMIC_RELEASE);
        if (!sealed || pos < head)
            return n;
        pthread_mutex_lock(&b->lock);
        t->oldest = c->next;
        evprof__chunk_retire(b, c);
        pthread_mutex_unlock(&b->lock);
        c = t->oldest;
        if (n == max)
            return n;
    }
}

static void write_events(struct evprof_stream *s, uint32_t index, uint64_t n)
{
    int rc;

    /* The payload holds the records take() copied: packed by the writer. */
    rc = evprof__trace_write_records(s->w, s->payload + 8, index, (size_t)n);
    if (rc == 0) {
        __atomic_fetch_add(&s->events, n, __ATOMIC_RELAXED);
        __atomic_fetch_add(&s->sections, 1, __ATOMIC_RELAXED);
        return;
    }
    __atomic_fetch_add(&s->lost, n, __ATOMIC_RELAXED);
    if (__atomic_load_n(&s->error, __ATOMIC_RELAXED) == 0)
        __atomic_store_n(&s->error, rc, __ATOMIC_RELAXED);
}

/* Writes (or, after a write error, drops and counts) what each thread had
 * published when it began: bounded, so a flush ends even while the
 * threads log faster than the disk writes.  `keep`: see take(). */
static void drain(struct evprof_stream *s, uint64_t keep)
{
    evprof_buffer *b = s->b;
    size_t nt = snapshot(s), i;
    void (*hook)(void *, evprof_trace_writer *);
    void *ctx;

    pthread_mutex_lock(&b->consume);
    for (i = 0; i < nt; i++)
        s->want[i] = avail(s->threads[i]);
    pthread_mutex_unlock(&b->consume);
    /* After the snapshot (and read after it, for a hook set meanwhile):
     * what an event needs was recorded before the event was published,
     * so it goes out before the event. */
    pthread_mutex_lock(&s->lock);
    hook = s->hook;
    ctx = s->hook_ctx;
    pthread_mutex_unlock(&s->lock);
    if (hook != NULL)
        hook(ctx, s->w);
    for (i = 0; i < nt; i++) {
        while (s->want[i] > 0) {
            int discard = __atomic_load_n(&s->error, __ATOMIC_RELAXED) != 0;
            uint64_t max = s->want[i] < s->max_events ? s->want[i]
                                                      : s->max_events, n;

            pthread_mutex_lock(&b->consume);
            n = take(s, s->threads[i], max, discard, keep);
            pthread_mutex_unlock(&b->consume);
            if (n == 0)
                break; /* a dump took them */
            s->want[i] -= n;
            if (discard)
                __atomic_fetch_add(&s->lost, n, __ATOMIC_RELAXED);
            else
                write_events(s, s->threads[i]->index, n);
        }
    }
}

/* A THREADS section whenever threads were added: a file cut off names
 * the threads of its events too. */
static void write_threads(struct evprof_stream *s)
{
    size_t nt = evprof_buffer_thread_count(s->b), i;
    evprof_thread_info *info;

    if (nt <= s->threads_written)
        return;
    info = calloc(nt, sizeof(*info));
    if (info == NULL)
        return; /* again after the next drain */
    for (i = 0; i < nt; i++)
        if (evprof_buffer_thread(s->b, i, &info[i]) != 0)
            break;
    if (evprof_trace_write_threads(s->w, info, i) == 0)
        s->threads_written = i;
    free(info);
}

static void *run(void *arg)
{
    struct evprof_stream *s = arg;
    struct timespec ts;
    uint64_t req;
    int stop;

    evprof__draining = 1;
    do {
        pthread_mutex_lock(&s->lock);
        if (!s->kicked && !s->stopping && s->flush_req == s->flush_done) {
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += s->period_ms / 1000;
            ts.tv_nsec += (long)(s->period_ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            s->sleeping = 1;
            while (!s->kicked && !s->stopping
                   && s->flush_req == s->flush_done)
                if (pthread_cond_timedwait(&s->wake, &s->lock, &ts) != 0)
                    break;
            s->sleeping = 0;
        }
        s->kicked = 0;
        req = s->flush_req;
        stop = s->stopping;
        pthread_mutex_unlock(&s->lock);
        /* A flush and the last pass take everything; a periodic pass
         * leaves what a writer may still take back (a period later, or
         * once its chunk is full, it goes out). */
        drain(s, stop || req != s->flush_done ? 0 : EVPROF__TAKE_BACK_MAX);
        write_threads(s);
        pthread_mutex_lock(&s->lock);
        s->flush_done = req;
        pthread_cond_broadcast(&s->done);
        pthread_mutex_unlock(&s->lock);
    } while (!stop);
    return NULL;
}

/* ---- API -------------------------------------------------------------- */

size_t evprof_stream_capacity(size_t budget_bytes, size_t threads)
{
    size_t per = budget_bytes / (threads ? threads : 1) / 4;

    if (per < sizeof(struct chunk) + 2 * sizeof(evprof_event))
        return 1;
    return (per - sizeof(struct chunk)) / sizeof(evprof_event);
}

/* Frees what start made; the sync objects only when `sync` (a forked
 * child may find them held by threads it does not have). */
static void stream_free(struct evprof_stream *s, int sync)
{
    if (sync) {
        pthread_cond_destroy(&s->drain.room);
        pthread_cond_destroy(&s->wake);
        pthread_cond_destroy(&s->done);
        pthread_mutex_destroy(&s->lock);
    }
    free(s->payload);
    free(s->threads);
    free(s->want);
    free(s);
}

static int stream_init(struct evprof_stream *s)
{
    pthread_condattr_t ca;
    int rc = 0;

    if (pthread_condattr_init(&ca) != 0)
        return -ENOMEM;
    if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0
        || pthread_mutex_init(&s->lock, NULL) != 0)
        rc = -ENOMEM;
    else if (pthread_cond_init(&s->wake, &ca) != 0)
        rc = -ENOMEM, pthread_mutex_destroy(&s->lock);
    else if (pthread_cond_init(&s->done, NULL) != 0)
        rc = -ENOMEM, pthread_cond_destroy(&s->wake),
        pthread_mutex_destroy(&s->lock);
    else if (pthread_cond_init(&s->drain.room, NULL) != 0)
        rc = -ENOMEM, pthread_cond_destroy(&s->done),
        pthread_cond_destroy(&s->wake), pthread_mutex_destroy(&s->lock);
    pthread_condattr_destroy(&ca);
    return rc;
}

int evprof_stream_start(evprof_trace_writer *w, evprof_buffer *b,
                        const evprof_stream_options *opt,
                        evprof_stream **out)
{
    struct evprof_stream *s;
    sigset_t all, old;
    size_t budget;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (w == NULL || b == NULL || out == NULL
        || b->head.policy != EVPROF_GROW)
        return -EINVAL;
    budget = opt != NULL && opt->budget_bytes != 0
        ? opt->budget_bytes : EVPROF_STREAM_DEFAULT_BUDGET;
    if (b->chunk_bytes > budget / 2)
        return -EINVAL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->max_events = b->capacity < TRACE_EVENTS_PER_SECTION
        ? b->capacity : TRACE_EVENTS_PER_SECTION;
    s->payload = malloc(8 + s->max_events * (TRACE_EVENT_SIZE + 4));
    if (s->payload == NULL || (rc = stream_init(s)) != 0) {
        free(s->payload);
        free(s);
        return -ENOMEM;
    }
    s->w = w;
    s->b = b;
    s->pid = getpid();
    s->period_ms = opt != NULL && opt->period_ms != 0
        ? opt->period_ms : EVPROF_STREAM_DEFAULT_PERIOD_MS;
    s->drain.budget = budget;
    s->drain.wait = opt != NULL && (opt->flags & EVPROF_STREAM_WAIT);
    s->drain.kick = kick;
    s->drain.arg = s;
    if ((rc = evprof__trace_writer_attach(w, 1)) != 0) {
        stream_free(s, 1);
        return rc;
    }
    /* Readers of a streamed file learn that sections interleave threads. */
    evprof_trace_write_meta(w, "order", "thread");
    s->lost_at_start = evprof_buffer_lost(b);
    pthread_mutex_lock(&b->lock);
    if (b->drain != NULL) {
        pthread_mutex_unlock(&b->lock);
        evprof__trace_writer_attach(w, 0);
        stream_free(s, 1);
        return -EBUSY;
    }
    b->drain = &s->drain;
    b->peak = b->held;
    pthread_mutex_unlock(&b->lock);
    pthread_once(&atfork_once, atfork_register);
    link_stream(s, 1);
    /* The thread takes no signal: the program's handlers run elsewhere. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&s->thread, NULL, run, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        link_stream(s, 0);
        pthread_mutex_lock(&b->lock);
        b->drain = NULL;
        pthread_mutex_unlock(&b->lock);
        evprof__trace_writer_attach(w, 0);
        stream_free(s, 1);
        return -rc;
    }
    *out = s;
    return 0;
}

int evprof_stream_flush(evprof_stream *s)
{
    uint64_t my;

    if (s == NULL)
        return -EINVAL;
    if (getpid() != s->pid)
        return -ESRCH;
    pthread_mutex_lock(&s->lock);
    my = ++s->flush_req;
    pthread_cond_signal(&s->wake);
    while (s->flush_done < my)
        pthread_cond_wait(&s->done, &s->lock);
    pthread_mutex_unlock(&s->lock);
    return __atomic_load_n(&s->error, __ATOMIC_RELAXED);
}

int evprof_stream_before_drain(evprof_stream *s,
                               void (*fn)(void *, evprof_trace_writer *),
                               void *ctx)
{
    if (s == NULL)
        return -EINVAL;
    if (getpid() != s->pid)
        return -ESRCH;
    pthread_mutex_lock(&s->lock);
    s->hook = fn;
    s->hook_ctx = ctx;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static void fill_stats(evprof_stream *s, evprof_stream_stats *out)
{
    evprof_buffer *b = s->b;

    out->events = __atomic_load_n(&s->events, __ATOMIC_RELAXED);
    out->sections = __atomic_load_n(&s->sections, __ATOMIC_RELAXED);
    out->lost = __atomic_load_n(&s->lost, __ATOMIC_RELAXED);
    out->error = __atomic_load_n(&s->error, __ATOMIC_RELAXED);
    out->budget_bytes = s->drain.budget;
    pthread_mutex_lock(&b->lock);
    out->over_budget = s->drain.over_budget;
    out->waits = s->drain.waits;
    out->held_bytes = b->held;
    out->peak_bytes = b->peak;
    pthread_mutex_unlock(&b->lock);
}

int evprof_stream_get_stats(evprof_stream *s, evprof_stream_stats *out)
{
    if (s == NULL || out == NULL)
        return -EINVAL;
    if (getpid() != s->pid)
        return -ESRCH;
    fill_stats(s, out);
    return 0;
}

static void meta_u64(evprof_trace_writer *w, const char *key, uint64_t v)
{
    char text[24];

    snprintf(text, sizeof(text), "%" PRIu64, v);
    evprof_trace_write_meta(w, key, text);
}

int evprof_stream_stop(evprof_stream *s, evprof_stream_stats *final)
{
    evprof_stream_stats st;
    evprof_buffer *b;

    if (s == NULL)
        return -EINVAL;
    if (getpid() != s->pid) {
        /* A forked child: no thread to join, a file not its own. */
        link_stream(s, 0);
        stream_free(s, 0);
        return -ESRCH;
    }
    b = s->b;
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    link_stream(s, 0);
    fill_stats(s, &st);
    pthread_mutex_lock(&b->lock);
    b->drain = NULL;
    if (b->waiting > 0)
        pthread_cond_broadcast(&s->drain.room);
    evprof__chunk_pool_free(b);
    pthread_mutex_unlock(&b->lock);
    /* The disk not keeping up, and losses, said in the file. */
    meta_u64(s->w, "stream-budget", st.budget_bytes);
    meta_u64(s->w, "stream-peak-bytes", st.peak_bytes);
    meta_u64(s->w, "stream-over-budget", st.over_budget);
    meta_u64(s->w, "stream-waits", st.waits);
    evprof_trace_writer_add_lost(s->w, st.lost + (evprof_buffer_lost(b)
                                                  - s->lost_at_start));
    evprof__trace_writer_attach(s->w, 0);
    if (final != NULL)
        *final = st;
    stream_free(s, 1);
    return st.error;
}
