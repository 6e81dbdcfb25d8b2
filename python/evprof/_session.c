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
 * start or stop it would begin in turn is refused (`busy`).
 *
 * Other threads: their profile functions are set without running the
 * audit hooks (the event is raised once, by the calling thread, before any
 * thread state is looked at): a hook that released the GIL in the middle
 * of the walk would let a thread end and free its state under it.  From
 * 3.12 the interpreter's own PyEval_SetProfileAllThreads does the walk.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_core.h"

#if PY_VERSION_HEX >= 0x03090000 && PY_VERSION_HEX < 0x030C0000
# define QUIET_SET 1
#else
# define QUIET_SET 0
#endif
#if PY_VERSION_HEX >= 0x030C0000
# define ALL_THREADS_API 1
#else
# define ALL_THREADS_API 0
#endif
#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030E0000
# define PER_THREAD_SET 1    /* _PyEval_SetProfile, with its audit event */
#else
# define PER_THREAD_SET 0
#endif

/* Objects to drop once no thread state is held any more (a decref may run
 * arbitrary code).  Few: one a thread that had ours. */
struct drops {
    PyObject *v[16];
    int n;
    PyObject *list;   /* the overflow, or NULL */
};

static void drop_later(struct drops *d, PyObject *o)
{
    if (o == NULL)
        return;
    if (d->n < 16) {
        d->v[d->n++] = o;
        return;
    }
    if (d->list == NULL)
        d->list = PyList_New(0);
    if (d->list == NULL || PyList_Append(d->list, o) != 0) {
        /* Out of memory: leak one reference rather than run code here. */
        PyErr_Clear();
        return;
    }
    Py_DECREF(o); /* the list holds it now: no dealloc */
}

static void drop_now(struct drops *d)
{
    int i;

    for (i = 0; i < d->n; i++)
        Py_DECREF(d->v[i]);
    d->n = 0;
    Py_CLEAR(d->list);
}

/* Is the profile function of ts ours: the C function with self, or the
 * object given to sys.setprofile, or self reached through the trampoline
 * (sys.setprofile(sys.getprofile()) after the program saved ours), or the
 * thread hook in a thread that started and has had no event yet. */
static int is_ours(const Profiler *self, const PyThreadState *ts)
{
    PyObject *o = ts->c_profileobj;

    return o != NULL
        && (o == (PyObject *)self
            || (self->installed != NULL && o == self->installed)
            || (self->thread_hook != NULL && o == self->thread_hook));
}

#if QUIET_SET
/* Sets the profile function of ts as _PyEval_SetProfile does, but without
 * running the audit hooks; the old object goes to `d`. */
static void set_quiet(PyThreadState *ts, Py_tracefunc func, PyObject *obj,
                      struct drops *d)
{
    PyObject *old = ts->c_profileobj;

    Py_XINCREF(obj);
    ts->c_profilefunc = func;
    ts->c_profileobj = obj;
# if PY_VERSION_HEX >= 0x030B0000
    ts->cframe->use_tracing = (ts->tracing == 0
                               && (ts->c_tracefunc != NULL || func != NULL))
        ? 255 : 0;
# elif PY_VERSION_HEX >= 0x030A0000
    ts->cframe->use_tracing = func != NULL || ts->c_tracefunc != NULL;
# else
    ts->use_tracing = func != NULL || ts->c_tracefunc != NULL;
# endif
    drop_later(d, old);
}
#endif

#if QUIET_SET
/*
 * sys.setprofile's own C function, the trampoline that calls a Python
 * callable, learned once at import: with it, ours for impl 'python' and
 * 'pybind11' is set quietly too.  sys.setprofile holds a process-wide
 * flag while its audit hook runs; a thread starting meanwhile, whose
 * threading bootstrap calls sys.setprofile, dies with "Cannot install a
 * profile function while another profile function is being installed".
 */
static Py_tracefunc trampoline;
#endif

int evp_session_init(void)
{
#if QUIET_SET
    PyThreadState *ts = PyThreadState_Get();
    Py_tracefunc func = ts->c_profilefunc;
    PyObject *obj = ts->c_profileobj, *setprofile, *r;
    struct drops d = {{NULL}, 0, NULL};
    saved_error e;

    error_save(&e);
    Py_XINCREF(obj);
    setprofile = PySys_GetObject("setprofile");
    /* Any callable does: sys.setprofile itself.  No event is reported in
     * between: a C function called from C makes none. */
    r = setprofile != NULL
        ? PyObject_CallFunctionObjArgs(setprofile, setprofile, NULL) : NULL;
    if (r != NULL && ts->c_profileobj == setprofile)
        trampoline = ts->c_profilefunc;
    Py_XDECREF(r);
    PyErr_Clear();
    set_quiet(ts, func, obj, &d);
    Py_XDECREF(obj);
    drop_now(&d);
    error_restore(&e);
#endif
    return 0;
}

/* The thread state that saved a profiler, if it is still alive (a thread
 * that ended left a dangling pointer, perhaps reused by a new thread). */
static PyThreadState *saved_thread(const Profiler *self)
{
    PyThreadState *me = PyThreadState_Get(), *t;

    if (!self->saved)
        return me;
    for (t = PyInterpreterState_ThreadHead(tstate_interp(me)); t != NULL;
         t = PyThreadState_Next(t))
        if (t == self->saved_tstate && t->thread_id == self->saved_thread_id)
            return t;
    return NULL;
}

static void forget_saved(Profiler *self, struct drops *d)
{
    drop_later(d, self->saved_obj);
    self->saved_obj = NULL;
    self->saved_func = NULL;
    self->saved = 0;
    self->saved_tstate = NULL;
    self->saved_thread_id = 0;
}

/* ---- threading._profile_hook ------------------------------------------ */

/* Sets threading._profile_hook to `hook`, keeping the one it replaces;
 * 0 or -1. */
static int thread_hook_set(Profiler *self, PyObject *hook)
{
    PyObject *mods = PyImport_GetModuleDict(), *threading, *old;

    /* From sys.modules: the import machinery may run Python code. */
    threading = mods ? PyDict_GetItemString(mods, "threading") : NULL;
    if (threading != NULL)
        Py_INCREF(threading);
    else if ((threading = PyImport_ImportModule("threading")) == NULL)
        return -1;
    old = PyObject_GetAttrString(threading, "_profile_hook");
    if (old == NULL) {
        PyErr_Clear();
        old = Py_None;
        Py_INCREF(old);
    }
    if (PyObject_SetAttrString(threading, "_profile_hook", hook) != 0) {
        Py_DECREF(old);
        Py_DECREF(threading);
        return -1;
    }
    Py_DECREF(threading);
    Py_INCREF(hook);
    self->thread_hook = hook;
    self->saved_thread_hook = old;
    self->thread_hooked = 1;
    return 0;
}

/* Puts back what thread_hook_set replaced, unless the program set another
 * hook since. */
static void thread_hook_restore(Profiler *self, struct drops *d)
{
    PyObject *mods, *threading, *cur;

    if (!self->thread_hooked)
        return;
    mods = PyImport_GetModuleDict();
    threading = mods ? PyDict_GetItemString(mods, "threading") : NULL;
    if (threading != NULL) {
        cur = PyObject_GetAttrString(threading, "_profile_hook");
        if (cur == NULL)
            PyErr_Clear();
        else if (cur == self->thread_hook
                 && PyObject_SetAttrString(threading, "_profile_hook",
                                           self->saved_thread_hook) != 0)
            PyErr_Clear();
        drop_later(d, cur);
    }
    drop_later(d, self->thread_hook);
    drop_later(d, self->saved_thread_hook);
    self->thread_hook = self->saved_thread_hook = NULL;
    self->thread_hooked = 0;
}

/* ---- other threads ----------------------------------------------------- */

#if QUIET_SET
/* Ours into every other thread that has no profile function (the
 * profilers of other tools are never replaced). */
static void others_install(Profiler *self, struct drops *d)
{
    PyThreadState *me = PyThreadState_Get(), *ts;

    for (ts = PyInterpreterState_ThreadHead(tstate_interp(me)); ts != NULL;
         ts = PyThreadState_Next(ts))
        if (ts != me && ts->c_profilefunc == NULL)
            set_quiet(ts, evp_profile_callback, (PyObject *)self, d);
}
#endif

/* Ours out of every thread but `skip` (restored apart). */
static void others_remove(Profiler *self, PyThreadState *skip,
                          struct drops *d)
{
    PyThreadState *me = PyThreadState_Get(), *ts;
#if ALL_THREADS_API
    int foreign = 0, any = 0;

    for (ts = PyInterpreterState_ThreadHead(tstate_interp(me)); ts != NULL;
         ts = PyThreadState_Next(ts)) {
        if (is_ours(self, ts))
            any += ts != skip;
        else if (ts->c_profilefunc != NULL)
            foreign = 1;
    }
    if (!any)
        return;
    if (!foreign) {
        /* skip, if it has ours, is put back by the caller after this. */
        PyEval_SetProfileAllThreads(NULL, NULL);
        return;
    }
# if PER_THREAD_SET
    /* Another tool's profile function in some thread: ours removed one
     * thread at a time, each found again from the head (the audit event
     * of each call may let threads end). */
    for (;;) {
        for (ts = PyInterpreterState_ThreadHead(tstate_interp(me));
             ts != NULL; ts = PyThreadState_Next(ts))
            if (ts != skip && is_ours(self, ts))
                break;
        if (ts == NULL)
            break;
        if (_PyEval_SetProfile(ts, NULL, NULL) < 0) {
            PyErr_Clear();
            break;
        }
    }
# endif
    (void)d;
#elif QUIET_SET
    for (ts = PyInterpreterState_ThreadHead(tstate_interp(me)); ts != NULL;
         ts = PyThreadState_Next(ts))
        if (ts != skip && is_ours(self, ts))
            set_quiet(ts, NULL, NULL, d);
#else
    (void)self;
    (void)skip;
    (void)d;
    (void)me;
    (void)ts;
#endif
}

/* ---- install / restore -------------------------------------------------- */

static void save_current(Profiler *self, struct drops *d)
{
    PyThreadState *ts = PyThreadState_Get();

    forget_saved(self, d);
    self->saved = 1;
    self->saved_tstate = ts;
    self->saved_thread_id = ts->thread_id;
    self->saved_func = ts->c_profilefunc;
    self->saved_obj = ts->c_profileobj;
    Py_XINCREF(self->saved_obj);
}

/*
 * Saves the calling thread's profile function and installs ours: the C
 * function (installed == NULL, and in every other thread too when `all`),
 * or sys.setprofile(installed); and threading._profile_hook = thread_hook
 * when given.  0, or -1 with an exception and nothing changed.
 */
static int install(Profiler *self, PyObject *installed, PyObject *thread_hook,
                   int all, struct drops *d)
{
    PyThreadState *ts = PyThreadState_Get();

    if (self->saved) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the profile function is already installed");
        return -1;
    }
#if QUIET_SET
    /* Set without the audit hooks: the event once, here. */
    if ((installed == NULL || trampoline != NULL)
        && PySys_Audit("sys.setprofile", NULL) < 0)
        return -1;
#endif
    if (thread_hook != NULL && thread_hook_set(self, thread_hook) != 0)
        return -1;
    save_current(self, d);
    Py_XINCREF(installed);
    self->installed = installed;
#if QUIET_SET
    if (installed != NULL && trampoline != NULL) {
        set_quiet(ts, trampoline, installed, d);
    } else
#endif
    if (installed != NULL) {
        PyObject *setprofile = PySys_GetObject("setprofile"), *r;

        r = setprofile != NULL
            ? PyObject_CallFunctionObjArgs(setprofile, installed, NULL)
            : NULL;
        if (r == NULL && !PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "no sys.setprofile");
        Py_XDECREF(r);
    } else {
        self->all_threads = all;
#if QUIET_SET
        if (all)
            others_install(self, d);
        set_quiet(ts, evp_profile_callback, (PyObject *)self, d);
#elif ALL_THREADS_API
        if (all)
            PyEval_SetProfileAllThreads(evp_profile_callback,
                                        (PyObject *)self);
        else
            PyEval_SetProfile(evp_profile_callback, (PyObject *)self);
#else
        PyEval_SetProfile(evp_profile_callback, (PyObject *)self);
#endif
    }
    if (!PyErr_Occurred() && ts->c_profileobj
        != (installed != NULL ? installed : (PyObject *)self))
        /* An audit hook refused it (PyEval_SetProfile only reports that
         * as unraisable). */
        PyErr_SetString(PyExc_RuntimeError,
                        "the profile function could not be installed "
                        "(refused by an audit hook?)");
    if (PyErr_Occurred()) {
        saved_error e;

        /* Undone: the other threads, this one, the thread hook. */
        error_save(&e);
        others_remove(self, ts, d);
        if (is_ours(self, ts)) {
#if QUIET_SET
            set_quiet(ts, self->saved_func, self->saved_obj, d);
#else
            PyEval_SetProfile(self->saved_func, self->saved_obj);
            PyErr_Clear();
#endif
        }
        thread_hook_restore(self, d);
        forget_saved(self, d);
        drop_later(d, self->installed);
        self->installed = NULL;
        self->all_threads = 0;
        error_restore(&e);
        return -1;
    }
    return 0;
}

/*
 * Puts the saved profile function back in the thread that saved it (from
 * any thread: stop() from a worker, a __del__ run by the GC elsewhere),
 * where ours is still in place, removes ours from the other threads, and
 * threading's hook.  Never fails; returns whether ours was still in place
 * in the saving thread (a profile function that the program or another
 * tool put over ours is left alone).
 */
static int restore(Profiler *self, struct drops *d)
{
    PyThreadState *me = PyThreadState_Get(), *ts = saved_thread(self);
    int ours, gone = self->saved && ts == NULL;

    (void)me;
    ours = ts != NULL && is_ours(self, ts);
    others_remove(self, ts, d);
    if (ts != NULL && self->saved
        && (ours || (ts->c_profilefunc == NULL && self->saved_func != NULL))) {
        /* Also where nothing is left: ours removed because it raised, as
         * a Python profile function does at the recursion limit. */
#if QUIET_SET
        set_quiet(ts, self->saved_func, self->saved_obj, d);
#else
        if (ts == me)
            PyEval_SetProfile(self->saved_func, self->saved_obj);
        else {
# if PER_THREAD_SET
            if (_PyEval_SetProfile(ts, self->saved_func,
                                   self->saved_obj) < 0)
                PyErr_Clear();
# else
            ours = 0; /* cannot reach another thread's profiler here */
# endif
        }
        if (PyErr_Occurred())
            PyErr_Clear();
#endif
    }
    thread_hook_restore(self, d);
    forget_saved(self, d);
    drop_later(d, self->installed);
    self->installed = NULL;
    self->all_threads = 0;
    /* The thread that started has ended: nothing to put back there,
     * nothing was missed. */
    return gone ? 1 : ours;
}

/* ---- methods ----------------------------------------------------------- */

static int enter(Profiler *self)
{
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError,
                        "a start or stop of this profiler is already "
                        "under way (re-entered from an audit hook or a "
                        "signal handler)");
        return -1;
    }
    self->busy = 1;
    return 0;
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
    save_current(self, &d);
    self->busy = 0;
    drop_now(&d);
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
    rc = install(self, installed == Py_None ? NULL : installed,
                 thread_hook == Py_None ? NULL : thread_hook, all, &d);
    self->busy = 0;
    drop_now(&d);
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
    ours = restore(self, &d);
    self->busy = 0;
    drop_now(&d);
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
    if (self->token != NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "The profiler was already started. It cannot be "
                        "done again.");
        return NULL;
    }
    if (enter(self) != 0)
        return NULL;
    if (evp_prepare(self) != 0)
        goto fail;
    self->forked = 0;
    self->active = 1;
    (void)evp_log_marker(self, frame, EVPROF_PROFILER_START);
    if (hooks) {
        if (evp_memory_install(self) != 0)
            goto undo_marker;
        if (install(self, installed == Py_None ? NULL : installed,
                    thread_hook == Py_None ? NULL : thread_hook, all,
                    &d) != 0) {
            evp_memory_uninstall(self);
            goto undo_marker;
        }
    }
    Py_INCREF(token);
    self->token = token;
    self->busy = 0;
    drop_now(&d);
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
    self->active = 0;
fail:
    self->busy = 0;
    drop_now(&d);
    return NULL;
}

/* The stop, in one step; the return value of end(). */
static PyObject *end(Profiler *self, PyObject *frame)
{
    struct drops d = {{NULL}, 0, NULL};
    int ours = 1;

    if (self->token == NULL)
        Py_RETURN_NONE;
    if (enter(self) != 0)
        return NULL;
    if (self->saved || self->thread_hooked)
        ours = restore(self, &d);
    evp_memory_uninstall(self);
    if (evp_log_marker(self, frame, EVPROF_PROFILER_SORT) != 0)
        PyErr_Clear();
    self->active = 0;
    drop_later(&d, self->token);
    self->token = NULL;
    self->busy = 0;
    drop_now(&d);
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

    if (self->token == NULL || self->token != token || self->busy)
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
    if (self->token == NULL && !self->saved && !self->thread_hooked)
        Py_RETURN_FALSE;
    self->active = 0;
    /* Only the forking thread lives on: ours out of it, the saved
     * function back if it was the thread that started. */
    if (is_ours(self, me)) {
        Py_tracefunc func = NULL;
        PyObject *obj = NULL;

        if (self->saved && self->saved_tstate == me
            && self->saved_thread_id == me->thread_id) {
            func = self->saved_func;
            obj = self->saved_obj;
        }
#if QUIET_SET
        set_quiet(me, func, obj, &d);
#else
        PyEval_SetProfile(func, obj);
        if (PyErr_Occurred())
            PyErr_Clear();
#endif
    }
    thread_hook_restore(self, &d);
    forget_saved(self, &d);
    drop_later(&d, self->installed);
    self->installed = NULL;
    self->all_threads = 0;
    evp_memory_after_fork();
    if (evp_reset(self) != 0)
        PyErr_Clear();
    drop_later(&d, self->token);
    self->token = NULL;
    self->busy = 0;
    self->forked = 1;
    drop_now(&d);
    Py_RETURN_TRUE;
}

/* The allocator hooks of whichever profiler had them, in a forked child:
 * also a profiler started without EventProfiler (the _profiling_* API). */
PyObject *evp_after_fork(PyObject *mod, PyObject *noarg)
{
    (void)mod;
    (void)noarg;
    evp_memory_after_fork();
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
    if (self->active && self->token != NULL && self->installed == NULL)
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
