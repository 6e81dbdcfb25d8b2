/*
 * _threads.c: our profile function in the thread states of the
 * interpreter: installed in the calling thread (and the others, and
 * threading's hook for new ones), put back as it was, from any thread.
 *
 * Other threads: their profile functions are set without running the
 * audit hooks (the event is raised once, by the calling thread, before any
 * thread state is looked at): a hook that released the GIL in the middle
 * of the walk would let a thread end and free its state under it.  From
 * 3.12 the interpreter's own PyEval_SetProfileAllThreads does the walk.
 * Nothing here runs Python code while it holds a thread state but an
 * audit hook where the interpreter's setters run one; objects that lose
 * their last reference are dropped once no thread state is held.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_core.h"

/*
 * Walks of the interpreter's thread list: with the GIL, no thread state
 * is added or freed while one runs (nothing in them lets it go); on a
 * free-threaded build threads start and end meanwhile, so a walk holds the
 * runtime's own lock of that list, as the interpreter's walks do (it has
 * no public name: the internal header, read only).  Nothing is called
 * with it held that could take it again (a setter of profile functions
 * stops the world, which takes it): what a walk finds is acted on after
 * it.  A thread state found so is used just after the lock is let go; a
 * thread ending in exactly that window (only when another tool's profile
 * function is in some thread, or when stop() runs on another thread than
 * start()) is the one case this cannot rule out without the interpreter's
 * private setters.
 */
#ifdef Py_GIL_DISABLED
# define Py_BUILD_CORE 1
# include "internal/pycore_lock.h"
# include "internal/pycore_runtime.h"
# include "internal/pycore_pystate.h"
# undef Py_BUILD_CORE
# define WALK_LOCK() HEAD_LOCK(&_PyRuntime)
# define WALK_UNLOCK() HEAD_UNLOCK(&_PyRuntime)
#else
# define WALK_LOCK() ((void)0)
# define WALK_UNLOCK() ((void)0)
#endif

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
#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030F0000
# define PER_THREAD_SET 1    /* _PyEval_SetProfile, with its audit event */
#else
# define PER_THREAD_SET 0
#endif

void evp_drop_later(struct drops *d, PyObject *o)
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

void evp_drop_now(struct drops *d)
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
int evp_is_ours(const Profiler *self, const PyThreadState *ts)
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
    evp_drop_later(d, old);
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

int evp_threads_init(void)
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
    evp_drop_now(&d);
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
    WALK_LOCK();
    for (t = PyInterpreterState_ThreadHead(tstate_interp(me)); t != NULL;
         t = PyThreadState_Next(t))
        if (t == self->saved_tstate && tstate_id(t) == self->saved_thread_id)
            break;
    WALK_UNLOCK();
    return t;
}

void evp_forget_saved(Profiler *self, struct drops *d)
{
    evp_drop_later(d, self->saved_obj);
    self->saved_obj = NULL;
    self->saved_func = NULL;
    self->saved = 0;
    self->saved_tstate = NULL;
    self->saved_thread_id = 0;
}

/* What install() did, forgotten once undone: threading's hook put back,
 * the saved function, what sys.setprofile got. */
void evp_forget_install(Profiler *self, struct drops *d)
{
    evp_thread_hook_restore(self, d);
    evp_forget_saved(self, d);
    evp_drop_later(d, self->installed);
    self->installed = NULL;
    self->all_threads = 0;
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
void evp_thread_hook_restore(Profiler *self, struct drops *d)
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
        evp_drop_later(d, cur);
    }
    evp_drop_later(d, self->thread_hook);
    evp_drop_later(d, self->saved_thread_hook);
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

    WALK_LOCK();
    for (ts = PyInterpreterState_ThreadHead(tstate_interp(me)); ts != NULL;
         ts = PyThreadState_Next(ts)) {
        if (evp_is_ours(self, ts))
            any += ts != skip;
        else if (ts->c_profilefunc != NULL)
            foreign = 1;
    }
    WALK_UNLOCK();
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
        WALK_LOCK();
        for (ts = PyInterpreterState_ThreadHead(tstate_interp(me));
             ts != NULL; ts = PyThreadState_Next(ts))
            if (ts != skip && evp_is_ours(self, ts))
                break;
        WALK_UNLOCK();
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
        if (ts != skip && evp_is_ours(self, ts))
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

void evp_save_current(Profiler *self, struct drops *d)
{
    PyThreadState *ts = PyThreadState_Get();

    evp_forget_saved(self, d);
    self->saved = 1;
    self->saved_tstate = ts;
    self->saved_thread_id = tstate_id(ts);
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
int evp_install(Profiler *self, PyObject *installed, PyObject *thread_hook,
                   int all, struct drops *d)
{
    PyThreadState *ts = PyThreadState_Get();

    if (self->saved || self->mon_tool >= 0) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the profile function is already installed");
        return -1;
    }
    if (installed == NULL && self->backend == EVP_BACKEND_MONITORING) {
        /* Callbacks of sys.monitoring: they see every thread, those that
         * start later too, so no thread hook. */
        (void)thread_hook;
        (void)d;
        return evp_monitoring_start(self, all);
    }
#if QUIET_SET
    /* Set without the audit hooks: the event once, here. */
    if ((installed == NULL || trampoline != NULL)
        && PySys_Audit("sys.setprofile", NULL) < 0)
        return -1;
#endif
    if (thread_hook != NULL && thread_hook_set(self, thread_hook) != 0)
        return -1;
    evp_save_current(self, d);
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
        if (evp_is_ours(self, ts)) {
#if QUIET_SET
            set_quiet(ts, self->saved_func, self->saved_obj, d);
#else
            PyEval_SetProfile(self->saved_func, self->saved_obj);
            PyErr_Clear();
#endif
        }
        evp_forget_install(self, d);
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
int evp_restore(Profiler *self, struct drops *d)
{
    PyThreadState *me = PyThreadState_Get(), *ts;
    int ours, gone;

    if (self->mon_tool >= 0) {
        ours = evp_monitoring_stop(self);
        evp_forget_install(self, d);
        return ours;
    }
    ts = saved_thread(self);
    gone = self->saved && ts == NULL;
    (void)me;
    ours = ts != NULL && evp_is_ours(self, ts);
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
    evp_forget_install(self, d);
    /* The thread that started has ended: nothing to put back there,
     * nothing was missed. */
    return gone ? 1 : ours;
}


/* Sets the calling thread's profile function (after fork, where it is
 * the only thread). */
void evp_set_current(Py_tracefunc func, PyObject *obj, struct drops *d)
{
#if QUIET_SET
    set_quiet(PyThreadState_Get(), func, obj, d);
#else
    (void)d;
    PyEval_SetProfile(func, obj);
    if (PyErr_Occurred())
        PyErr_Clear();
#endif
}
