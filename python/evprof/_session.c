/*
 * _session.c: starting and stopping a profiler, each in one C call.
 *
 * A signal handler (KeyboardInterrupt, SIGALRM) runs Python code between
 * two bytecodes, never inside a C call that runs no Python code.  So
 * begin() and end() do every step of a start or a stop in one call: a
 * handler sees a profiler wholly started or wholly stopped, and an
 * exception it raises lands before or after, never in the middle.  The
 * Python layer keeps only bookkeeping around them, and abort(token) undoes
 * a begin() that returned just before an exception hit.  The only Python
 * code that can run inside is an audit hook (sys.setprofile's event); a
 * start or stop it would begin in turn is refused (`busy`).  The thread
 * states are _threads.c's.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <sched.h>

#include "_core.h"
#include "buffer-private.h"

/* Events of the thread's chunk begin() commits: the first, where the
 * start marker goes.  Its page is a huge page in a big chunk (2 MiB
 * zeroed by the kernel, hundreds of microseconds on a virtual machine):
 * committed before the marker's timestamp is taken, it is paid by
 * start() and not by the timeline, whose zero is then the caller's
 * next event.  The pages after are paid by the events that reach them. */
#define PREPARED_EVENTS 1

/* ---- methods ----------------------------------------------------------- */

/* The calling thread's record and first chunk, ready for its events. */
static int prepare(Profiler *self)
{
    if (evprof_buffer_prepare(self->buf, PREPARED_EVENTS) == -ENOMEM) {
        PyErr_Format(PyExc_MemoryError,
                     "cannot allocate a buffer chunk of size=%zu "
                     "events (%zu bytes each)", self->size,
                     sizeof(evprof_event));
        return -1;
    }
    return 0;
}

/*
 * Begin, end, install and restore: one at a time.  The same thread again
 * (an audit hook or a signal handler inside one of them) is refused; a
 * start or stop from another thread (no GIL on a free-threaded build, or
 * an audit hook that let the GIL go) waits for the one under way, with
 * its thread state let go.
 */
static int enter(Profiler *self)
{
    unsigned long me = PyThread_get_thread_ident(), cur = 0;

    while (!__atomic_compare_exchange_n(&self->busy, &cur, me, 0,
                                        __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
        if (cur == me) {
            PyErr_SetString(PyExc_RuntimeError,
                            "a start or stop of this profiler is already "
                            "under way (re-entered from an audit hook or a "
                            "signal handler)");
            return -1;
        }
        Py_BEGIN_ALLOW_THREADS
        sched_yield();
        Py_END_ALLOW_THREADS
        cur = 0;
    }
    return 0;
}

static void leave(Profiler *self)
{
    __atomic_store_n(&self->busy, 0, __ATOMIC_RELEASE);
}

/* save_profile(): remembers the calling thread's profile function, for a
 * profile function installed by hand (sys.setprofile) and taken out with
 * restore_profile(installed). */
PyObject *evp_Profiler_save_profile(Profiler *self, PyObject *noarg)
{
    struct drops d = {{NULL}, 0, NULL};

    (void)noarg;
    if (enter(self) != 0)
        return NULL;
    evp_save_current(self, &d);
    leave(self);
    evp_drop_now(&d);
    Py_RETURN_NONE;
}

PyObject *evp_Profiler_install(Profiler *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"all_threads", "installed", "thread_hook",
                             NULL};
    PyObject *installed = Py_None, *thread_hook = Py_None;
    struct drops d = {{NULL}, 0, NULL};
    int all = 0, rc;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|pOO:install", kwlist, &all,
                                     &installed, &thread_hook))
        return NULL;
    if (enter(self) != 0)
        return NULL;
    rc = evp_install(self, installed == Py_None ? NULL : installed,
                 thread_hook == Py_None ? NULL : thread_hook, all, &d);
    leave(self);
    evp_drop_now(&d);
    if (rc != 0)
        return NULL;
    Py_RETURN_NONE;
}

PyObject *evp_Profiler_restore_profile(Profiler *self, PyObject *args,
                                       PyObject *kw)
{
    static char *kwlist[] = {"installed", NULL};
    PyObject *installed = Py_None;
    struct drops d = {{NULL}, 0, NULL};
    int ours;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:restore_profile", kwlist,
                                     &installed))
        return NULL;
    if (enter(self) != 0)
        return NULL;
    if (installed != Py_None && self->installed == NULL) {
        /* Installed by hand (sys.setprofile) after save_profile(). */
        Py_INCREF(installed);
        self->installed = installed;
    }
    ours = evp_restore(self, &d);
    leave(self);
    evp_drop_now(&d);
    return PyBool_FromLong(ours);
}

/* begin(token, frame, installed=None, thread_hook=None, all_threads=False,
 * hooks=True) */
PyObject *evp_Profiler_begin(Profiler *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"token", "frame", "installed", "thread_hook",
                             "all_threads", "hooks", NULL};
    PyObject *token, *frame, *installed = Py_None, *thread_hook = Py_None;
    struct drops d = {{NULL}, 0, NULL};
    int all = 0, hooks = 1;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|OOpp:begin", kwlist,
                                     &token, &frame, &installed,
                                     &thread_hook, &all, &hooks))
        return NULL;
    if (frame != Py_None && !PyFrame_Check(frame)) {
        PyErr_SetString(PyExc_TypeError, "frame must be a frame or None");
        return NULL;
    }
    if (enter(self) != 0)
        return NULL;
    /* Looked at once no other thread can be starting it too. */
    if (self->token != NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "The profiler was already started. It cannot be "
                        "done again.");
        goto fail;
    }
    if (prepare(self) != 0)
        goto fail;
    self->forked = 0;
    evp_set_active(self, 1);
    (void)evp_log_marker(self, frame, EVPROF_PROFILER_START);
    if (hooks) {
        if (evp_memory_install(self) != 0)
            goto undo_marker;
        /* What installing allocates is not the program's. */
        int in = evprof__in_hook, rc;

        evprof__in_hook = 1;
        rc = evp_install(self, installed == Py_None ? NULL : installed,
                         thread_hook == Py_None ? NULL : thread_hook, all,
                         &d);
        evprof__in_hook = in;
        if (rc != 0) {
            evp_memory_uninstall(self);
            goto undo_marker;
        }
    }
    Py_INCREF(token);
    self->token = token;
    leave(self);
    evp_runs_began(self);
    evp_drop_now(&d);
    Py_RETURN_NONE;
undo_marker:
    /* A start marker is out: the failed run is closed, so that markers
     * stay paired in the timeline. */
    {
        saved_error e;

        error_save(&e);
        (void)evp_log_marker(self, frame, EVPROF_PROFILER_SORT);
        error_restore(&e);
    }
    evp_set_active(self, 0);
fail:
    leave(self);
    evp_drop_now(&d);
    return NULL;
}

/* The stop, in one step; the return value of end(). */
static PyObject *end(Profiler *self, PyObject *frame)
{
    struct drops d = {{NULL}, 0, NULL};
    int ours = 1;

    if (enter(self) != 0)
        return NULL;
    if (self->token == NULL) {
        /* Never started, or stopped meanwhile (by another thread). */
        leave(self);
        Py_RETURN_NONE;
    }
    if (self->saved || self->thread_hooked || self->mon_tool >= 0) {
        /* What restoring allocates is not the program's. */
        int in = evprof__in_hook;

        evprof__in_hook = 1;
        ours = evp_restore(self, &d);
        evprof__in_hook = in;
    }
    evp_memory_uninstall(self);
    evp_numpy_remove(self);
    evp_native_remove(self);
    if (evp_log_marker(self, frame, EVPROF_PROFILER_SORT) != 0)
        PyErr_Clear();
    evp_set_active(self, 0);
    /* The run's last events are in: what its chunk holds past them goes
     * back (a stream recycles its chunks instead). */
    if (evp_stream_of(self) == NULL)
        evprof__buffer_trim(self->buf);
    evp_drop_later(&d, self->token);
    self->token = NULL;
    leave(self);
    evp_runs_ended(self);
    evp_drop_now(&d);
    return PyBool_FromLong(ours);
}

PyObject *evp_Profiler_end(Profiler *self, PyObject *args)
{
    PyObject *frame = Py_None;

    if (!PyArg_ParseTuple(args, "|O:end", &frame))
        return NULL;
    if (frame != Py_None && !PyFrame_Check(frame))
        frame = Py_None;
    return end(self, frame);
}

PyObject *evp_Profiler_abort(Profiler *self, PyObject *token)
{
    PyObject *r;

    if (self->token == NULL || self->token != token
        || __atomic_load_n(&self->busy, __ATOMIC_ACQUIRE) != 0)
        Py_RETURN_FALSE;
    r = end(self, Py_None);
    if (r == NULL)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_TRUE;
}

/*
 * In a forked child (os.register_at_fork): the run stops, without a
 * marker, and what the parent had recorded is dropped: the child has a
 * copy nobody reads.  The next stop() is quiet, and a new run may start.
 */
PyObject *evp_Profiler_after_fork(Profiler *self, PyObject *noarg)
{
    struct drops d = {{NULL}, 0, NULL};
    PyThreadState *me = PyThreadState_Get();

    (void)noarg;
    if (self->token == NULL && !self->saved && !self->thread_hooked
        && self->mon_tool < 0 && self->stream == NULL)
        Py_RETURN_FALSE;
    evp_set_active(self, 0);
    /* Only this thread lives on: a lock that another held is free. */
    self->reg.lock = (evp_lock)EVP_LOCK_INIT;
    evp_monitoring_after_fork(self);
    /* Only the forking thread lives on: ours out of it, the saved
     * function back if it was the thread that started. */
    if (evp_is_ours(self, me)) {
        Py_tracefunc func = NULL;
        PyObject *obj = NULL;

        if (self->saved && self->saved_tstate == me
            && self->saved_thread_id == tstate_id(me)) {
            func = self->saved_func;
            obj = self->saved_obj;
        }
        evp_set_current(func, obj, &d);
    }
    evp_forget_install(self, &d);
    evp_memory_after_fork();
    evp_numpy_after_fork();
    evp_native_after_fork();
    if (self->stream != NULL) {
        evp_stream_forget(self->stream);
        EVP_STORE(&self->stream, NULL);
    }
    if (evp_reset(self) != 0)
        PyErr_Clear();
    evp_drop_later(&d, self->token);
    self->token = NULL;
    leave(self);
    evp_runs_ended(self);
    self->forked = 1;
    evp_drop_now(&d);
    Py_RETURN_TRUE;
}

/* The allocator hooks of whichever profiler had them, in a forked child:
 * also a profiler started without EventProfiler (the _profiling_* API). */
PyObject *evp_after_fork(PyObject *mod, PyObject *noarg)
{
    (void)mod;
    (void)noarg;
    evp_runs_after_fork();
    evp_memory_after_fork();
    evp_numpy_after_fork();
    evp_native_after_fork();
    Py_RETURN_NONE;
}

PyObject *evp_Profiler_take_forked(Profiler *self, PyObject *noarg)
{
    int f = self->forked;

    (void)noarg;
    self->forked = 0;
    return PyBool_FromLong(f);
}

/*
 * sys.getprofile() gives the Profiler itself while the C function is
 * installed; a program that saves it and hands it back to sys.setprofile
 * gets this: each event is logged, and the first puts the C function back
 * in the thread.
 */
PyObject *evp_Profiler_call(PyObject *obj, PyObject *args, PyObject *kw)
{
    Profiler *self = (Profiler *)obj;

    if (kw != NULL && PyDict_GET_SIZE(kw) != 0) {
        PyErr_SetString(PyExc_TypeError,
                        "the profile function takes no keyword arguments");
        return NULL;
    }
    if (evp_do_log(self, &PyTuple_GET_ITEM(args, 0),
                   PyTuple_GET_SIZE(args)) != 0)
        return NULL;
    if (evp_active(self) && self->token != NULL && self->installed == NULL)
        PyEval_SetProfile(evp_profile_callback, obj);
    Py_RETURN_NONE;
}

int evp_session_traverse(Profiler *self, visitproc visit, void *arg)
{
    Py_VISIT(self->saved_obj);
    Py_VISIT(self->installed);
    Py_VISIT(self->thread_hook);
    Py_VISIT(self->saved_thread_hook);
    Py_VISIT(self->token);
    return 0;
}

void evp_session_clear(Profiler *self)
{
    Py_CLEAR(self->saved_obj);
    Py_CLEAR(self->installed);
    Py_CLEAR(self->thread_hook);
    Py_CLEAR(self->saved_thread_hook);
    Py_CLEAR(self->token);
}
