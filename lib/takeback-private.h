/*
 * takeback-private.h: allocation events taken back out of the record by
 * the thread that logged them, for a hook that learns only afterwards
 * that an allocation was its own, not the program's (the Python
 * extension: a frame object that the interpreter made for the profile
 * function, an int that sys.monitoring made for its callbacks).  Not
 * installed.
 *
 * What may be taken back is the calling thread's newest events, while
 * they are still in the chunk it writes: the thread moves its chunk's head
 * back with a compare-and-swap, which fails (the events stay) when a
 * signal handler logged on the thread meanwhile.  A stream's periodic
 * drain leaves the newest EVPROF__TAKE_BACK_MAX events of a chunk being
 * written for a later pass (lib/stream.c), so it never has read what is
 * taken back.  Other consumers (evprof_buffer_dump, a reader,
 * evprof_stream_flush and evprof_stream_stop, which take everything) must
 * not run meanwhile: the caller excludes them (the extension reads its
 * buffer under the GIL, which the callers hold, and stops its stream
 * after the run).
 */
#ifndef EVPROF_TAKEBACK_PRIVATE_H
#define EVPROF_TAKEBACK_PRIVATE_H 1

#include "evprof.h"

/* The most events taken back at once. */
#define EVPROF__TAKE_BACK_MAX 2

/* A block whose allocation was taken back: the allocator hook forwards
 * the calling thread's next free of it without logging it (and clears
 * this).  Defined in hook_alloc.c. */
extern _Thread_local const void *evprof__unlogged_free
    __attribute__((tls_model("initial-exec")));

/* The swap of evprof__take_back_mallocs on a full chunk c, whose head
 * was h, with the calling thread's signals blocked: 1, or 0 when an event
 * came meanwhile (lib/takeback.c). */
int evprof__take_back_full(struct evprof__chunk *c, uint64_t h, unsigned n)
    EVPROF_NOINSTR;

/*
 * Takes back the calling thread's newest n events in b (n at most
 * EVPROF__TAKE_BACK_MAX) when they are MALLOC events of blocks[0], ...,
 * blocks[n - 1], oldest first, and copies them into out[0..n) (when out
 * is not NULL).  1 when taken back; 0 when not (b is NULL or not a GROW
 * buffer, the thread's newest events are others or in a chunk it left).
 */
EVPROF_NOINSTR static inline int evprof__take_back_mallocs(
    const evprof_buffer *b, const int64_t *blocks, unsigned n,
    evprof_event *out)
{
    const struct evprof__buffer_head *bh =
        (const struct evprof__buffer_head *)(const void *)b;
    struct evprof__chunk *c;
    const evprof_event *e;
    uint64_t h;
    unsigned i;

    if (b == NULL || n == 0 || n > EVPROF__TAKE_BACK_MAX
        || bh->policy != EVPROF_GROW || evprof__tcache.buf != b
        || evprof__tcache.uid != bh->uid)
        return 0;
    c = evprof__tcache.chunk;
    h = __atomic_load_n(&c->head, __ATOMIC_RELAXED);
    if (h - c->base < n)
        return 0;
    e = c->ev + (h - n - c->base);
    for (i = 0; i < n; i++)
        if (e[i].event != EVPROF_MALLOC || e[i].value1 != blocks[i])
            return 0;
    if (out != NULL)
        for (i = 0; i < n; i++)
            out[i] = e[i];
    /* A full chunk is sealed by the next event, which a signal handler
     * may log between the look and the swap: then with signals blocked
     * (once a chunk). */
    if (EVPROF_UNLIKELY(h >= c->limit))
        return evprof__take_back_full(c, h, n);
    return __atomic_compare_exchange_n(&c->head, &h, h - n, 0,
                                       __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

#endif /* EVPROF_TAKEBACK_PRIVATE_H */
