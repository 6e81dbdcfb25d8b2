/*
 * evprof/hook.h: hooks that log into a buffer, included by <evprof.h>.
 *
 * The allocator hook wraps any malloc/calloc/realloc/free family that takes a
 * context pointer (evprof_allocator has the layout of CPython's
 * PyMemAllocatorEx), logs each call, and forwards it.
 */
#ifndef EVPROF_HOOK_H
#define EVPROF_HOOK_H 1

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An allocator family with a context pointer (as PyMemAllocatorEx). */
typedef struct evprof_allocator {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t new_size);
    void (*free)(void *ctx, void *ptr);
} evprof_allocator;

/* ---- the calling thread's context ------------------------------------ */

/*
 * A per-thread value that allocation events carry in id_frame: whoever knows
 * what the thread is running (the Python profile hook: the current code
 * object's key) sets it, so each allocation says who made it.  0 by default.
 */
/* A field of the thread's block (buffer.h). */
#define evprof__context (evprof__tls.context)

EVPROF_NOINSTR static inline void evprof_context_set(int64_t id)
{
    evprof__context = id;
}

EVPROF_NOINSTR static inline int64_t evprof_context_get(void)
{
    return evprof__context;
}

/* ---- allocator hook -------------------------------------------------- */

typedef struct evprof_alloc_hook evprof_alloc_hook;

/*
 * A hook that logs the calls of `inner` (copied) into `b`, each event with
 * id_frame = the thread's context, id_arg = `tag` (say, which family it is),
 * value1 = the pointer, value2 = the size:
 *   malloc/calloc/realloc: the new block and its size (calloc: nelem *
 *   elsize); realloc_free: the old block of a realloc that moved or freed
 *   it, size 0; free: the block, size 0.  Failed calls and free(NULL) are
 *   not logged.
 * Logging is off until evprof_alloc_hook_enable.  NULL with errno (EINVAL:
 * a NULL argument or function; ENOMEM) on failure.
 */
evprof_alloc_hook *evprof_alloc_hook_new(const evprof_allocator *inner,
                                         evprof_buffer *b, int64_t tag)
    EVPROF_WARN_UNUSED;

/*
 * Fills *out with the wrapping family (its ctx is the hook), to install
 * where `inner` was.  0, or -EINVAL.
 */
int evprof_alloc_hook_allocator(evprof_alloc_hook *h, evprof_allocator *out)
    EVPROF_WARN_UNUSED;

/* The family the hook forwards to (as given to evprof_alloc_hook_new). */
const evprof_allocator *evprof_alloc_hook_inner(const evprof_alloc_hook *h);

/*
 * Turns logging on (1) or off (0); forwarding never stops.  Returns the
 * previous state, or -EINVAL.  Safe while other threads allocate.
 */
int evprof_alloc_hook_enable(evprof_alloc_hook *h, int on);

/*
 * For families kept in an evprof_allocator variable (a program's own
 * allocator table): install saves nothing new (the hook already holds the
 * inner family), stores the wrapping family into *slot and turns logging
 * on; remove puts the inner family back into that slot and turns logging
 * off.  0, or -EINVAL (NULL), -EEXIST (already installed), -ESRCH (remove
 * of a hook not installed, e.g. removed twice).  The caller makes sure no
 * other thread reads *slot meanwhile.
 */
int evprof_alloc_hook_install(evprof_alloc_hook *h, evprof_allocator *slot)
    EVPROF_WARN_UNUSED;
int evprof_alloc_hook_remove(evprof_alloc_hook *h) EVPROF_WARN_UNUSED;

/*
 * Waits until no thread is logging through `h` any more: after it returns,
 * a call that found the hook on has finished its logging, and the buffer
 * it logged into may be freed (the hook was turned off first, with
 * evprof_alloc_hook_enable; calls that go on forward without logging).  It
 * waits for the logging of an event or two, never for the inner allocator.
 * 0, or -EINVAL (NULL), -EBUSY (logging still on), -EDEADLK (called from
 * inside a hook of this library on this thread).
 */
int evprof_alloc_hook_quiesce(evprof_alloc_hook *h);

/*
 * Makes a hook log into `b` from now on, so that a hook stays installed (or
 * reachable: other code may keep its family, as tracemalloc keeps the one
 * it wrapped) across the lifetimes of several buffers instead of being
 * freed.  Only while logging is off; it waits for the calls still logging
 * (evprof_alloc_hook_quiesce).  0, or -EINVAL (NULL), -EBUSY (on),
 * -EDEADLK (from inside a hook).
 */
int evprof_alloc_hook_set_buffer(evprof_alloc_hook *h, evprof_buffer *b)
    EVPROF_WARN_UNUSED;

/*
 * Frees the hook.  The caller must have uninstalled its family first and
 * know that no thread is still inside it.  NULL is allowed.
 */
void evprof_alloc_hook_free(evprof_alloc_hook *h);

/*
 * Nonzero while the calling thread is inside a hook of this library: a hook
 * re-entered then (the logging path allocating, one wrapped family calling
 * another) forwards without logging, so nothing recurses or counts twice.
 */
int evprof_hook_active(void);

/* ---- function hooks -------------------------------------------------- */

/* Internal: the flag behind evprof_hook_active (set while a hook runs),
 * in the thread's block (buffer.h). */
#define evprof__in_hook (evprof__tls.in_hook)

/*
 * Manual instrumentation: log that the calling thread enters (EVPROF_CALL)
 * or leaves (EVPROF_RETURN) function `fn`, called from `site` (either may
 * be any address or key), into b: id_frame = fn, id_arg = site,
 * value1 = the thread's context (evprof_context_get), value2 = 0.  Returns
 * what evprof_log returns; 0 without logging when called from inside
 * another hook (see evprof_hook_active).  -finstrument-functions programs
 * get these calls from the evprof-instrument library instead.
 */
EVPROF_NOINSTR static inline int evprof__hook_func(evprof_buffer *b,
    const void *fn, const void *site, int64_t event)
{
    int rc;

    if (evprof__in_hook)
        return 0;
    evprof__in_hook = 1;
    rc = evprof_log(b, (int64_t)(intptr_t)fn, (int64_t)(intptr_t)site,
                    event, evprof__context, 0);
    evprof__in_hook = 0;
    return rc;
}

EVPROF_NOINSTR static inline int evprof_hook_enter(evprof_buffer *b,
    const void *fn, const void *site)
{
    return evprof__hook_func(b, fn, site, EVPROF_CALL);
}

EVPROF_NOINSTR static inline int evprof_hook_exit(evprof_buffer *b,
    const void *fn, const void *site)
{
    return evprof__hook_func(b, fn, site, EVPROF_RETURN);
}

#ifdef __cplusplus
}
#endif

#endif /* EVPROF_HOOK_H */
