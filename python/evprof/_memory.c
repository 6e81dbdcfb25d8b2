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
static Profiler *mem_owner;

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
 * The raw domain is called without the GIL, so a thread may read the
 * domain's family while PyMem_SetAllocator copies a new one over it, and
 * see the context of one family with a function of the other (a
 * segfault: our free with CPython's NULL context).  So ours goes there
 * with the context it replaces, unchanged, and functions of its own that
 * ignore the context: each thread sees, function by function, either the
 * old function with its own context or ours.  Each hook of the raw domain
 * gets one of these slots for good (hooks are never freed).
 */
#define RAW_SLOTS 8
static evprof_allocator raw_slot[RAW_SLOTS]; /* the hook's wrapping family */
static int raw_slots_used;

#define RAW_WRAPPERS(i)                                                     \
    static void *raw_malloc_##i(void *ctx, size_t n)                        \
    {                                                                       \
        (void)ctx;                                                          \
        return raw_slot[i].malloc(raw_slot[i].ctx, n);                      \
    }                                                                       \
    static void *raw_calloc_##i(void *ctx, size_t n, size_t e)              \
    {                                                                       \
        (void)ctx;                                                          \
        return raw_slot[i].calloc(raw_slot[i].ctx, n, e);                   \
    }                                                                       \
    static void *raw_realloc_##i(void *ctx, void *p, size_t n)              \
    {                                                                       \
        (void)ctx;                                                          \
        return raw_slot[i].realloc(raw_slot[i].ctx, p, n);                  \
    }                                                                       \
    static void raw_free_##i(void *ctx, void *p)                            \
    {                                                                       \
        (void)ctx;                                                          \
        raw_slot[i].free(raw_slot[i].ctx, p);                               \
    }
RAW_WRAPPERS(0) RAW_WRAPPERS(1) RAW_WRAPPERS(2) RAW_WRAPPERS(3)
RAW_WRAPPERS(4) RAW_WRAPPERS(5) RAW_WRAPPERS(6) RAW_WRAPPERS(7)

#define RAW_ENTRY(i) { raw_malloc_##i, raw_calloc_##i, raw_realloc_##i,      \
                       raw_free_##i }
static const struct {
    void *(*malloc)(void *, size_t);
    void *(*calloc)(void *, size_t, size_t);
    void *(*realloc)(void *, void *, size_t);
    void (*free)(void *, void *);
} raw_fns[RAW_SLOTS] = {
    RAW_ENTRY(0), RAW_ENTRY(1), RAW_ENTRY(2), RAW_ENTRY(3),
    RAW_ENTRY(4), RAW_ENTRY(5), RAW_ENTRY(6), RAW_ENTRY(7)
};

/* The slot of hook h (given one on first use), or -1 when all are taken. */
static int raw_slot_of(evprof_alloc_hook *h)
{
    int i;

    for (i = 0; i < raw_slots_used; i++)
        if (raw_slot[i].ctx == (void *)h)
            return i;
    if (raw_slots_used == RAW_SLOTS
        || evprof_alloc_hook_allocator(h, &raw_slot[raw_slots_used]) != 0)
        return -1;
    /* Written before any thread can reach the slot's functions. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    return raw_slots_used++;
}

/* The hook of ours whose functions are the raw family `a`, or NULL. */
static evprof_alloc_hook *raw_on_top(const PyMemAllocatorEx *a)
{
    int i;

    for (i = 0; i < raw_slots_used; i++)
        if (a->malloc == raw_fns[i].malloc)
            return (evprof_alloc_hook *)raw_slot[i].ctx;
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
        if (d == 0 ? raw_on_top(&cur) == mem[d].hook
                   : cur.ctx == (void *)mem[d].hook)
            PyMem_SetAllocator(domain_of[d], &mem[d].saved);
        /* else someone hooked over ours: ours stays, off, forwarding */
        /* A thread without the GIL (the raw domain) may have found the
         * hook on just before: once this returns, none logs into the
         * buffer any more, and the profiler may free it. */
        (void)evprof_alloc_hook_quiesce(mem[d].hook);
        mem[d].hook = NULL;
    }
}

int evp_memory_install(Profiler *self)
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
        h = d == 0 ? raw_on_top(&cur) : pool_by_ctx(d, cur.ctx);
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
            if (d == 0) {
                int i = raw_slot_of(h);

                if (i < 0) {
                    PyErr_SetString(PyExc_RuntimeError,
                                    "too many allocator hooks on the raw "
                                    "domain (tracemalloc or another tool "
                                    "hooked it many times)");
                    memory_undo(d);
                    return -1;
                }
                a.ctx = cur.ctx;
                a.malloc = raw_fns[i].malloc;
                a.calloc = raw_fns[i].calloc;
                a.realloc = raw_fns[i].realloc;
                a.free = raw_fns[i].free;
            }
            PyMem_SetAllocator(domain_of[d], &a);
        }
        (void)evprof_alloc_hook_enable(h, 1);
        mem[d].hook = h;
    }
    mem_owner = self;
    Py_INCREF(self);
    return 0;
}

void evp_memory_uninstall(Profiler *self)
{
    if (mem_owner != self)
        return;
    memory_undo(3);
    mem_owner = NULL;
    Py_DECREF(self);
}


int evp_memory_owned(const Profiler *self)
{
    return mem_owner == self;
}

/* In a forked child: the parent's profiler stops logging allocations
 * (the counts of threads that were inside a hook are dropped by the
 * library at fork, so nothing waits). */
void evp_memory_after_fork(void)
{
    Profiler *owner = mem_owner;

    if (owner == NULL)
        return;
    memory_undo(3);
    mem_owner = NULL;
    Py_DECREF(owner);
}

PyObject *evp_memory_hooked(PyObject *mod, PyObject *noarg)
{
    (void)mod;
    (void)noarg;
    return PyBool_FromLong(mem_owner != NULL);
}
