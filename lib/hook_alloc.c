/*
 * hook_alloc.c: the allocator hook: log each call of a wrapped family, then
 * forward it.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#include "evprof.h"
#include "inflight-private.h"
#include "takeback-private.h"

/* evprof__in_hook is set while this thread runs a hook, so a nested hook
 * call (the inner family falling through to another hooked family, or the
 * slow path of evprof_log allocating) forwards without logging. */
#define in_hook evprof__in_hook

struct evprof_alloc_hook {
    evprof_allocator inner;
    evprof_buffer *buffer;  /* atomic: evprof_alloc_hook_set_buffer */
    int64_t tag;
    int enabled; /* atomic */
    evprof_allocator *slot; /* where evprof_alloc_hook_install put it */
};

int evprof_hook_active(void)
{
    return in_hook;
}

static int logging(const struct evprof_alloc_hook *h)
{
    return !in_hook && __atomic_load_n(&h->enabled, __ATOMIC_RELAXED);
}

/*
 * Logs one event unless logging was turned off since the first look.  The
 * call is marked in flight before `enabled` is read again, and quiesce
 * waits for the marks after it turned `enabled` off (inflight-private.h):
 * either this thread sees the hook off, or quiesce sees this thread and
 * waits.  Only calls that log pay for it, and they write nothing another
 * thread writes; a hook left installed and off forwards with no atomic at
 * all.  A full DROP buffer or a failed chunk allocation is counted as lost
 * by the buffer itself; the allocation goes on regardless.  Inlined into
 * each hook: on the path of every allocation, a call's prologue and its
 * seven arguments would cost a quarter of the logging.
 */
EVPROF_INLINE void record(struct evprof_alloc_hook *h, int64_t event,
                          const void *ptr, size_t size)
{
    struct evprof__inflight *s = evprof__inflight_enter(1);

    if (EVPROF_LIKELY(__atomic_load_n(&h->enabled, __ATOMIC_RELAXED)))
        (void)evprof_log(__atomic_load_n(&h->buffer, __ATOMIC_ACQUIRE),
                         evprof__context, h->tag, event,
                         (int64_t)(intptr_t)ptr, (int64_t)size);
    evprof__inflight_leave(s);
}

/* As record, both halves of a realloc that moved the block, in one call
 * in flight (a reader never sees the free without the new block). */
static void record2(struct evprof_alloc_hook *h, const void *ptr,
                    const void *ptr2, size_t size2)
{
    struct evprof__inflight *s = evprof__inflight_enter(1);

    if (EVPROF_LIKELY(__atomic_load_n(&h->enabled, __ATOMIC_RELAXED))) {
        evprof_buffer *b = __atomic_load_n(&h->buffer, __ATOMIC_ACQUIRE);

        (void)evprof_log(b, evprof__context, h->tag, EVPROF_REALLOC_FREE,
                         (int64_t)(intptr_t)ptr, 0);
        (void)evprof_log(b, evprof__context, h->tag, EVPROF_REALLOC,
                         (int64_t)(intptr_t)ptr2, (int64_t)size2);
    }
    evprof__inflight_leave(s);
}

static void *hook_malloc(void *ctx, size_t size)
{
    struct evprof_alloc_hook *h = ctx;
    void *p;

    if (!logging(h))
        return h->inner.malloc(h->inner.ctx, size);
    in_hook = 1;
    p = h->inner.malloc(h->inner.ctx, size);
    if (p != NULL)
        record(h, EVPROF_MALLOC, p, size);
    in_hook = 0;
    return p;
}

static void *hook_calloc(void *ctx, size_t nelem, size_t elsize)
{
    struct evprof_alloc_hook *h = ctx;
    void *p;

    if (!logging(h))
        return h->inner.calloc(h->inner.ctx, nelem, elsize);
    in_hook = 1;
    p = h->inner.calloc(h->inner.ctx, nelem, elsize);
    /* No overflow here: a block of nelem * elsize bytes exists. */
    if (p != NULL)
        record(h, EVPROF_CALLOC, p, nelem * elsize);
    in_hook = 0;
    return p;
}

static void *hook_realloc(void *ctx, void *ptr, size_t size)
{
    struct evprof_alloc_hook *h = ctx;
    void *p;
    int gone;

    if (!logging(h))
        return h->inner.realloc(h->inner.ctx, ptr, size);
    in_hook = 1;
    p = h->inner.realloc(h->inner.ctx, ptr, size);
    /* The old block is gone when the call succeeded, and also when a
     * realloc to size 0 freed it and returned NULL. */
    gone = ptr != NULL && (p != NULL || size == 0);
    if (gone && p != NULL)
        record2(h, ptr, p, size);
    else if (gone)
        record(h, EVPROF_REALLOC_FREE, ptr, 0);
    else if (p != NULL)
        record(h, EVPROF_REALLOC, p, size);
    in_hook = 0;
    return p;
}

static void hook_free(void *ctx, void *ptr)
{
    struct evprof_alloc_hook *h = ctx;

    if (!logging(h) || ptr == NULL) {
        h->inner.free(h->inner.ctx, ptr);
        return;
    }
    in_hook = 1;
    /* Logged before the block is given back: once freed, another thread
     * may get the same address and log its malloc first.  A block whose
     * malloc was taken back out of the record (evprof__unlogged_free)
     * goes unlogged. */
    if (EVPROF_UNLIKELY(ptr == evprof__unlogged_free))
        evprof__unlogged_free = NULL;
    else
        record(h, EVPROF_FREE, ptr, 0);
    h->inner.free(h->inner.ctx, ptr);
    in_hook = 0;
}

evprof_alloc_hook *evprof_alloc_hook_new(const evprof_allocator *inner,
                                         evprof_buffer *b, int64_t tag)
{
    struct evprof_alloc_hook *h;

    if (inner == NULL || b == NULL || inner->malloc == NULL
        || inner->calloc == NULL || inner->realloc == NULL
        || inner->free == NULL) {
        errno = EINVAL;
        return NULL;
    }
    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    evprof__inflight_prepare();
    h->inner = *inner;
    h->buffer = b;
    h->tag = tag;
    return h;
}

int evprof_alloc_hook_allocator(evprof_alloc_hook *h, evprof_allocator *out)
{
    if (h == NULL || out == NULL)
        return -EINVAL;
    out->ctx = h;
    out->malloc = hook_malloc;
    out->calloc = hook_calloc;
    out->realloc = hook_realloc;
    out->free = hook_free;
    return 0;
}

const evprof_allocator *evprof_alloc_hook_inner(const evprof_alloc_hook *h)
{
    return h != NULL ? &h->inner : NULL;
}

int evprof_alloc_hook_enable(evprof_alloc_hook *h, int on)
{
    if (h == NULL)
        return -EINVAL;
    return __atomic_exchange_n(&h->enabled, on ? 1 : 0, __ATOMIC_SEQ_CST);
}

int evprof_alloc_hook_quiesce(evprof_alloc_hook *h)
{
    if (h == NULL)
        return -EINVAL;
    if (__atomic_load_n(&h->enabled, __ATOMIC_SEQ_CST))
        return -EBUSY;
    /* This thread inside one of its own hooks (a hook calling back into
     * the code that stops it) would wait for itself. */
    if (in_hook)
        return -EDEADLK;
    /* Each call in flight is logging one or two events: it ends soon,
     * whatever the inner allocator does (that call is not in flight).  A
     * forked child has forgotten the calls of the threads it lost. */
    return evprof__inflight_quiesce();
}

int evprof_alloc_hook_set_buffer(evprof_alloc_hook *h, evprof_buffer *b)
{
    int rc;

    if (h == NULL || b == NULL)
        return -EINVAL;
    /* A call that found the hook on before it went off must be done with
     * the old buffer first, or it would log into the new one what belongs
     * to the old. */
    rc = evprof_alloc_hook_quiesce(h);
    if (rc != 0)
        return rc;
    __atomic_store_n(&h->buffer, b, __ATOMIC_RELEASE);
    return 0;
}

void evprof_alloc_hook_free(evprof_alloc_hook *h)
{
    free(h);
}

int evprof_alloc_hook_install(evprof_alloc_hook *h, evprof_allocator *slot)
{
    if (h == NULL || slot == NULL)
        return -EINVAL;
    if (h->slot != NULL)
        return -EEXIST;
    if (evprof_alloc_hook_allocator(h, slot) != 0)
        return -EINVAL;
    h->slot = slot;
    evprof_alloc_hook_enable(h, 1);
    return 0;
}

int evprof_alloc_hook_remove(evprof_alloc_hook *h)
{
    if (h == NULL)
        return -EINVAL;
    if (h->slot == NULL)
        return -ESRCH;
    evprof_alloc_hook_enable(h, 0);
    *h->slot = h->inner;
    h->slot = NULL;
    return 0;
}
