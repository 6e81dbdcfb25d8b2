/*
 * _numpy.c: numpy's array data (NEP 49, numpy 1.22+), logged in domain
 * EVPROF_DOMAIN_NUMPY.
 *
 * numpy keeps the handler of each context in a ContextVar whose default is
 * its own default handler; every thread starts on that default, and each
 * array frees its data through the handler that allocated it.  Setting a
 * handler with PyDataMem_SetHandler would cover the calling context only,
 * so instead the functions of the default handler are wrapped in place:
 * every thread and context on the default is seen, the arrays made before
 * keep freeing through the same allocator (the wrappers chain to the
 * functions they replaced, with the same ctx), and stop puts the
 * functions back.  A context running a handler of the program's own is
 * not seen: numpy_install says so.
 *
 * numpy is never imported here: its C API table is taken from the module
 * already loaded, so a program without numpy pays nothing.  Its layout
 * (the table's slots, PyDataMem_Handler version 1) is numpy's ABI, stable
 * since 1.22.
 */
#include "_core.h"

#include <string.h>

#include "inflight-private.h"

/* PyDataMemAllocator and PyDataMem_Handler (numpy/ndarraytypes.h). */
typedef struct {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t new_size);
    void (*free)(void *ctx, void *ptr, size_t size);
} np_allocator;

typedef struct {
    char name[127];
    uint8_t version;
    np_allocator allocator;
} np_handler;

/* Slots of numpy's C API table (numpy/__multiarray_api.h). */
enum {
    API_FEATURE_VERSION = 211, /* PyArray_GetNDArrayCFeatureVersion */
    API_GET_HANDLER = 305,     /* PyDataMem_GetHandler */
    API_DEFAULT_HANDLER = 306  /* PyDataMem_DefaultHandler */
};
#define NPY_1_22_FEATURE 0x0000000f

static np_handler *patched;  /* numpy's default handler, while wrapped */
static np_allocator saved;   /* the functions it had; never cleared */
static Profiler *owner;      /* a reference, while wrapped */
static evprof_buffer *target; /* where events go; NULL: forward only */

/* Logs one event (and the free of `old` before it, when not NULL) into the
 * target, unless there is none since the first look; in flight meanwhile,
 * so that evp_numpy_remove can wait for it (inflight-private.h). */
static void np_log(int64_t event, const void *p, size_t size,
                   const void *old)
{
    struct evprof__inflight *f;
    evprof_buffer *b;

    if (__atomic_load_n(&target, __ATOMIC_RELAXED) == NULL)
        return;
    f = evprof__inflight_enter(1);
    b = __atomic_load_n(&target, __ATOMIC_ACQUIRE);
    if (b != NULL) {
        int64_t ctx = evprof_context_get();

        if (old != NULL)
            (void)evprof_log(b, ctx, EVPROF_DOMAIN_NUMPY,
                             EVPROF_REALLOC_FREE, (int64_t)(intptr_t)old, 0);
        (void)evprof_log(b, ctx, EVPROF_DOMAIN_NUMPY, event,
                         (int64_t)(intptr_t)p, (int64_t)size);
    }
    evprof__inflight_leave(f);
}

/* Inside another hook of the library (a PyMem hook, the native
 * interposer): forwarded, not logged; and what the wrapped function calls
 * is not logged either. */
static void *np_malloc(void *ctx, size_t size)
{
    void *p;

    if (evprof__in_hook)
        return saved.malloc(ctx, size);
    evprof__in_hook = 1;
    p = saved.malloc(ctx, size);
    if (p != NULL)
        np_log(EVPROF_MALLOC, p, size, NULL);
    evprof__in_hook = 0;
    return p;
}

static void *np_calloc(void *ctx, size_t nelem, size_t elsize)
{
    size_t size;
    void *p;

    if (evprof__in_hook)
        return saved.calloc(ctx, nelem, elsize);
    evprof__in_hook = 1;
    p = saved.calloc(ctx, nelem, elsize);
    if (p != NULL && !__builtin_mul_overflow(nelem, elsize, &size))
        np_log(EVPROF_CALLOC, p, size, NULL);
    evprof__in_hook = 0;
    return p;
}

static void *np_realloc(void *ctx, void *old, size_t size)
{
    void *p;

    if (evprof__in_hook)
        return saved.realloc(ctx, old, size);
    evprof__in_hook = 1;
    p = saved.realloc(ctx, old, size);
    if (p != NULL)
        np_log(EVPROF_REALLOC, p, size, old);
    evprof__in_hook = 0;
    return p;
}

static void np_free(void *ctx, void *p, size_t size)
{
    if (evprof__in_hook) {
        saved.free(ctx, p, size);
        return;
    }
    evprof__in_hook = 1;
    /* Size 0 as in the other domains: readers pair a free with its block
     * (a block made before the run has no size in the trace).  Logged
     * before the block is given back: once freed, another thread may get
     * the same address and log its malloc first. */
    if (p != NULL)
        np_log(EVPROF_FREE, p, 0, NULL);
    saved.free(ctx, p, size);
    evprof__in_hook = 0;
}

/* numpy's C API table, from the module already imported; NULL (and a
 * reason) when numpy is not there or too old. */
static void **api_table(const char **why)
{
    static const char *const names[] = {
        "numpy._core._multiarray_umath", "numpy.core._multiarray_umath"
    };
    PyObject *mod = NULL, *cap;
    void **api = NULL;
    size_t i;

    *why = "numpy is not imported";
    for (i = 0; i < sizeof(names) / sizeof(names[0]) && mod == NULL; i++) {
        PyObject *name = PyUnicode_FromString(names[i]);

        if (name == NULL)
            return NULL;
        mod = PyImport_GetModule(name);
        Py_DECREF(name);
        if (mod == NULL && PyErr_Occurred())
            return NULL;
    }
    if (mod == NULL)
        return NULL;
    cap = PyObject_GetAttrString(mod, "_ARRAY_API");
    Py_DECREF(mod);
    if (cap == NULL) {
        PyErr_Clear();
        *why = "numpy has no C API table (_ARRAY_API)";
        return NULL;
    }
    if (PyCapsule_CheckExact(cap))
        api = PyCapsule_GetPointer(cap, NULL);
    Py_DECREF(cap);
    if (api == NULL) {
        PyErr_Clear();
        *why = "numpy's _ARRAY_API is not a capsule";
        return NULL;
    }
    if (((unsigned (*)(void))api[API_FEATURE_VERSION])() < NPY_1_22_FEATURE) {
        *why = "numpy is older than 1.22 (no PyDataMem_Handler)";
        return NULL;
    }
    return api;
}

/*
 * Profiler.numpy_install(): wraps numpy's default handler for this
 * profiler.  None when done, else a str saying what is not seen (numpy
 * not imported, too old, another profiler has it, the calling context
 * runs a handler of its own).
 */
PyObject *evp_Profiler_numpy_install(Profiler *self, PyObject *noarg)
{
    PyObject *def, *cur;
    np_handler *h;
    const char *why;
    void **api;

    (void)noarg;
    if (self->buf == NULL)
        return PyUnicode_FromString("the profiler has no buffer");
    if (owner == self)
        Py_RETURN_NONE;
    if (owner != NULL)
        return PyUnicode_FromString("another profiler records numpy's "
                                    "allocations");
    if ((api = api_table(&why)) == NULL)
        return PyErr_Occurred() ? NULL : PyUnicode_FromString(why);
    def = *(PyObject **)api[API_DEFAULT_HANDLER];
    h = def != NULL ? PyCapsule_GetPointer(def, "mem_handler") : NULL;
    if (h == NULL || h->version != 1) {
        PyErr_Clear();
        return PyUnicode_FromString("numpy's default handler is not a "
                                    "version 1 PyDataMem_Handler");
    }
    if (patched == NULL) {
        saved = h->allocator;
        __atomic_store_n(&h->allocator.malloc, np_malloc, __ATOMIC_RELEASE);
        __atomic_store_n(&h->allocator.calloc, np_calloc, __ATOMIC_RELEASE);
        __atomic_store_n(&h->allocator.realloc, np_realloc,
                         __ATOMIC_RELEASE);
        __atomic_store_n(&h->allocator.free, np_free, __ATOMIC_RELEASE);
        patched = h;
    }
    Py_INCREF(self);
    owner = self;
    __atomic_store_n(&target, self->buf, __ATOMIC_SEQ_CST);
    cur = ((PyObject *(*)(void))api[API_GET_HANDLER])();
    if (cur == NULL)
        return NULL;
    if (cur != def) {
        const np_handler *mine = PyCapsule_GetPointer(cur, "mem_handler");
        PyObject *msg;

        PyErr_Clear();
        msg = PyUnicode_FromFormat("this context allocates numpy data "
                                   "with its own handler %.127s: not seen",
                                   mine ? mine->name : "?");
        Py_DECREF(cur);
        return msg;
    }
    Py_DECREF(cur);
    Py_RETURN_NONE;
}

/* Puts numpy's functions back (waiting for the wrappers still logging
 * into this profiler's buffer); nothing when this profiler has not got
 * them. */
void evp_numpy_remove(Profiler *self)
{
    if (owner != self || owner == NULL)
        return;
    __atomic_store_n(&target, NULL, __ATOMIC_SEQ_CST);
    if (patched != NULL) {
        __atomic_store_n(&patched->allocator.malloc, saved.malloc,
                         __ATOMIC_RELEASE);
        __atomic_store_n(&patched->allocator.calloc, saved.calloc,
                         __ATOMIC_RELEASE);
        __atomic_store_n(&patched->allocator.realloc, saved.realloc,
                         __ATOMIC_RELEASE);
        __atomic_store_n(&patched->allocator.free, saved.free,
                         __ATOMIC_RELEASE);
        patched = NULL;
    }
    /* A thread of numpy may allocate without the GIL: wait for any still
     * logging into the buffer (never for the allocator itself). */
    Py_BEGIN_ALLOW_THREADS
    (void)evprof__inflight_quiesce();
    Py_END_ALLOW_THREADS
    owner = NULL;
    Py_DECREF(self);
}

PyObject *evp_Profiler_numpy_remove(Profiler *self, PyObject *noarg)
{
    (void)noarg;
    evp_numpy_remove(self);
    Py_RETURN_NONE;
}

/* Profiler.numpy_owned(): whether numpy's allocations go to this one. */
PyObject *evp_Profiler_numpy_owned(Profiler *self, PyObject *noarg)
{
    (void)noarg;
    return PyBool_FromLong(owner == self);
}

/* In a forked child: numpy's functions stay wrapped, logging nowhere
 * until a profiler takes them (the parent's profiler is gone here). */
void evp_numpy_after_fork(void)
{
    __atomic_store_n(&target, NULL, __ATOMIC_SEQ_CST);
    owner = NULL; /* its reference is the child's copy: leaked on purpose */
}
