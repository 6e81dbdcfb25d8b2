/*
 * dump.c: reading a buffer while threads may still log into it: counting,
 * and moving events out oldest first, merged across threads by time.
 *
 * A writer only ever publishes `head` (release) and a reader only ever
 * advances `tail`.  GROW and DROP writers never touch a slot between tail and
 * head, so those are read in place.  A RING writer may overwrite the oldest
 * events while they are read: each thread's events are first copied out, then
 * checked against the head seen afterwards, and what was overwritten during
 * the copy is dropped and counted as lost.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buffer-private.h"

/* Events of one chunk not yet consumed: head - tail, less what a RING
 * overwrote (returned in *over). */
static uint64_t chunk_avail(const evprof_buffer *b, const struct chunk *c,
                            uint64_t *over)
{
    uint64_t head = load_acquire(&c->pub.head);
    uint64_t tail = load_acquire(&c->tail);
    uint64_t n = head - tail;

    *over = 0;
    if (b->head.policy == EVPROF_RING && n > b->capacity) {
        *over = n - b->capacity;
        n = b->capacity;
    }
    return n;
}

size_t evprof_buffer_count(const evprof_buffer *b)
{
    const struct thread *t;
    const struct chunk *c;
    uint64_t n = 0, over;

    if (b == NULL)
        return 0;
    pthread_mutex_lock((pthread_mutex_t *)&b->lock);
    for (t = b->threads; t != NULL; t = t->next)
        for (c = t->oldest; c != NULL; c = c->next)
            n += chunk_avail(b, c, &over);
    pthread_mutex_unlock((pthread_mutex_t *)&b->lock);
    return (size_t)n;
}

uint64_t evprof_buffer_lost(const evprof_buffer *b)
{
    const struct thread *t;
    uint64_t n, over;

    if (b == NULL)
        return 0;
    if (b->head.policy != EVPROF_RING)
        return __atomic_load_n(&b->lost, __ATOMIC_RELAXED);
    /* A RING's overwrites are counted twice over: those a dump skipped (in
     * b->lost) and those no dump has seen yet (head - tail - capacity).  A
     * dump moves events from the second count to the first, under the
     * lock: both are read under it too, or the sum could go down. */
    pthread_mutex_lock((pthread_mutex_t *)&b->lock);
    n = __atomic_load_n(&b->lost, __ATOMIC_RELAXED);
    for (t = b->threads; t != NULL; t = t->next) {
        chunk_avail(b, t->oldest, &over);
        n += over;
    }
    pthread_mutex_unlock((pthread_mutex_t *)&b->lock);
    return n;
}

/* Where the merge reads the next event of one thread. */
struct cursor {
    struct thread *t;
    struct chunk *c;      /* chunk being read */
    uint64_t pos, end;    /* next event number, end of what is readable */
    evprof_event *copy;   /* RING: the events copied out, or NULL */
    uint64_t ncopy, icopy;
};

static void load_event(evprof_event *dst, const evprof_event *src)
{
    dst->id_frame = __atomic_load_n(&src->id_frame, __ATOMIC_RELAXED);
    dst->id_arg = __atomic_load_n(&src->id_arg, __ATOMIC_RELAXED);
    dst->event = __atomic_load_n(&src->event, __ATOMIC_RELAXED);
    dst->time = __atomic_load_n(&src->time, __ATOMIC_RELAXED);
    dst->value1 = __atomic_load_n(&src->value1, __ATOMIC_RELAXED);
    dst->value2 = __atomic_load_n(&src->value2, __ATOMIC_RELAXED);
}

/*
 * RING: copies at most `max` of the thread's oldest intact events into
 * cur->copy and advances tail past them.  Returns -ENOMEM or 0.
 */
static int ring_copy(evprof_buffer *b, struct cursor *cur, size_t max)
{
    struct chunk *c = cur->t->oldest;
    uint64_t head = load_acquire(&c->pub.head);
    uint64_t tail = c->tail, first, i, n, lost = 0;

    if (head - tail > b->capacity) {
        lost += head - b->capacity - tail;
        tail = head - b->capacity;
    }
    n = head - tail;
    if (n > max)
        n = max;
    cur->copy = malloc((size_t)(n ? n : 1) * sizeof(evprof_event));
    if (cur->copy == NULL)
        return -ENOMEM;
    for (i = 0; i < n; i++)
        load_event(&cur->copy[i], &c->pub.ev[(tail + i) % c->slots]);
    /* A writer that overwrote a slot we read had published a head past
     * it before (see evprof_log): a second look at head tells which copies
     * may be stale.  With the spare slot, events from head - capacity on are
     * intact even while event `head` is being written. */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    head = __atomic_load_n(&c->pub.head, __ATOMIC_RELAXED);
    first = head > b->capacity ? head - b->capacity : 0;
    cur->icopy = 0;
    if (first > tail) {
        uint64_t skip = first - tail;

        lost += skip;
        cur->icopy = skip < n ? skip : n;
        tail = first;
    }
    cur->ncopy = n;
    cur->pos = tail;
    __atomic_fetch_add(&b->lost, lost, __ATOMIC_RELAXED);
    return 0;
}

/* The next event of a GROW/DROP cursor, or NULL; moves to newer chunks. */
static const evprof_event *peek_inplace(struct cursor *cur)
{
    for (;;) {
        if (cur->pos < cur->end)
            return &cur->c->pub.ev[cur->pos % cur->c->slots];
        /* `sealed` first: once set, head is final. */
        if (__atomic_load_n(&cur->c->sealed, __ATOMIC_ACQUIRE)) {
            cur->end = load_acquire(&cur->c->pub.head);
            if (cur->pos < cur->end)
                continue;
            __atomic_store_n(&cur->c->tail, cur->pos, __ATOMIC_RELEASE);
            if (cur->c->next == NULL)
                return NULL;
            cur->c = cur->c->next;
            cur->pos = cur->c->tail;
            cur->end = load_acquire(&cur->c->pub.head);
            continue;
        }
        return NULL;
    }
}

static const evprof_event *peek(struct cursor *cur)
{
    if (cur->copy != NULL)
        return cur->icopy < cur->ncopy ? &cur->copy[cur->icopy] : NULL;
    return peek_inplace(cur);
}

static void advance(struct cursor *cur)
{
    if (cur->copy != NULL)
        cur->icopy++;
    cur->pos++;
}

/* Retires the GROW chunks that are sealed and fully consumed. */
static void release_chunks(evprof_buffer *b, struct thread *t)
{
    struct chunk *c;

    while ((c = t->oldest) != t->newest
           && __atomic_load_n(&c->sealed, __ATOMIC_ACQUIRE)
           && c->tail == load_acquire(&c->pub.head)) {
        t->oldest = c->next;
        evprof__chunk_retire(b, c);
    }
}

size_t evprof_buffer_dump_ex(evprof_buffer *b, evprof_event *out,
                             uint32_t *thread, size_t max)
{
    struct cursor *cur;
    size_t ncur, i, n = 0;
    int ring;

    if (b == NULL || (out == NULL && max > 0)) {
        errno = EINVAL;
        return 0;
    }
    if (max == 0)
        return 0;
    /* Against a stream draining b (lib/stream.c) and other dumps: each
     * event goes to one of them. */
    pthread_mutex_lock(&b->consume);
    pthread_mutex_lock(&b->lock);
    ncur = b->nthreads;
    cur = calloc(ncur ? ncur : 1, sizeof(*cur));
    if (cur == NULL) {
        pthread_mutex_unlock(&b->lock);
        pthread_mutex_unlock(&b->consume);
        errno = ENOMEM;
        return 0;
    }
    ring = b->head.policy == EVPROF_RING;
    for (i = 0; i < ncur; i++) {
        cur[i].t = b->by_index[i];
        cur[i].c = cur[i].t->oldest;
        if (ring && ring_copy(b, &cur[i], max) != 0) {
            ncur = i;
            errno = ENOMEM;
            max = 0;
            break;
        }
        if (!ring) {
            cur[i].pos = cur[i].c->tail;
            cur[i].end = load_acquire(&cur[i].c->pub.head);
        }
    }
    while (n < max) {
        const evprof_event *best = NULL, *e;
        size_t bi = 0;

        for (i = 0; i < ncur; i++) {
            e = peek(&cur[i]);
            if (e != NULL && (best == NULL || e->time < best->time)) {
                best = e;
                bi = i;
            }
        }
        if (best == NULL)
            break;
        if (ring)
            out[n] = *best;
        else
            load_event(&out[n], best);
        if (thread != NULL)
            thread[n] = (uint32_t)bi;
        n++;
        advance(&cur[bi]);
    }
    for (i = 0; i < ncur; i++) {
        __atomic_store_n(&cur[i].c->tail, cur[i].pos, __ATOMIC_RELEASE);
        free(cur[i].copy);
        if (!ring)
            release_chunks(b, cur[i].t);
    }
    free(cur);
    pthread_mutex_unlock(&b->lock);
    pthread_mutex_unlock(&b->consume);
    return n;
}

size_t evprof_buffer_dump(evprof_buffer *b, evprof_event *out, size_t max)
{
    return evprof_buffer_dump_ex(b, out, NULL, max);
}
