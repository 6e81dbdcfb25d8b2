/*
 * _native.c: native allocations (malloc, mmap, ...) from libevprof-malloc.so
 * when the interpreter runs with it preloaded (`evprof run --native`), into
 * the profiler's buffer, attributed to the Python function of the thread.
 *
 * The preloaded library has its own copy of libevprof, with its own
 * thread-local hook flag: it calls our sink with its flag set, and the
 * sink looks at ours, so that an allocation made through a PyMem or numpy
 * hook of this module (already logged in its domain) is not logged again.
 * The library is found with dlsym: nothing links against it.
 */
#include "_core.h"

#include <dlfcn.h>

#include "evprof/native.h"

typedef int (*attach_fn)(const evprof_native_sink *);
typedef int (*quiesce_fn)(void);

static Profiler *owner;      /* a reference, while attached */
/* The library's functions, found when attaching (dlsym allocates: not
 * again while the sink logs). */
static attach_fn attach_f;
static quiesce_fn quiesce_f;

static void native_log(void *ctx, int64_t event, int64_t domain,
                       int64_t ptr, int64_t size)
{
    Profiler *self = ctx;

    if (evprof_hook_active() || !__atomic_load_n(&self->active,
                                                 __ATOMIC_RELAXED))
        return;
    evprof__in_hook = 1;
    (void)evprof_log(self->buf, evprof_context_get(), domain, event, ptr,
                     size);
    evprof__in_hook = 0;
}

/*
 * Profiler.native_install(): takes the events of libevprof-malloc.so.
 * None when done, else a str saying why not (not preloaded, another
 * profiler has them).
 */
PyObject *evp_Profiler_native_install(Profiler *self, PyObject *noarg)
{
    attach_fn attach;
    evprof_native_sink sink;
    int rc;

    (void)noarg;
    if (owner == self)
        Py_RETURN_NONE;
    if (owner != NULL)
        return PyUnicode_FromString("another profiler records the native "
                                    "allocations");
    attach = (attach_fn)dlsym(RTLD_DEFAULT, "evprof_native_attach");
    quiesce_f = (quiesce_fn)dlsym(RTLD_DEFAULT, "evprof_native_quiesce");
    if (attach == NULL || quiesce_f == NULL)
        return PyUnicode_FromString("libevprof-malloc.so is not preloaded "
                                    "(evprof run --native preloads it)");
    attach_f = attach;
    sink.log = native_log;
    sink.ctx = self;
    rc = attach(&sink);
    if (rc == -EBUSY)
        return PyUnicode_FromString("another tool takes the native "
                                    "allocations of libevprof-malloc.so");
    if (rc < 0)
        return PyUnicode_FromString(evprof_strerror(rc));
    Py_INCREF(self);
    owner = self;
    Py_RETURN_NONE;
}

/* Detaches (waiting for the calls still in the sink); nothing when this
 * profiler has not got the native events. */
void evp_native_remove(Profiler *self)
{
    if (owner != self || owner == NULL)
        return;
    (void)attach_f(NULL);
    Py_BEGIN_ALLOW_THREADS
    (void)quiesce_f();
    Py_END_ALLOW_THREADS
    owner = NULL;
    Py_DECREF(self);
}

PyObject *evp_Profiler_native_remove(Profiler *self, PyObject *noarg)
{
    (void)noarg;
    evp_native_remove(self);
    Py_RETURN_NONE;
}

/* In a forked child: the parent's profiler is stopped here; the sink goes
 * (its reference is the child's copy, left). */
void evp_native_after_fork(void)
{
    if (owner == NULL)
        return;
    (void)attach_f(NULL);
    owner = NULL;
}
