/*
 * chunks.c: where the chunks of a buffer come from and where they go.
 *
 * Called under the buffer's lock, from the slow path of evprof_log (a
 * thread's first chunk, a full chunk) and from consumers (a dump, a
 * stream) once they have read a sealed chunk to its end.  While a stream
 * drains a buffer, consumed chunks go to a pool that the slow path takes
 * from before it mallocs, and the memory all chunks hold is kept within
 * the stream's budget (doc/architecture.md, "Streaming").
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "buffer-private.h"

_Thread_local int evprof__draining;

/*
 * The largest chunk worth asking malloc for: the machine's physical memory
 * (SIZE_MAX when unknown).  A thread writes its chunk from end to end
 * (the kernel commits its pages as they are reached): a bigger one could only
 * thrash, or get the process killed once an overcommitting kernel had
 * granted it; and some allocators (AddressSanitizer's) abort on such sizes
 * instead of returning NULL.  Computed once, from evprof_buffer_new, so
 * that the slow path of evprof_log (possibly inside an allocator hook)
 * makes no system call for it.
 */
static size_t max_chunk;

static size_t max_chunk_bytes(void)
{
    size_t v = __atomic_load_n(&max_chunk, __ATOMIC_RELAXED);

    if (v == 0) {
        long pages = -1, page = -1;

#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
        pages = sysconf(_SC_PHYS_PAGES);
        page = sysconf(_SC_PAGESIZE);
#endif
        v = SIZE_MAX;
        if (pages > 0 && page > 0
            && (unsigned long)pages <= SIZE_MAX / (unsigned long)page)
            v = (size_t)pages * (size_t)page;
        __atomic_store_n(&max_chunk, v, __ATOMIC_RELAXED);
    }
    return v;
}

void evprof__chunk_limit(void)
{
    (void)max_chunk_bytes();
}

size_t evprof__chunk_bytes(const evprof_buffer *b)
{
    return sizeof(struct chunk) + (size_t)chunk_slots(b) * sizeof(evprof_event);
}

/* The fast-path fields of c made ready for `owner`'s first event. */
static void chunk_reset(const evprof_buffer *b, struct chunk *c,
                        struct thread *owner)
{
    uint64_t slots = chunk_slots(b);
    evprof_event *ev = c->pub.ev;

    memset(c, 0, sizeof(*c));
    c->pub.ev = ev;
    c->pub.limit = b->head.policy == EVPROF_RING ? slots : b->capacity;
    c->slots = slots;
    c->owner = owner;
}

#define HUGE_CHUNK EVPROF__HUGE_CHUNK
#define HUGE_PAGE EVPROF__HUGE_PAGE

/*
 * The events of the last big chunk freed in the process, kept for the
 * next GROW chunk of the same size: a short run after another (a profiler
 * made per block) writes pages that are already there instead of having
 * the kernel clear 2 MiB at each huge page it reaches (the larger part of
 * a short run's own cost past its events).  At most SPARE_KEEP bytes of it
 * stay resident; the rest is given back when it is kept.  A GROW writer
 * never reads a slot it did not write, so what the pages held does not
 * matter.  One pointer, swapped atomically (no lock: fork-safe); its first
 * bytes hold its size while it is kept.
 */
#define SPARE_KEEP ((size_t)8 << 20)
static void *spare;

static void *spare_take(size_t evbytes)
{
    void *p = __atomic_exchange_n(&spare, NULL, __ATOMIC_ACQUIRE), *none;

    if (p == NULL || *(size_t *)p == evbytes)
        return p;
    none = NULL;
    if (!__atomic_compare_exchange_n(&spare, &none, p, 0, __ATOMIC_RELEASE,
                                     __ATOMIC_RELAXED))
        free(p);
    return NULL;
}

static void spare_keep(void *ev, size_t evbytes)
{
    void *old;

#if defined(MADV_DONTNEED)
    /* ev is on a huge page boundary, SPARE_KEEP a multiple of it. */
    if (evbytes > SPARE_KEEP + HUGE_PAGE)
        (void)madvise((char *)ev + SPARE_KEEP,
                      (evbytes - SPARE_KEEP) & ~(HUGE_PAGE - 1),
                      MADV_DONTNEED);
#endif
    *(size_t *)ev = evbytes;
    old = __atomic_exchange_n(&spare, ev, __ATOMIC_ACQ_REL);
    free(old);
}

/*
 * A new chunk; NULL when it cannot be had (or is bigger than the memory of
 * the machine).  Nothing of its events is touched: the kernel commits their
 * pages as the thread reaches them.  A big chunk's events start on a huge
 * page boundary, in an allocation of their own, so that every one of their
 * pages can be a huge page (one fault for 2 MiB, about a quarter of the
 * cost of 512 small ones) and making the chunk commits none of them (its
 * header is a small allocation).
 */
static struct chunk *chunk_new(evprof_buffer *b, struct thread *owner)
{
    size_t bytes = b->chunk_bytes;
    struct chunk *c;

    if (bytes > max_chunk_bytes())
        return NULL;
    if (bytes >= HUGE_CHUNK) {
        size_t evbytes = bytes - sizeof(struct chunk);
        void *ev = b->head.policy == EVPROF_GROW ? spare_take(evbytes)
                                                  : NULL;

        if (ev == NULL && posix_memalign(&ev, HUGE_PAGE, evbytes) != 0)
            return NULL;
        c = malloc(sizeof(*c));
        if (c == NULL) {
            free(ev);
            return NULL;
        }
#if defined(MADV_HUGEPAGE)
        /* A hint; failure changes nothing.  (Again on a spare: a trim
         * marked its end for small pages.) */
        if (evbytes >= HUGE_PAGE)
            (void)madvise(ev, evbytes & ~(HUGE_PAGE - 1), MADV_HUGEPAGE);
#endif
        c->pub.ev = ev;
    } else {
        c = malloc(bytes);
        if (c == NULL)
            return NULL;
        c->pub.ev = (evprof_event *)(void *)(c + 1);
    }
    chunk_reset(b, c, owner);
    b->held += bytes;
    if (b->held > b->peak)
        b->peak = b->held;
    return c;
}

void evprof__chunk_free(struct chunk *c)
{
    if (c == NULL)
        return;
    if (c->pub.ev != (evprof_event *)(void *)(c + 1))
        spare_keep(c->pub.ev, (size_t)c->slots * sizeof(evprof_event));
    free(c);
}

struct chunk *evprof__chunk_get(evprof_buffer *b, struct thread *owner)
{
    struct evprof__drain *d;
    struct chunk *c;

    for (;;) {
        if ((c = b->pool) != NULL) {
            b->pool = c->next;
            chunk_reset(b, c, owner);
            return c;
        }
        d = b->drain;
        if (d == NULL || b->held + b->chunk_bytes <= d->budget)
            return chunk_new(b, owner);
        /* Over the budget.  Waiting helps only when a sealed chunk is on
         * its way back (else nothing would wake us: all other chunks are
         * being written), and never on the stream's own thread (an
         * allocator hook logging its mallocs would wait for itself). */
        if (!d->wait || b->sealed == 0 || evprof__draining) {
            d->over_budget++;
            return chunk_new(b, owner);
        }
        d->waits++;
        b->waiting++;
        d->kick(d->arg);
        /* The stream broadcasts when it stops: d is not used after. */
        pthread_cond_wait(&d->room, &b->lock);
        b->waiting--;
    }
}

void evprof__chunk_retire(evprof_buffer *b, struct chunk *c)
{
    struct evprof__drain *d = b->drain;

    b->sealed--;
    b->retired++;
    if (d != NULL && b->held <= d->budget) {
        c->next = b->pool;
        b->pool = c;
        if (b->waiting > 0)
            pthread_cond_broadcast(&d->room);
        return;
    }
    b->held -= b->chunk_bytes;
    evprof__chunk_free(c);
}

void evprof__chunk_pool_free(evprof_buffer *b)
{
    struct chunk *c;

    while ((c = b->pool) != NULL) {
        b->pool = c->next;
        b->held -= b->chunk_bytes;
        evprof__chunk_free(c);
    }
}
