/*
 * native_malloc.c: the interposer of libevprof-malloc.so (evprof/native.h,
 * libevprof-malloc(3)).
 *
 * Each function forwards to the next definition (the C library's, or an
 * allocator preloaded after us) found with dlsym(RTLD_NEXT), then logs.
 * dlsym may itself call calloc or malloc before the functions are known:
 * those calls, on the thread that resolves, are served from a small
 * static arena that free() and realloc() recognise and never release.
 *
 * Nothing is logged while evprof__in_hook is set on the thread: inside a
 * hook of this library (the PyMem hooks of the Python package, whose
 * blocks are already logged in their own domain; the buffer's slow path
 * allocating a chunk; the instrument hooks) and while the real function
 * runs, so that an allocator that calls malloc for memalign logs once.
 */
#define _GNU_SOURCE 1
#include <config.h>

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "evprof.h"
#include "evprof/native.h"
#include "instrument-private.h"
#include "native-private.h"

#define API __attribute__((visibility("default"))) EVPROF_NOINSTR

typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void (*free_fn)(void *);
typedef void *(*memalign_fn)(size_t, size_t);
typedef int (*posix_memalign_fn)(void **, size_t, size_t);
typedef void *(*valloc_fn)(size_t);
typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);
typedef int (*munmap_fn)(void *, size_t);

static struct {
    malloc_fn malloc;
    calloc_fn calloc;
    realloc_fn realloc;
    free_fn free;
    memalign_fn memalign;
    memalign_fn aligned_alloc;
    posix_memalign_fn posix_memalign;
    valloc_fn valloc;
    valloc_fn pvalloc;
    mmap_fn mmap;
    munmap_fn munmap;
} real;

static int resolved;
static _Thread_local int resolving
    __attribute__((tls_model("initial-exec")));

/* ---- the bootstrap arena ---------------------------------------------- */

static unsigned char arena[64 * 1024] __attribute__((aligned(64)));
static size_t arena_used;

EVPROF_NOINSTR static void *arena_alloc(size_t size)
{
    size_t at, need = (size + 63) & ~(size_t)63;

    if (size > sizeof(arena))
        return NULL;
    at = __atomic_fetch_add(&arena_used, need, __ATOMIC_RELAXED);
    if (at + need > sizeof(arena))
        return NULL;
    return arena + at; /* static storage: already zero */
}

EVPROF_NOINSTR static int in_arena(const void *p)
{
    return (const unsigned char *)p >= arena
           && (const unsigned char *)p < arena + sizeof(arena);
}

#define FIND(name) \
    (__typeof__(real.name))dlsym(RTLD_NEXT, #name)

EVPROF_NOINSTR static void resolve(void)
{
    if (__atomic_load_n(&resolved, __ATOMIC_ACQUIRE))
        return;
    resolving = 1;
    /* Several threads may get here at once: each stores the same
     * values. */
    __atomic_store_n(&real.malloc, FIND(malloc), __ATOMIC_RELAXED);
    __atomic_store_n(&real.calloc, FIND(calloc), __ATOMIC_RELAXED);
    __atomic_store_n(&real.realloc, FIND(realloc), __ATOMIC_RELAXED);
    __atomic_store_n(&real.free, FIND(free), __ATOMIC_RELAXED);
    __atomic_store_n(&real.memalign, FIND(memalign), __ATOMIC_RELAXED);
    __atomic_store_n(&real.aligned_alloc, FIND(aligned_alloc),
                     __ATOMIC_RELAXED);
    __atomic_store_n(&real.posix_memalign, FIND(posix_memalign),
                     __ATOMIC_RELAXED);
    __atomic_store_n(&real.valloc, FIND(valloc), __ATOMIC_RELAXED);
    __atomic_store_n(&real.pvalloc, FIND(pvalloc), __ATOMIC_RELAXED);
    __atomic_store_n(&real.mmap, FIND(mmap), __ATOMIC_RELAXED);
    __atomic_store_n(&real.munmap, FIND(munmap), __ATOMIC_RELAXED);
    resolving = 0;
    if (real.malloc && real.calloc && real.realloc && real.free)
        __atomic_store_n(&resolved, 1, __ATOMIC_RELEASE);
}

/* The next definitions are usable: not while this thread resolves them. */
EVPROF_NOINSTR static int ready(void)
{
    if (EVPROF_LIKELY(__atomic_load_n(&resolved, __ATOMIC_ACQUIRE)))
        return 1;
    if (resolving)
        return 0;
    resolve();
    return __atomic_load_n(&resolved, __ATOMIC_ACQUIRE);
}

/* ---- logging ------------------------------------------------------------ */

/* Entered before the real call, so that what it calls is not logged;
 * returns whether this call logs. */
EVPROF_NOINSTR static inline int enter(void)
{
    if (evprof__in_hook)
        return 0;
    evprof__in_hook = 1;
    return 1;
}

/* Inline: a call of its own would save and restore six registers an
 * event. */
EVPROF_NOINSTR EVPROF_INLINE void leave(int mine, int64_t event,
                                        int64_t domain, const void *p,
                                        int64_t size)
{
    if (!mine)
        return;
    if (p != NULL)
        evprof__native_log(event, domain, (int64_t)(intptr_t)p, size);
    evprof__in_hook = 0;
}

/* ---- the malloc family -------------------------------------------------- */

API void *malloc(size_t size)
{
    int mine;
    void *p;

    if (EVPROF_UNLIKELY(!ready()))
        return arena_alloc(size);
    mine = enter();
    p = real.malloc(size);
    leave(mine, EVPROF_MALLOC, EVPROF_DOMAIN_NATIVE, p, (int64_t)size);
    return p;
}

API void *calloc(size_t nelem, size_t elsize)
{
    size_t size;
    int mine;
    void *p;

    if (__builtin_mul_overflow(nelem, elsize, &size)) {
        errno = ENOMEM;
        return NULL;
    }
    if (EVPROF_UNLIKELY(!ready()))
        return arena_alloc(size);
    mine = enter();
    p = real.calloc(nelem, elsize);
    leave(mine, EVPROF_CALLOC, EVPROF_DOMAIN_NATIVE, p, (int64_t)size);
    return p;
}

API void *realloc(void *old, size_t size)
{
    int mine;
    void *p;

    if (EVPROF_UNLIKELY(in_arena(old))) {
        /* A block of the arena moves to the real heap (or stays while the
         * functions are not known); its size is not known, only the room
         * after it. */
        size_t room = (size_t)(arena + sizeof(arena)
                               - (unsigned char *)old);

        if (!ready())
            return size <= room ? old : NULL;
        p = malloc(size);
        if (p != NULL)
            memcpy(p, old, size < room ? size : room);
        return p;
    }
    if (EVPROF_UNLIKELY(!ready()))
        return old == NULL ? arena_alloc(size) : NULL;
    mine = enter();
    p = real.realloc(old, size);
    if (mine && old != NULL && (p != NULL || size == 0))
        evprof__native_log(EVPROF_REALLOC_FREE, EVPROF_DOMAIN_NATIVE,
                           (int64_t)(intptr_t)old, 0);
    leave(mine, EVPROF_REALLOC, EVPROF_DOMAIN_NATIVE, p, (int64_t)size);
    return p;
}

API void free(void *p)
{
    int mine;

    if (p == NULL || EVPROF_UNLIKELY(in_arena(p)))
        return;
    if (EVPROF_UNLIKELY(!ready()))
        return; /* cannot happen: p came from a real function */
    mine = enter();
    real.free(p);
    leave(mine, EVPROF_FREE, EVPROF_DOMAIN_NATIVE, p, 0);
}

EVPROF_NOINSTR static void *aligned(memalign_fn fn, size_t align,
                                    size_t size)
{
    int mine;
    void *p;

    if (EVPROF_UNLIKELY(!ready()) || fn == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    mine = enter();
    p = fn(align, size);
    leave(mine, EVPROF_MALLOC, EVPROF_DOMAIN_NATIVE, p, (int64_t)size);
    return p;
}

API void *memalign(size_t align, size_t size)
{
    return aligned(ready() ? real.memalign : NULL, align, size);
}

API void *aligned_alloc(size_t align, size_t size)
{
    return aligned(ready() ? real.aligned_alloc : NULL, align, size);
}

API int posix_memalign(void **out, size_t align, size_t size)
{
    int mine, rc;

    if (EVPROF_UNLIKELY(!ready()) || real.posix_memalign == NULL)
        return ENOMEM;
    mine = enter();
    rc = real.posix_memalign(out, align, size);
    leave(mine, EVPROF_MALLOC, EVPROF_DOMAIN_NATIVE,
          rc == 0 ? *out : NULL, (int64_t)size);
    return rc;
}

EVPROF_NOINSTR static void *page_aligned(valloc_fn fn, size_t size)
{
    int mine;
    void *p;

    if (EVPROF_UNLIKELY(!ready()) || fn == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    mine = enter();
    p = fn(size);
    leave(mine, EVPROF_MALLOC, EVPROF_DOMAIN_NATIVE, p, (int64_t)size);
    return p;
}

API void *valloc(size_t size)
{
    return page_aligned(ready() ? real.valloc : NULL, size);
}

API void *pvalloc(size_t size)
{
    return page_aligned(ready() ? real.pvalloc : NULL, size);
}

/* ---- anonymous mappings ------------------------------------------------- */

API void *mmap(void *addr, size_t len, int prot, int flags, int fd,
               off_t off)
{
    int mine;
    void *p;

    if (EVPROF_UNLIKELY(!ready()) || real.mmap == NULL) {
        errno = ENOSYS;
        return MAP_FAILED;
    }
    if (!(flags & MAP_ANONYMOUS) || len < EVPROF_NATIVE_MMAP_MIN)
        return real.mmap(addr, len, prot, flags, fd, off);
    mine = enter();
    p = real.mmap(addr, len, prot, flags, fd, off);
    if (mine && p != MAP_FAILED && evprof__native_map_add(p, len) == 0)
        evprof__native_log(EVPROF_MALLOC, EVPROF_DOMAIN_MMAP,
                           (int64_t)(intptr_t)p, (int64_t)len);
    if (mine)
        evprof__in_hook = 0;
    return p;
}

API int munmap(void *addr, size_t len)
{
    size_t gone = 0;
    int mine, rc;

    if (EVPROF_UNLIKELY(!ready()) || real.munmap == NULL) {
        errno = ENOSYS;
        return -1;
    }
    mine = enter();
    rc = real.munmap(addr, len);
    if (mine && rc == 0 && (gone = evprof__native_map_remove(addr, len)) > 0)
        evprof__native_log(EVPROF_FREE, EVPROF_DOMAIN_MMAP,
                           (int64_t)(intptr_t)addr, -(int64_t)gone);
    if (mine)
        evprof__in_hook = 0;
    return rc;
}

/* Resolved before main, while the process has one thread. */
__attribute__((constructor)) EVPROF_NOINSTR static void init(void)
{
    resolve();
}
