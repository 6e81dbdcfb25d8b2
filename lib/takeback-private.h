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
 * this).  In the thread's block (evprof/buffer.h). */
#define evprof__unlogged_free (evprof__tls.unlogged_free)

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
        || bh->policy != EVPROF_GROW || evprof__tls.tcache.buf != b
        || evprof__tls.tcache.uid != bh->uid)
        return 0;
    c = evprof__tls.tcache.chunk;
    h = __atomic_load_n(&c->head, __ATOMIC_RELAXED);
    if (h - c->base < n)
        return 0;
    e = c->ev + (h - n - c->base);
    for (i = 0; i < n; i++)
        if (e[i].event != EVPROF_MALLOC || e[i].value1 != blocks[i])
            return 0;
    if (out != NULL)
        for (i = 0; i < n; i++) {
            /* Field by field: a struct copy may become a `rep movs`,
             * slow to start for 48 bytes. */
            out[i].id_frame = e[i].id_frame;
            out[i].id_arg = e[i].id_arg;
            out[i].event = e[i].event;
            out[i].time = e[i].time;
            out[i].value1 = e[i].value1;
            out[i].value2 = e[i].value2;
        }
    /* A full chunk is sealed by the next event, which a signal handler
     * may log between the look and the swap: then with signals blocked
     * (once a chunk). */
    if (EVPROF_UNLIKELY(h >= c->limit))
        return evprof__take_back_full(c, h, n);
    return __atomic_compare_exchange_n(&c->head, &h, h - n, 0,
                                       __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

/*
 * Turns the calling thread's newest event in b, when it is the MALLOC of
 * `block`, into the event (id_frame, id_arg, event, value1, value2) in
 * place, keeping its time; the malloc's columns go to *out first.  1 when
 * done; 0 when not (as for evprof__take_back_mallocs): then nothing
 * changed.  Cheaper than a take back and a new event (no clock read, no
 * compare-and-swap, the head stays), for a hook that knows at once what
 * the allocation was for (the frame of a call).  Only while no consumer
 * can read b at all (no stream attached, and dumps and readers excluded
 * by the caller): the slot is rewritten with plain stores, and a signal
 * handler that logs meanwhile writes past it (or seals its chunk, which
 * nobody reads meanwhile), so the order of the thread's events holds.
 */
EVPROF_NOINSTR static inline int evprof__malloc_to_event(
    const evprof_buffer *b, int64_t block, evprof_event *out,
    int64_t id_frame, int64_t id_arg, int64_t event, int64_t value1,
    int64_t value2)
{
    const struct evprof__buffer_head *bh =
        (const struct evprof__buffer_head *)(const void *)b;
    struct evprof__chunk *c;
    evprof_event *e;
    uint64_t h;

    if (b == NULL || bh->policy != EVPROF_GROW || evprof__tls.tcache.buf != b
        || evprof__tls.tcache.uid != bh->uid)
        return 0;
    c = evprof__tls.tcache.chunk;
    h = __atomic_load_n(&c->head, __ATOMIC_RELAXED);
    if (h == c->base)
        return 0;
    e = c->ev + (h - 1 - c->base);
    if (e->event != EVPROF_MALLOC || e->value1 != block)
        return 0;
    /* Field by field: a struct copy may become a `rep movs`, slow to
     * start for 48 bytes. */
    out->id_frame = e->id_frame;
    out->id_arg = e->id_arg;
    out->event = e->event;
    out->time = e->time;
    out->value1 = e->value1;
    out->value2 = e->value2;
    e->id_frame = id_frame;
    e->id_arg = id_arg;
    e->event = event;
    e->value1 = value1;
    e->value2 = value2;
    return 1;
}

#endif /* EVPROF_TAKEBACK_PRIVATE_H */
