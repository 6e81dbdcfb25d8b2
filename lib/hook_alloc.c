/*
 * hook_alloc.c: the allocator hook: log each call of a wrapped family, then
 * forward it.
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "evprof.h"

_Thread_local int64_t evprof__context
    __attribute__((tls_model("initial-exec")));

/* Set while this thread runs a hook, so a nested hook call (the inner family
 * falling through to another hooked family, or the slow path of evprof_log
 * allocating) forwards without logging. */
_Thread_local int evprof__in_hook __attribute__((tls_model("initial-exec")));
#define in_hook evprof__in_hook

struct evprof_alloc_hook {
    evprof_allocator inner;
    evprof_buffer *buffer;  /* atomic: evprof_alloc_hook_set_buffer */
    int64_t tag;
    int enabled; /* atomic */
    /* Threads between the second look at `enabled` and the end of their
     * record (atomic): evprof_alloc_hook_quiesce waits for 0, so that the
     * buffer can be freed once it returns. */
    unsigned long inflight;
    evprof_allocator *slot; /* where evprof_alloc_hook_install put it */
    struct evprof_alloc_hook *next_all;
};

/*
 * Every live hook, so that a forked child, where only the forking thread
 * goes on, can forget the calls that other threads had in flight (they
 * never end there, and evprof_alloc_hook_quiesce would wait for ever).
 */
static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static struct evprof_alloc_hook *all_hooks;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
    pthread_mutex_lock(&all_lock);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&all_lock);
}

static void fork_child(void)
{
    struct evprof_alloc_hook *h;

    for (h = all_hooks; h != NULL; h = h->next_all)
        __atomic_store_n(&h->inflight, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&all_lock);
}

static void atfork_register(void)
{
    (void)pthread_atfork(fork_prepare, fork_parent, fork_child);
}

int evprof_hook_active(void)
{
    return in_hook;
}

static int logging(const struct evprof_alloc_hook *h)
{
    return !in_hook && __atomic_load_n(&h->enabled, __ATOMIC_RELAXED);
}

/*
 * The buffer to log into, or NULL when logging was turned off since the
 * first look; a non-NULL return must be paired with record_end().  The
 * count goes up before `enabled` is read again and quiesce reads the count
 * after it turned `enabled` off (both sequentially consistent): either this
 * thread sees the hook off, or quiesce sees this thread and waits.  Only
 * calls that log pay for it; a hook left installed and off forwards with no
 * atomic read-modify-write.
 */
static evprof_buffer *record_begin(struct evprof_alloc_hook *h)
{
    __atomic_add_fetch(&h->inflight, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&h->enabled, __ATOMIC_SEQ_CST))
        return __atomic_load_n(&h->buffer, __ATOMIC_ACQUIRE);
    __atomic_sub_fetch(&h->inflight, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void record_end(struct evprof_alloc_hook *h)
{
    __atomic_sub_fetch(&h->inflight, 1, __ATOMIC_RELEASE);
}

static void record(struct evprof_alloc_hook *h, evprof_buffer *b,
                   int64_t event, const void *ptr, size_t size)
{
    /* A full DROP buffer or a failed chunk allocation is counted as lost by
     * the buffer itself; the allocation goes on regardless. */
    (void)evprof_log(b, evprof__context, h->tag, event,
                     (int64_t)(intptr_t)ptr, (int64_t)size);
}

static void *hook_malloc(void *ctx, size_t size)
{
    struct evprof_alloc_hook *h = ctx;
    evprof_buffer *b;
    void *p;

    if (!logging(h))
        return h->inner.malloc(h->inner.ctx, size);
    in_hook = 1;
    p = h->inner.malloc(h->inner.ctx, size);
    if (p != NULL && (b = record_begin(h)) != NULL) {
        record(h, b, EVPROF_MALLOC, p, size);
        record_end(h);
    }
    in_hook = 0;
    return p;
}

static void *hook_calloc(void *ctx, size_t nelem, size_t elsize)
{
    struct evprof_alloc_hook *h = ctx;
    evprof_buffer *b;
    void *p;

    if (!logging(h))
        return h->inner.calloc(h->inner.ctx, nelem, elsize);
    in_hook = 1;
    p = h->inner.calloc(h->inner.ctx, nelem, elsize);
    /* No overflow here: a block of nelem * elsize bytes exists. */
    if (p != NULL && (b = record_begin(h)) != NULL) {
        record(h, b, EVPROF_CALLOC, p, nelem * elsize);
        record_end(h);
    }
    in_hook = 0;
    return p;
}

static void *hook_realloc(void *ctx, void *ptr, size_t size)
{
    struct evprof_alloc_hook *h = ctx;
    evprof_buffer *b;
    void *p;

    if (!logging(h))
        return h->inner.realloc(h->inner.ctx, ptr, size);
    in_hook = 1;
    p = h->inner.realloc(h->inner.ctx, ptr, size);
    /* The old block is gone when the call succeeded, and also when a
     * realloc to size 0 freed it and returned NULL. */
    if (((ptr != NULL && (p != NULL || size == 0)) || p != NULL)
        && (b = record_begin(h)) != NULL) {
        if (ptr != NULL && (p != NULL || size == 0))
            record(h, b, EVPROF_REALLOC_FREE, ptr, 0);
        if (p != NULL)
            record(h, b, EVPROF_REALLOC, p, size);
        record_end(h);
    }
    in_hook = 0;
    return p;
}

static void hook_free(void *ctx, void *ptr)
{
    struct evprof_alloc_hook *h = ctx;
    evprof_buffer *b;

    if (!logging(h) || ptr == NULL) {
        h->inner.free(h->inner.ctx, ptr);
        return;
    }
    in_hook = 1;
    /* Logged before the block is given back: once freed, another thread may
     * get the same address and log its malloc first. */
    if ((b = record_begin(h)) != NULL) {
        record(h, b, EVPROF_FREE, ptr, 0);
        record_end(h);
    }
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
    h->inner = *inner;
    h->buffer = b;
    h->tag = tag;
    pthread_once(&atfork_once, atfork_register);
    pthread_mutex_lock(&all_lock);
    h->next_all = all_hooks;
    all_hooks = h;
    pthread_mutex_unlock(&all_lock);
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
    /* Each call counted here is logging one or two events: it ends soon,
     * whatever the inner allocator does (that call is not counted). */
    while (__atomic_load_n(&h->inflight, __ATOMIC_SEQ_CST) != 0)
        sched_yield();
    return 0;
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
    struct evprof_alloc_hook **p;

    if (h == NULL)
        return;
    pthread_mutex_lock(&all_lock);
    for (p = &all_hooks; *p != NULL; p = &(*p)->next_all)
        if (*p == h) {
            *p = h->next_all;
            break;
        }
    pthread_mutex_unlock(&all_lock);
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
