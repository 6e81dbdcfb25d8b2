/*
 * _memory.c: the allocator hooks on the PyMem domains RAW, MEM and OBJ
 * (process-wide: one profiler at a time).  Pure C on the path of each
 * allocation: they never call into Python and need no GIL.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>

#include "_core.h"

static const PyMemAllocatorDomain domain_of[3] = {
    PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ
};

static struct {
    evprof_alloc_hook *hook;    /* installed and logging, or NULL */
    PyMemAllocatorEx saved;     /* put back at stop when ours is on top */
} mem[3];
static Profiler *mem_owner; /* atomic: read without the lock */
/* Install and removal, from any thread (no GIL on a free-threaded build):
 * one at a time. */
static evp_lock mem_lock = EVP_LOCK_INIT;

/*
 * Every hook ever installed, by domain.  None is ever freed: other code may
 * keep the family it wrapped (tracemalloc calls the raw family it found at
 * its last start even after it stopped, before it looks again), and a
 * thread without the GIL may still be inside one.  Instead a hook is reused
 * with the next profiler's buffer: the one found on top (left there, off,
 * by a stop under another hook, and put back when that one was removed),
 * or the one that wraps the same family.  So start/stop cycles, with or
 * without tracemalloc in between, neither grow the allocator chain nor
 * leak.  Plain malloc, as the registry.
 */
static struct {
    evprof_alloc_hook **v;
    size_t n, cap;
} pool[3];

/*
 * A domain called without the GIL (the raw domain always; every domain on
 * a free-threaded build, where there is no GIL) may be read by a thread
 * while PyMem_SetAllocator copies a new family over it, and that thread
 * may see the context of one family with a function of the other (a
 * segfault: our free with CPython's NULL context, mimalloc's on a
 * free-threaded build).  So ours goes there with the context it replaces,
 * unchanged, and functions of its own that ignore the context and call the
 * hook's: each thread sees, function by function, either the old function
 * with its own context or ours.  The family wrapped is called as it was
 * (on a free-threaded build the object domain is mimalloc, whose heaps the
 * garbage collector walks: wrapped, never replaced).  Each hook of such a
 * domain gets one of these slots for good (hooks are never freed).  With
 * the GIL, the domains MEM and OBJ are only called and changed under it:
 * the hook goes there directly, one call less an allocation.
 */
#ifdef Py_GIL_DISABLED
# define FIXED_DOMAINS 7
#else
# define FIXED_DOMAINS 1
#endif
#define fixed_ctx(d) ((FIXED_DOMAINS >> (d)) & 1)

#define SLOTS 24
static evprof_allocator slot[SLOTS]; /* the hook's wrapping family */
static int slots_used;

#define WRAPPERS(i)                                                         \
    static void *slot_malloc_##i(void *ctx, size_t n)                       \
    {                                                                       \
        (void)ctx;                                                          \
        return slot[i].malloc(slot[i].ctx, n);                              \
    }                                                                       \
    static void *slot_calloc_##i(void *ctx, size_t n, size_t e)             \
    {                                                                       \
        (void)ctx;                                                          \
        return slot[i].calloc(slot[i].ctx, n, e);                           \
    }                                                                       \
    static void *slot_realloc_##i(void *ctx, void *p, size_t n)             \
    {                                                                       \
        (void)ctx;                                                          \
        return slot[i].realloc(slot[i].ctx, p, n);                          \
    }                                                                       \
    static void slot_free_##i(void *ctx, void *p)                           \
    {                                                                       \
        (void)ctx;                                                          \
        slot[i].free(slot[i].ctx, p);                                       \
    }
WRAPPERS(0) WRAPPERS(1) WRAPPERS(2) WRAPPERS(3) WRAPPERS(4) WRAPPERS(5)
WRAPPERS(6) WRAPPERS(7) WRAPPERS(8) WRAPPERS(9) WRAPPERS(10) WRAPPERS(11)
WRAPPERS(12) WRAPPERS(13) WRAPPERS(14) WRAPPERS(15) WRAPPERS(16)
WRAPPERS(17) WRAPPERS(18) WRAPPERS(19) WRAPPERS(20) WRAPPERS(21)
WRAPPERS(22) WRAPPERS(23)

#define ENTRY(i) { slot_malloc_##i, slot_calloc_##i, slot_realloc_##i,       \
                   slot_free_##i }
static const struct {
    void *(*malloc)(void *, size_t);
    void *(*calloc)(void *, size_t, size_t);
    void *(*realloc)(void *, void *, size_t);
    void (*free)(void *, void *);
} slot_fns[SLOTS] = {
    ENTRY(0), ENTRY(1), ENTRY(2), ENTRY(3), ENTRY(4), ENTRY(5), ENTRY(6),
    ENTRY(7), ENTRY(8), ENTRY(9), ENTRY(10), ENTRY(11), ENTRY(12),
    ENTRY(13), ENTRY(14), ENTRY(15), ENTRY(16), ENTRY(17), ENTRY(18),
    ENTRY(19), ENTRY(20), ENTRY(21), ENTRY(22), ENTRY(23)
};

/* The slot of hook h (given one on first use), or -1 when all are taken. */
static int slot_of(evprof_alloc_hook *h)
{
    int i;

    for (i = 0; i < slots_used; i++)
        if (slot[i].ctx == (void *)h)
            return i;
    if (slots_used == SLOTS
        || evprof_alloc_hook_allocator(h, &slot[slots_used]) != 0)
        return -1;
    /* Written before any thread can reach the slot's functions. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    return slots_used++;
}

/* The hook of ours whose slot functions are the family `a`, or NULL. */
static evprof_alloc_hook *slot_on_top(const PyMemAllocatorEx *a)
{
    int i;

    for (i = 0; i < slots_used; i++)
        if (a->malloc == slot_fns[i].malloc)
            return (evprof_alloc_hook *)slot[i].ctx;
    return NULL;
}

static evprof_alloc_hook *pool_by_ctx(int d, void *ctx)
{
    size_t i;

    for (i = 0; i < pool[d].n; i++)
        if ((void *)pool[d].v[i] == ctx)
            return pool[d].v[i];
    return NULL;
}

static evprof_alloc_hook *pool_by_inner(int d, const PyMemAllocatorEx *a)
{
    size_t i;

    for (i = 0; i < pool[d].n; i++) {
        const evprof_allocator *in = evprof_alloc_hook_inner(pool[d].v[i]);

        if (in->ctx == a->ctx && in->malloc == a->malloc
            && in->calloc == a->calloc && in->realloc == a->realloc
            && in->free == a->free)
            return pool[d].v[i];
    }
    return NULL;
}

static int pool_add(int d, evprof_alloc_hook *h)
{
    if (pool[d].n == pool[d].cap) {
        size_t cap = pool[d].cap ? 2 * pool[d].cap : 4;
        evprof_alloc_hook **v = realloc(pool[d].v, cap * sizeof(*v));

        if (v == NULL)
            return -1;
        pool[d].v = v;
        pool[d].cap = cap;
    }
    pool[d].v[pool[d].n++] = h;
    return 0;
}

PyObject *evp_pool_count(PyObject *mod, PyObject *noarg)
{
    (void)mod;
    (void)noarg;
    return PyLong_FromSize_t(pool[0].n + pool[1].n + pool[2].n);
}

static void memory_undo(int upto)
{
    int d;

    for (d = upto - 1; d >= 0; d--) {
        PyMemAllocatorEx cur;

        if (mem[d].hook == NULL)
            continue;
        (void)evprof_alloc_hook_enable(mem[d].hook, 0);
        PyMem_GetAllocator(domain_of[d], &cur);
        if (fixed_ctx(d) ? slot_on_top(&cur) == mem[d].hook
                         : cur.ctx == (void *)mem[d].hook)
            PyMem_SetAllocator(domain_of[d], &mem[d].saved);
        /* else someone hooked over ours: ours stays, off, forwarding */
        /* A thread without the GIL may have found the
         * hook on just before: once this returns, none logs into the
         * buffer any more, and the profiler may free it. */
        (void)evprof_alloc_hook_quiesce(mem[d].hook);
        mem[d].hook = NULL;
    }
}

static int memory_install(Profiler *self)
{
    int d;

    if (self->domains == 0)
        return 0;
    if (mem_owner != NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "another profiler already hooks the allocators");
        return -1;
    }
    for (d = 0; d < 3; d++) {
        evprof_alloc_hook *h;
        PyMemAllocatorEx cur;
        int on_top = 0;

        if (!(self->domains & (1 << d)))
            continue;
        PyMem_GetAllocator(domain_of[d], &cur);
        h = fixed_ctx(d) ? slot_on_top(&cur) : pool_by_ctx(d, cur.ctx);
        if (h != NULL) {
            /* Ours, off, on top: turned on again where it is; its inner
             * family is what stop puts back. */
            const evprof_allocator *in = evprof_alloc_hook_inner(h);

            mem[d].saved.ctx = in->ctx;
            mem[d].saved.malloc = in->malloc;
            mem[d].saved.calloc = in->calloc;
            mem[d].saved.realloc = in->realloc;
            mem[d].saved.free = in->free;
            on_top = 1;
        } else {
            mem[d].saved = cur;
            h = pool_by_inner(d, &cur);
            if (h == NULL) {
                evprof_allocator inner;

                inner.ctx = cur.ctx;
                inner.malloc = cur.malloc;
                inner.calloc = cur.calloc;
                inner.realloc = cur.realloc;
                inner.free = cur.free;
                h = evprof_alloc_hook_new(&inner, self->buf, d);
                if (h == NULL || pool_add(d, h) != 0) {
                    evprof_alloc_hook_free(h);
                    PyErr_NoMemory();
                    memory_undo(d);
                    return -1;
                }
            }
        }
        if (evprof_alloc_hook_set_buffer(h, self->buf) != 0) {
            PyErr_SetString(PyExc_RuntimeError,
                            "an allocator hook of evprof is still logging");
            memory_undo(d);
            return -1;
        }
        if (!on_top) {
            evprof_allocator wrap;
            PyMemAllocatorEx a;

            if (evprof_alloc_hook_allocator(h, &wrap) != 0) {
                PyErr_SetString(PyExc_SystemError, "no allocator hook");
                memory_undo(d);
                return -1;
            }
            a.ctx = wrap.ctx;
            a.malloc = wrap.malloc;
            a.calloc = wrap.calloc;
            a.realloc = wrap.realloc;
            a.free = wrap.free;
            if (fixed_ctx(d)) {
                int i = slot_of(h);

                if (i < 0) {
                    PyErr_SetString(PyExc_RuntimeError,
                                    "too many allocator hooks (tracemalloc "
                                    "or another tool hooked the allocators "
                                    "many times)");
                    memory_undo(d);
                    return -1;
                }
                a.ctx = cur.ctx;
                a.malloc = slot_fns[i].malloc;
                a.calloc = slot_fns[i].calloc;
                a.realloc = slot_fns[i].realloc;
                a.free = slot_fns[i].free;
            }
            PyMem_SetAllocator(domain_of[d], &a);
        }
        (void)evprof_alloc_hook_enable(h, 1);
        mem[d].hook = h;
    }
    Py_INCREF(self);
    EVP_STORE(&mem_owner, self);
    return 0;
}

int evp_memory_install(Profiler *self)
{
    int r;

    evp_lock_take(&mem_lock);
    r = memory_install(self);
    evp_lock_give(&mem_lock);
    return r;
}

void evp_memory_uninstall(Profiler *self)
{
    int ours;

    evp_lock_take(&mem_lock);
    ours = mem_owner == self;
    if (ours) {
        memory_undo(3);
        EVP_STORE(&mem_owner, NULL);
    }
    evp_lock_give(&mem_lock);
    /* Its reference, dropped without the lock (a dealloc runs code). */
    if (ours)
        Py_DECREF(self);
}

int evp_memory_owned(const Profiler *self)
{
    return EVP_LOAD(&mem_owner) == self;
}

/* In a forked child: the parent's profiler stops logging allocations
 * (the counts of threads that were inside a hook are dropped by the
 * library at fork, so nothing waits). */
void evp_memory_after_fork(void)
{
    Profiler *owner = mem_owner;

    /* The lock may have been held by a thread that the child lacks. */
    mem_lock = (evp_lock)EVP_LOCK_INIT;
    if (owner == NULL)
        return;
    memory_undo(3);
    EVP_STORE(&mem_owner, NULL);
    Py_DECREF(owner);
}

PyObject *evp_memory_hooked(PyObject *mod, PyObject *noarg)
{
    (void)mod;
    (void)noarg;
    return PyBool_FromLong(EVP_LOAD(&mem_owner) != NULL);
}
