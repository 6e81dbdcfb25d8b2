/*
 * evprof/buffer.h: the event buffer, included by <evprof.h>.
 *
 * Every thread logs into chunks of its own, so threads never contend and the
 * fast path of evprof_log is a thread-local cache check, a clock read and a
 * 48-byte store: no lock, no allocation, no atomic read-modify-write.  The
 * slow path (first event of a thread, full chunk) lives in buffer.c.
 */
#ifndef EVPROF_BUFFER_H
#define EVPROF_BUFFER_H 1

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct evprof_buffer evprof_buffer;

/*
 * A new buffer holding `capacity` events a chunk (EVPROF_GROW) or a thread
 * (EVPROF_RING, EVPROF_DROP).  NULL with errno set (EINVAL: capacity 0 or an
 * unknown policy; ENOMEM) on failure.
 */
evprof_buffer *evprof_buffer_new(size_t capacity, int policy)
    EVPROF_WARN_UNUSED;

/* Frees the buffer and its events.  NULL is allowed.  No thread may be
 * logging into it any more. */
void evprof_buffer_free(evprof_buffer *b);

/*
 * Makes the calling thread's storage in b ready before it logs: its record
 * and first chunk, with the memory of its first `nevents` events (at most a
 * chunk) committed, so that the first events take the fast path and cause
 * no page faults inside the code being measured.  0, or -EINVAL / -ENOMEM.
 */
int evprof_buffer_prepare(evprof_buffer *b, size_t nevents);

/* Events held now (logged and not yet dumped); 0 for NULL. */
size_t evprof_buffer_count(const evprof_buffer *b);

/*
 * Moves at most `max` events, oldest first (merged by time across threads,
 * each thread's events in its own order), into `out` and returns how many.
 * Safe while other threads log.  On bad arguments (b NULL, out NULL with max
 * > 0) returns 0 and sets errno to EINVAL; otherwise errno is left as is.
 */
size_t evprof_buffer_dump(evprof_buffer *b, evprof_event *out, size_t max);

/*
 * As evprof_buffer_dump, and also stores in thread[i] (when not NULL) the
 * index of the thread that logged out[i]; see evprof_buffer_thread.
 */
size_t evprof_buffer_dump_ex(evprof_buffer *b, evprof_event *out,
                             uint32_t *thread, size_t max);

/*
 * Reading events without taking them out: a reader gives the events a dump
 * would, in the same order, and leaves them in b.  evprof_buffer_read
 * returns how many it stored (0 at the end), or -ESTALE once a dump or a
 * stream took events out since the reader was opened, -EINVAL.  Opening
 * gives -EOPNOTSUPP for an EVPROF_RING buffer, -ENOMEM.  A reader must be
 * closed before b is freed.
 */
typedef struct evprof_buffer_reader evprof_buffer_reader;
int evprof_buffer_reader_open(evprof_buffer *b, evprof_buffer_reader **out);
int64_t evprof_buffer_read(evprof_buffer_reader *r, evprof_event *out,
                           uint32_t *thread, size_t max);
void evprof_buffer_reader_close(evprof_buffer_reader *r);

/* Events dropped (EVPROF_DROP, failed chunk allocation) or overwritten
 * (EVPROF_RING) so far; 0 for NULL. */
uint64_t evprof_buffer_lost(const evprof_buffer *b);

/* The capacity and policy given to evprof_buffer_new (0 / -EINVAL on NULL). */
size_t evprof_buffer_capacity(const evprof_buffer *b);
int evprof_buffer_policy(const evprof_buffer *b);

/* A thread that logged into a buffer, numbered from 0 in order of first
 * event. */
typedef struct evprof_thread_info {
    uint64_t ident;    /* pthread_self(), as Python's threading.get_ident() */
    int64_t native_id; /* the kernel's thread id (gettid) */
} evprof_thread_info;

/* Number of threads that logged into b so far. */
size_t evprof_buffer_thread_count(const evprof_buffer *b);
/* Fills *info for thread `index`; 0, or -EINVAL / -ERANGE. */
int evprof_buffer_thread(const evprof_buffer *b, size_t index,
                         evprof_thread_info *info) EVPROF_WARN_UNUSED;

/* ---- internals of the inline fast path; not part of the API ---------- */

struct evprof__buffer_head {
    uint64_t uid; /* unique per buffer ever made: guards against reuse */
    int policy;
};

struct evprof__chunk {
    uint64_t head;  /* events written; the owner publishes it (release) */
    uint64_t limit; /* the fast path writes while head < limit */
    uint64_t base;  /* event number `head` goes to slot head - base */
    evprof_event *ev;
};

/* One per thread: the chunk it writes for the buffer it used last.  The
 * fast path tells that buffer by its uid alone (never reused, never 0). */
struct evprof__tcache {
    const evprof_buffer *buf;
    uint64_t uid;
    struct evprof__chunk *chunk;
};

struct evprof__inflight;

/*
 * What the inline fast paths of a thread read and write on each event, in
 * one thread-local block: one TLS address computation an event (from a
 * shared object, a load from the GOT each variable), not one a variable.
 * Its other fields are named by macros where they belong (evprof__context
 * and evprof__in_hook in hook.h, the others in the library's sources).
 */
struct evprof__tls {
    struct evprof__tcache tcache;
    int64_t context;                  /* evprof_context_set (hook.h) */
    struct evprof__inflight *inflight; /* inflight-private.h */
    const void *unlogged_free;        /* takeback-private.h */
    int in_hook;                      /* evprof_hook_active (hook.h) */
    int inflight_shared;              /* inflight-private.h */
};

EVPROF_TLS_EXTERN(struct evprof__tls, evprof__tls);

int evprof__log_slow(evprof_buffer *b, int64_t id_frame, int64_t id_arg,
                     int64_t event, int64_t value1, int64_t value2);

EVPROF_NOINSTR EVPROF_INLINE void evprof__store(evprof_event *e,
    int64_t id_frame, int64_t id_arg, int64_t event, int64_t time,
    int64_t value1, int64_t value2)
{
    /* Relaxed atomic stores compile to plain moves; they keep a reader of an
     * EVPROF_RING buffer (which may see a slot being overwritten and then
     * discards it) free of data races. */
    __atomic_store_n(&e->id_frame, id_frame, __ATOMIC_RELAXED);
    __atomic_store_n(&e->id_arg, id_arg, __ATOMIC_RELAXED);
    __atomic_store_n(&e->event, event, __ATOMIC_RELAXED);
    __atomic_store_n(&e->time, time, __ATOMIC_RELAXED);
    __atomic_store_n(&e->value1, value1, __ATOMIC_RELAXED);
    __atomic_store_n(&e->value2, value2, __ATOMIC_RELAXED);
}

/*
 * Logs one event, stamped with evprof_clock_ns().  Returns 0, or a negative
 * code: -EINVAL (b NULL), -ENOBUFS (EVPROF_DROP buffer full: the event is
 * counted as lost), -ENOMEM (no memory for a new chunk: counted as lost).
 * Any thread may call it at any time, also from a signal handler once the
 * thread has logged into b before.
 */
EVPROF_NOINSTR EVPROF_INLINE int evprof_log(evprof_buffer *b,
    int64_t id_frame, int64_t id_arg, int64_t event,
    int64_t value1, int64_t value2)
{
    /* The thread-local cache is named, not taken by address: GCC 12's
     * UndefinedBehaviorSanitizer takes a TLS address for a null one. */
    if (EVPROF_LIKELY(b != NULL
                      && evprof__tls.tcache.uid
                         == ((const struct evprof__buffer_head *)
                             (const void *)b)->uid)) {
        struct evprof__chunk *c = evprof__tls.tcache.chunk;
        uint64_t h = c->head;
        if (EVPROF_LIKELY(h < c->limit)) {
            /* Orders these stores after the previous publication of head,
             * for RING readers; a compiler barrier on x86. */
            __atomic_thread_fence(__ATOMIC_RELEASE);
            evprof__store(c->ev + (h - c->base), id_frame, id_arg, event,
                          evprof_clock_ns(), value1, value2);
            __atomic_store_n(&c->head, h + 1, __ATOMIC_RELEASE);
            return 0;
        }
    }
    return evprof__log_slow(b, id_frame, id_arg, event, value1, value2);
}

/*
 * evprof_log's fast path alone, for a caller that keeps its own fast path
 * free of calls (no register to save): 1 when the event is logged, 0 when
 * it would take a call (b NULL, another buffer logged last, a full chunk,
 * a clock other than the TSC), nothing done then.  Not part of the API.
 */
EVPROF_NOINSTR EVPROF_INLINE int evprof__log_fast(evprof_buffer *b,
    int64_t id_frame, int64_t id_arg, int64_t event,
    int64_t value1, int64_t value2)
{
#if EVPROF_HAVE_TSC
    struct evprof__chunk *c;
    uint64_t h;

    if (EVPROF_UNLIKELY(b == NULL
                        || evprof__tls.tcache.uid
                           != ((const struct evprof__buffer_head *)
                               (const void *)b)->uid
                        || evprof__clock.source != EVPROF_CLOCK_TSC))
        return 0;
    c = evprof__tls.tcache.chunk;
    h = c->head;
    if (EVPROF_UNLIKELY(h >= c->limit))
        return 0;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    evprof__store(c->ev + (h - c->base), id_frame, id_arg, event,
                  evprof__clock_tsc_ns(), value1, value2);
    __atomic_store_n(&c->head, h + 1, __ATOMIC_RELEASE);
    return 1;
#else
    (void)b;
    (void)id_frame;
    (void)id_arg;
    (void)event;
    (void)value1;
    (void)value2;
    return 0;
#endif
}

#ifdef __cplusplus
}
#endif

#endif /* EVPROF_BUFFER_H */
