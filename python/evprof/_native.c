/*
 * _native.c: native allocations (malloc, mmap, ...) from libevprof-malloc.so
 * when the interpreter runs with it preloaded (`evprof run --native`), into
 * the profiler's buffer, attributed to the Python function of the thread.
 *
 * The preloaded library has its own copy of libevprof.  It is given our
 * buffer (evprof_native_attach_buffer) and writes into it itself, with
 * our thread-local chunk cache, clock and context, unless our hook flag
 * is set on the thread (an allocation made through a PyMem or numpy hook
 * of this module, already logged in its domain) or the profiler is not
 * active.  A library without that entry point gets a function sink doing
 * the same by a call.  The library is found with dlsym: nothing links
 * against it.
 */
#include "_core.h"

#include <dlfcn.h>

#include "evprof/native.h"

typedef int (*attach_fn)(const evprof_native_sink *);
typedef int (*attach_buffer_fn)(const evprof_native_buffer_sink *);
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

    /* The library's own flag is set while it calls us: what the slow
     * path of evprof_log allocates is not logged. */
    if (evprof__in_hook || !evp_active(self))
        return;
    (void)evprof_log(self->buf, evprof_context_get(), domain, event, ptr,
                     size);
}

/*
 * Profiler.native_install(): takes the events of libevprof-malloc.so.
 * None when done, else a str saying why not (not preloaded, another
 * profiler has them).
 */
PyObject *evp_Profiler_native_install(Profiler *self, PyObject *noarg)
{
    attach_fn attach;
    attach_buffer_fn attach_buffer;
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
    attach_buffer = (attach_buffer_fn)dlsym(RTLD_DEFAULT,
                                            "evprof_native_attach_buffer");
    rc = -EINVAL;
    if (attach_buffer != NULL) {
        evprof_native_buffer_sink bs;

        evprof_native_buffer_sink_init(&bs, self->buf, &self->active);
        rc = attach_buffer(&bs);
    }
    if (rc == -EINVAL) {
        /* An older library, or one built for another layout. */
        evprof_native_sink sink;

        sink.log = native_log;
        sink.ctx = self;
        rc = attach(&sink);
    }
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
