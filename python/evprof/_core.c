/*
 * _core.c: the C half of the evprof Python package.
 *
 * One type, evprof._core.Profiler, owns an evprof_buffer (the C library's
 * lock-free per-thread buffer), a registry of the code objects and builtin
 * callables seen in events (one strong reference each, never a frame), and
 * the profile hooks:
 *
 *   - evp_profile_callback(), a Py_tracefunc installed with PyEval_SetProfile
 *     (impl='c'), also reached through the C method c_log_event given to
 *     sys.setprofile (impl='pybind11') or called from a Python log_event
 *     (impl='python'): all three log exactly the same events;
 *   - evprof_alloc_hook on the PyMem domains RAW, MEM and OBJ: pure C, it
 *     never calls into Python and needs no GIL.
 *
 * Per event (six int64 columns, see evprof.h):
 *   call/return/exception: id_frame = key of the code, id_arg = key of the
 *     caller's code (0: none), value1 = the caller's instruction offset;
 *   c_call/c_return/c_exception: id_frame = key of the builtin, id_arg = key
 *     of the calling code, value1 = its instruction offset;
 *   memory: id_frame = key of the code running on the thread (the thread's
 *     evprof context), id_arg = domain (0 raw, 1 mem, 2 obj), value1 = the
 *     block, value2 = its size.
 * Lines are resolved from (code, offset) at report time, in Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_core.h"
#include "_writer.h"
#include "inflight-private.h"

/* The key of a code object, registered on first sight. */
static inline int64_t code_key(Profiler *self, PyCodeObject *code)
{
    int64_t k = reg_find(&self->reg, (uintptr_t)code);

    if (EVPROF_LIKELY(k != 0))
        return k;
    Py_INCREF(code);
    k = reg_add(&self->reg, (uintptr_t)code, (PyObject *)code);
    if (k != 0 && self->stream != NULL)
        evp_stream_note(self->stream, k, (PyObject *)code);
    return k;
}

/* The key of a code object, for the other files of the extension. */
int64_t evp_code_key(Profiler *self, PyCodeObject *code)
{
    return code_key(self, code);
}

/* (qualname, module) of a callable, as the seed's _choose/_choose_mod. */
static PyObject *describe(PyObject *fn)
{
    PyObject *name, *mod, *t;

    name = PyObject_GetAttrString(fn, "__qualname__");
    if (name == NULL) {
        PyErr_Clear();
        name = PyUnicode_FromString(Py_TYPE(fn)->tp_name);
    }
    mod = PyObject_GetAttrString(fn, "__module__");
    if (mod == NULL) {
        PyErr_Clear();
        mod = PyObject_GetAttrString((PyObject *)Py_TYPE(fn), "__module__");
        if (mod == NULL) {
            PyErr_Clear();
            mod = Py_None;
            Py_INCREF(mod);
        }
    }
    if (name == NULL) {
        PyErr_Clear();
        Py_DECREF(mod);
        return NULL;
    }
    t = PyTuple_Pack(2, name, mod);
    Py_DECREF(name);
    Py_DECREF(mod);
    if (t == NULL)
        PyErr_Clear();
    return t;
}

/* The key of a builtin callable.  A builtin method bound to an object is
 * keyed by its definition (PyMethodDef) and described at once, so that
 * neither the bound method nor its object is kept alive. */
int64_t evp_callable_key(Profiler *self, PyObject *fn)
{
    uintptr_t p;
    int64_t k;
    PyObject *entry;

    if (PyCFunction_Check(fn)) {
        PyCFunctionObject *cf = (PyCFunctionObject *)fn;
        p = (uintptr_t)cf->m_ml | 1;
        k = reg_find(&self->reg, p);
        if (k != 0)
            return k;
        if (cf->m_self == NULL || PyModule_Check(cf->m_self)) {
            Py_INCREF(fn);
            entry = fn;
        } else {
            saved_error e;

            error_save(&e);
            entry = describe(fn);
            error_restore(&e);
            if (entry == NULL)
                return 0;
        }
    } else {
        p = (uintptr_t)fn;
        k = reg_find(&self->reg, p);
        if (k != 0)
            return k;
        Py_INCREF(fn);
        entry = fn;
    }
    k = reg_add(&self->reg, p, entry);
    if (k != 0 && self->stream != NULL)
        evp_stream_note(self->stream, k, entry);
    return k;
}

/* The key of a code object or a builtin: what a first sight allocates
 * (the registry's entry, a description) is the profiler's, not logged. */
static __attribute__((noinline, cold)) int64_t
quiet_code_key_new(Profiler *self, PyCodeObject *code)
{
    int in = evprof__in_hook;
    int64_t k;

    evprof__in_hook = 1;
    k = code_key(self, code);
    evprof__in_hook = in;
    return k;
}

static inline int64_t quiet_code_key(Profiler *self, PyCodeObject *code)
{
    int64_t k = reg_find(&self->reg, (uintptr_t)code);

    if (EVPROF_LIKELY(k != 0))
        return k;
    return quiet_code_key_new(self, code);
}

/* ---- the frames of 3.11 (_frames311.h) ------------------------------ */

#include "_frames311.h"

static int64_t quiet_callable_key(Profiler *self, PyObject *fn)
{
    int in = evprof__in_hook;
    int64_t k;

    evprof__in_hook = 1;
    k = evp_callable_key(self, fn);
    evprof__in_hook = in;
    return k;
}

/* The shared logging path of the three implementations. */
static void log_frame_event(Profiler *self, PyFrameObject *frame, int what,
                            PyObject *arg)
{
#ifdef EVP_FRAMES_311
    PyCodeObject *code;
#endif
    int64_t k, bk = 0, lasti = -1, ev;

    switch (what) {
    case PyTrace_CALL:
    case PyTrace_RETURN:
    case PyTrace_EXCEPTION:
        ev = what == PyTrace_CALL ? EVPROF_CALL
            : what == PyTrace_RETURN ? EVPROF_RETURN : EVPROF_EXCEPTION;
#ifdef EVP_FRAMES_311
        {
            PyCodeObject *back_code;
            struct frame_marks *m = marks_of(self);
            const struct frame_mark *top =
                m != NULL && m->n > 0 ? &m->v[m->n - 1] : NULL;

            /* At a call the newest mark is the caller's (recursion: the
             * callee's code too); at a return, the frame's own.  Keys are
             * taken from it by code pointer, never by the frame's block
             * alone: a mark left by a return not seen (profiling off
             * meanwhile) may have the block of another frame. */
            code = frame_caller(frame, &back_code, &lasti);
            k = mark_key(self, top, code);
            if (back_code != NULL)
                bk = mark_key(self, top, back_code);
            if (ev == EVPROF_CALL) {
                if (frame_called(self, m, frame, code, k, back_code, bk,
                                 lasti)) {
                    evprof_context_set(k);
                    return;
                }
            } else if (ev == EVPROF_RETURN) {
                (void)evprof_log(evp_buffer(self), k, bk, ev, lasti, 0);
                frame_returned(self, m, frame);
                evprof_context_set(bk);
                return;
            }
        }
#else
        {
            PyFrameObject *back;

            /* Borrowed: a new reference to the code would write its
             * count, shared by every thread running that function. */
            k = quiet_code_key(self, frame_code_borrow(frame));
            back = PyFrame_GetBack(frame);
            if (back != NULL) {
                bk = quiet_code_key(self, frame_code_borrow(back));
                lasti = frame_lasti(back);
                Py_DECREF(back);
            }
        }
#endif
        (void)evprof_log(evp_buffer(self), k, bk, ev, lasti, 0);
        /* Allocations belong to the function running now: the callee
         * after a call, the caller again after a return. */
        if (ev == EVPROF_CALL)
            evprof_context_set(k);
        else if (ev == EVPROF_RETURN)
            evprof_context_set(bk);
        return;
    case PyTrace_C_CALL:
    case PyTrace_C_RETURN:
    case PyTrace_C_EXCEPTION:
        ev = what == PyTrace_C_CALL ? EVPROF_C_CALL
            : what == PyTrace_C_RETURN ? EVPROF_C_RETURN
                                       : EVPROF_C_EXCEPTION;
        k = arg != NULL ? quiet_callable_key(self, arg) : 0;
#ifdef EVP_FRAMES_311
        code = frame->f_frame->f_code;
        {
            struct frame_marks *m = marks_of(self);

            bk = mark_key(self, m != NULL && m->n > 0 ? &m->v[m->n - 1]
                                                      : NULL, code);
        }
#else
        bk = quiet_code_key(self, frame_code_borrow(frame));
#endif
        (void)evprof_log(evp_buffer(self), k, bk, ev, frame_lasti(frame), 0);
        evprof_context_set(bk);
        return;
    default:
        return;
    }
}

/* The profile function (impl='c'): no Python call per event, and it never
 * sets or clears an exception, so a pending one is left as it was. */
int evp_profile_callback(PyObject *obj, PyFrameObject *frame, int what,
                         PyObject *arg)
{
    Profiler *self = (Profiler *)obj;

    if (EVPROF_LIKELY(evp_active(self)))
        log_frame_event(self, frame, what, arg);
    return 0;
}

/* ---- methods ---------------------------------------------------------- */

static int event_what(PyObject *event)
{
    static const char *names[] = {"call", "exception", "line", "return",
                                  "c_call", "c_exception", "c_return"};
    int i;

    if (!PyUnicode_Check(event)) {
        PyErr_Format(PyExc_TypeError, "event must be a str, not %.100s",
                     Py_TYPE(event)->tp_name);
        return -1;
    }
    for (i = 0; i < 7; i++)
        if (PyUnicode_CompareWithASCIIString(event, names[i]) == 0)
            return i;
    PyErr_Format(PyExc_ValueError, "unknown profile event %R", event);
    return -1;
}

/* Checks the arguments of a sys.setprofile-style call and logs it; 0, or
 * -1 with an exception set. */
int evp_do_log(Profiler *self, PyObject *const *args, Py_ssize_t nargs)
{
    int what;

    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError,
                     "c_log_event expects 3 arguments (frame, event, arg), "
                     "got %zd", nargs);
        return -1;
    }
    if (!PyFrame_Check(args[0])) {
        PyErr_Format(PyExc_TypeError, "frame must be a frame, not %.100s",
                     Py_TYPE(args[0])->tp_name);
        return -1;
    }
    what = event_what(args[1]);
    if (what < 0)
        return -1;
    if (self->active)
        log_frame_event(self, (PyFrameObject *)args[0], what, args[2]);
    return 0;
}

static PyObject *Profiler_c_log_event(Profiler *self, PyObject *const *args,
                                      Py_ssize_t nargs)
{
    if (evp_do_log(self, args, nargs) != 0)
        return NULL;
    Py_RETURN_NONE;
}

/* Given to threading.setprofile for impl='c': the first event of a new
 * thread installs the C profile function there, then is logged. */
static PyObject *Profiler_c_install_thread(Profiler *self,
                                           PyObject *const *args,
                                           Py_ssize_t nargs)
{
    if (evp_do_log(self, args, nargs) != 0)
        return NULL;
    if (self->active)
        PyEval_SetProfile(evp_profile_callback, (PyObject *)self);
    Py_RETURN_NONE;
}

static PyObject *Profiler_log_event(Profiler *self, PyObject *args)
{
    long long f, a, e, v1, v2;
    int r;

    if (!PyArg_ParseTuple(args, "LLLLL:log_event", &f, &a, &e, &v1, &v2))
        return NULL;
    r = evprof_log(self->buf, f, a, e, v1, v2);
    if (r < 0) {
        PyErr_SetString(PyExc_MemoryError, evprof_strerror(r));
        return NULL;
    }
    Py_RETURN_TRUE;
}

/* Logs `event` (profiler_start, ...) on behalf of the code of `frame` (a
 * frame or None); 0, or -1 with TypeError. */
int evp_log_marker(Profiler *self, PyObject *frame, int64_t event)
{
    int64_t k = 0;

    if (PyFrame_Check(frame)) {
        k = code_key(self, frame_code_borrow((PyFrameObject *)frame));
        evprof_context_set(k);
    } else if (frame != Py_None) {
        PyErr_SetString(PyExc_TypeError, "frame must be a frame or None");
        return -1;
    }
    (void)evprof_log(self->buf, k, 0, event, 0, 0);
    return 0;
}

/* log_marker(frame, event) */
static PyObject *Profiler_log_marker(Profiler *self, PyObject *args)
{
    PyObject *frame;
    long long e;

    if (!PyArg_ParseTuple(args, "OL:log_marker", &frame, &e))
        return NULL;
    if (evp_log_marker(self, frame, e) != 0)
        return NULL;
    Py_RETURN_NONE;
}

/* Commits the first chunk's memory, as the seed allocated its whole array
 * up front: page faults would otherwise land in the profiled code, one
 * every 85 events.  0, or -1 with MemoryError. */
int evp_prepare(Profiler *self)
{
    if (evprof_buffer_prepare(self->buf, (size_t)self->size) == -ENOMEM) {
        PyErr_Format(PyExc_MemoryError,
                     "cannot allocate a buffer chunk of size=%zu "
                     "events (%zu bytes each)", self->size,
                     sizeof(evprof_event));
        return -1;
    }
    return 0;
}

static PyObject *Profiler_set_active(Profiler *self, PyObject *arg)
{
    int on = PyObject_IsTrue(arg);

    if (on < 0)
        return NULL;
    if (on && evp_prepare(self) != 0)
        return NULL;
    self->active = on;
    Py_RETURN_NONE;
}

static PyObject *Profiler_memory_start(Profiler *self, PyObject *noarg)
{
    (void)noarg;
    if (evp_memory_owned(self))
        Py_RETURN_NONE;
    if (evp_memory_install(self) != 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *Profiler_memory_stop(Profiler *self, PyObject *noarg)
{
    (void)noarg;
    evp_memory_uninstall(self);
    Py_RETURN_NONE;
}

static int Profiler_init(Profiler *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"size", "domains", "backend", NULL};
    PyObject *osize;
    int domains = DOM_ALL;
    const char *backend = "auto";
    Py_ssize_t size;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|is:Profiler", kwlist,
                                     &osize, &domains, &backend))
        return -1;
    if (strcmp(backend, "auto") == 0)
        self->backend = evp_monitoring_available ? EVP_BACKEND_MONITORING
                                                 : EVP_BACKEND_PROFILE;
    else if (strcmp(backend, "profile") == 0)
        self->backend = EVP_BACKEND_PROFILE;
    else if (strcmp(backend, "monitoring") == 0) {
        if (!evp_monitoring_available) {
            PyErr_SetString(PyExc_ValueError,
                            "backend='monitoring' needs Python 3.12 or "
                            "3.13 (sys.monitoring)");
            return -1;
        }
        self->backend = EVP_BACKEND_MONITORING;
    } else {
        PyErr_Format(PyExc_ValueError,
                     "backend must be 'auto', 'profile' or 'monitoring', "
                     "not '%.100s'", backend);
        return -1;
    }
    self->mon_tool = -1;
    /* Any integer (numpy's too), not a bool. */
    if (!PyIndex_Check(osize) || PyBool_Check(osize)) {
        PyErr_Format(PyExc_TypeError, "size must be an int, not %.100s",
                     Py_TYPE(osize)->tp_name);
        return -1;
    }
    osize = PyNumber_Index(osize);
    if (osize == NULL)
        return -1;
    size = PyLong_AsSsize_t(osize);
    Py_DECREF(osize);
    if (size == -1 && PyErr_Occurred())
        return -1;
    if (size <= 0) {
        PyErr_Format(PyExc_ValueError, "size must be positive, not %zd",
                     size);
        return -1;
    }
    if (domains < 0 || domains > DOM_ALL) {
        PyErr_SetString(PyExc_ValueError, "domains must be a mask of 0..7");
        return -1;
    }
    if (self->buf != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Profiler already initialised");
        return -1;
    }
    self->buf = evprof_buffer_new((size_t)size, EVPROF_GROW);
    if (self->buf == NULL) {
        if (errno == EINVAL)
            PyErr_Format(PyExc_ValueError, "size %zd is too large", size);
        else
            PyErr_NoMemory();
        return -1;
    }
    self->size = (size_t)size;
    self->domains = domains;
    /* The allocator hooks' one-time setup, here rather than in the
     * first start(), after the run's first timestamp. */
    if (domains != 0)
        evprof__inflight_prepare();
    return 0;
}

static int Profiler_traverse(Profiler *self, visitproc visit, void *arg)
{
    size_t i;

    for (i = 0; i < self->reg.n; i++)
        Py_VISIT(self->reg.obj[i]);
    return evp_session_traverse(self, visit, arg);
}

static int Profiler_clear(Profiler *self)
{
    reg_clear(&self->reg);
    evp_session_clear(self);
    return 0;
}

static void Profiler_dealloc(Profiler *self)
{
    PyObject_GC_UnTrack(self);
    self->active = 0;
    /* The allocator hooks and every thread that has our profile function
     * hold a reference: never dealloc'd while hooking. */
    evp_stream_release(self);
    Profiler_clear(self);
    evprof_buffer_free(self->buf);
    self->buf = NULL;
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Profiler_get_size(Profiler *self, void *closure)
{
    (void)closure;
    return PyLong_FromSize_t(self->size);
}

static PyObject *Profiler_get_active(Profiler *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(self->active);
}

static PyObject *Profiler_get_running(Profiler *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(self->token != NULL);
}

static PyObject *Profiler_get_backend(Profiler *self, void *closure)
{
    (void)closure;
    return PyUnicode_FromString(self->backend == EVP_BACKEND_MONITORING
                                ? "monitoring" : "profile");
}

static PyObject *Profiler_n_columns(PyObject *cls, PyObject *noarg)
{
    (void)cls;
    (void)noarg;
    return PyLong_FromLong(EVPROF_N_COLUMNS);
}

static PyMethodDef Profiler_methods[] = {
    {"c_log_event", (PyCFunction)(void (*)(void))Profiler_c_log_event,
     METH_FASTCALL,
     "c_log_event(frame, event, arg)\n--\n\n"
     "Logs a profile event (the signature of a sys.setprofile function)."},
    {"c_install_thread",
     (PyCFunction)(void (*)(void))Profiler_c_install_thread, METH_FASTCALL,
     "c_install_thread(frame, event, arg)\n--\n\n"
     "As c_log_event, and installs the C profile function in the calling "
     "thread (given to threading.setprofile)."},
    {"hook", (PyCFunction)evp_Profiler_hook, METH_NOARGS,
     "hook()\n--\n\nA profile function for sys.setprofile that logs into "
     "this profiler (as c_log_event, without a recursion check)."},
    {"log_event", (PyCFunction)Profiler_log_event, METH_VARARGS,
     "log_event(id_frame, id_arg, event, value1, value2)\n--\n\n"
     "Logs a raw event; returns True."},
    {"log_marker", (PyCFunction)Profiler_log_marker, METH_VARARGS,
     "log_marker(frame, event)\n--\n\nLogs `event` for frame's code."},
    {"set_active", (PyCFunction)Profiler_set_active, METH_O,
     "set_active(on)\n--\n\nTurns the logging of profile events on/off."},
    {"begin", (PyCFunction)(void (*)(void))evp_Profiler_begin,
     METH_VARARGS | METH_KEYWORDS,
     "begin(token, frame, installed=None, thread_hook=None, "
     "all_threads=False, hooks=True)\n--\n\n"
     "Starts a run, all or nothing: logging on, the profiler_start marker "
     "for frame's code, the allocator hooks, threading._profile_hook and "
     "the profile function (sys.setprofile(installed), or the C one)."},
    {"end", (PyCFunction)evp_Profiler_end, METH_VARARGS,
     "end(frame)\n--\n\n"
     "Stops the run in one step; returns whether our profile function was "
     "still in place, None when no run was going on."},
    {"abort", (PyCFunction)evp_Profiler_abort, METH_O,
     "abort(token)\n--\n\nEnds the run begun with token, if it is the "
     "one going on."},
    {"after_fork", (PyCFunction)evp_Profiler_after_fork, METH_NOARGS,
     "after_fork()\n--\n\nIn a forked child: stops, drops what was "
     "inherited."},
    {"take_forked", (PyCFunction)evp_Profiler_take_forked, METH_NOARGS,
     "take_forked()\n--\n\nWhether a fork stopped the run (once)."},
    {"save_profile", (PyCFunction)evp_Profiler_save_profile, METH_NOARGS,
     "save_profile()\n--\n\nRemembers the calling thread's profile "
     "function (for one installed by hand)."},
    {"install", (PyCFunction)(void (*)(void))evp_Profiler_install,
     METH_VARARGS | METH_KEYWORDS,
     "install(all_threads=False, installed=None, thread_hook=None)\n--\n\n"
     "Saves the thread's profiler and installs ours: the C profile "
     "function, or sys.setprofile(installed)."},
    {"restore_profile", (PyCFunction)(void (*)(void))evp_Profiler_restore_profile,
     METH_VARARGS | METH_KEYWORDS,
     "restore_profile(installed=None)\n--\n\n"
     "Puts the saved profiler back in the thread that saved it, where ours "
     "is still in place, and removes ours from the other threads; returns "
     "whether it was."},
    {"memory_start", (PyCFunction)Profiler_memory_start, METH_NOARGS,
     "memory_start()\n--\n\nHooks the selected PyMem domains."},
    {"memory_stop", (PyCFunction)Profiler_memory_stop, METH_NOARGS,
     "memory_stop()\n--\n\nRestores the allocators."},
    {"numpy_install", (PyCFunction)evp_Profiler_numpy_install, METH_NOARGS,
     "numpy_install()\n--\n\nLogs numpy's array data (its default "
     "handler wrapped in place); None, or a str saying what is not seen."},
    {"numpy_remove", (PyCFunction)evp_Profiler_numpy_remove, METH_NOARGS,
     "numpy_remove()\n--\n\nPuts numpy's handler functions back."},
    {"numpy_owned", (PyCFunction)evp_Profiler_numpy_owned, METH_NOARGS,
     "numpy_owned()\n--\n\nWhether numpy's data goes to this profiler."},
    {"native_install", (PyCFunction)evp_Profiler_native_install,
     METH_NOARGS,
     "native_install()\n--\n\nLogs the native allocations that a "
     "preloaded libevprof-malloc.so sees; None, or a str saying why not."},
    {"native_remove", (PyCFunction)evp_Profiler_native_remove, METH_NOARGS,
     "native_remove()\n--\n\nStops logging them."},
    {"count", (PyCFunction)evp_Profiler_count, METH_NOARGS,
     "count()\n--\n\nEvents held in the buffer."},
    {"lost", (PyCFunction)evp_Profiler_lost, METH_NOARGS,
     "lost()\n--\n\nEvents lost so far (0: the buffer grows)."},
    {"dump", (PyCFunction)evp_Profiler_dump, METH_VARARGS,
     "dump(events, threads)\n--\n\nMoves events out; returns how many."},
    {"read", (PyCFunction)(void (*)(void))evp_Profiler_read,
     METH_VARARGS | METH_KEYWORDS,
     "read(events, threads=None, limit=-1, fill=True)\n--\n\n"
     "Copies the events held, oldest first, without taking them out;\n"
     "fills the sizes freed (value2 of frees); returns how many."},
    {"read_blocks", (PyCFunction)(void (*)(void))evp_Profiler_read_blocks,
     METH_VARARGS | METH_KEYWORDS,
     "read_blocks(events, threads, callback, limit=-1, fill=True)\n--\n\n"
     "Reads the events held, oldest first, a block at a time into\n"
     "events (int64, k*6 items) and threads (uint32, k items, or None),\n"
     "calling callback(count) after each block; fills the sizes freed;\n"
     "returns how many were read."},
    {"write_trace", (PyCFunction)(void (*)(void))evp_Profiler_write_trace,
     METH_VARARGS | METH_KEYWORDS,
     "write_trace(writer, limit=-1, progress=None)\n--\n\n"
     "Writes the events held into a TraceWriter, without taking them\n"
     "out; returns the (caller key, offset) pairs of their calls."},
    {"threads", (PyCFunction)evp_Profiler_threads, METH_NOARGS,
     "threads()\n--\n\n[(ident, native_id)] by thread index."},
    {"registry", (PyCFunction)evp_Profiler_registry, METH_NOARGS,
     "registry()\n--\n\nThe registered objects; key k is item "
     "k - key_base() - 1."},
    {"key_base", (PyCFunction)evp_Profiler_key_base, METH_NOARGS,
     "key_base()\n--\n\nKeys of this run are above it."},
    {"reset", (PyCFunction)evp_Profiler_reset, METH_NOARGS,
     "reset()\n--\n\nEmpties the buffer and the registry."},
    {"stream_open", (PyCFunction)(void (*)(void))evp_Profiler_stream_open,
     METH_VARARGS | METH_KEYWORDS,
     "stream_open(path, meta=None, budget=0, wait=True)\n--\n\n"
     "Streams the events into the trace file `path` while they are "
     "logged, with the names and lines they need (before begin())."},
    {"stream_meta", (PyCFunction)evp_Profiler_stream_meta, METH_O,
     "stream_meta(dict)\n--\n\nMETA pairs written at the next drain."},
    {"stream_stats", (PyCFunction)evp_Profiler_stream_stats, METH_NOARGS,
     "stream_stats()\n--\n\nWhat the stream did so far (None when not "
     "streaming)."},
    {"stream_close", (PyCFunction)evp_Profiler_stream_close, METH_NOARGS,
     "stream_close()\n--\n\nStops the stream (after end()), writes what "
     "is left and closes the file; the final stats."},
    {"n_columns", (PyCFunction)Profiler_n_columns, METH_NOARGS | METH_STATIC,
     "n_columns()\n--\n\n6."},
    {NULL, NULL, 0, NULL}
};

static PyGetSetDef Profiler_getset[] = {
    {"size", (getter)Profiler_get_size, NULL, "events a chunk", NULL},
    {"active", (getter)Profiler_get_active, NULL, "logging on", NULL},
    {"running", (getter)Profiler_get_running, NULL, "a run is going on",
     NULL},
    {"backend", (getter)Profiler_get_backend, NULL,
     "what impl 'c' installs: 'profile' (a profile function) or "
     "'monitoring' (sys.monitoring callbacks)", NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

PyTypeObject evp_Profiler_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "evprof._core.Profiler",
    .tp_basicsize = sizeof(Profiler),
    .tp_dealloc = (destructor)Profiler_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_call = evp_Profiler_call,
    .tp_doc = "Profiler(size, domains=7, backend='auto')\n--\n\n"
              "The C core of evprof.EventProfiler: an event buffer of "
              "`size` events a chunk, a registry, the hooks.",
    .tp_traverse = (traverseproc)Profiler_traverse,
    .tp_clear = (inquiry)Profiler_clear,
    .tp_methods = Profiler_methods,
    .tp_getset = Profiler_getset,
    .tp_init = (initproc)Profiler_init,
    .tp_new = PyType_GenericNew,
};

/* ---- module functions --------------------------------------------------- */

static PyObject *clock_name(PyObject *mod, PyObject *noarg)
{
    (void)mod;
    (void)noarg;
    evprof_clock_init();
    return PyUnicode_FromString(evprof_clock_name());
}

static PyObject *stream_capacity(PyObject *mod, PyObject *args)
{
    Py_ssize_t budget, threads;

    (void)mod;
    if (!PyArg_ParseTuple(args, "nn:stream_capacity", &budget, &threads))
        return NULL;
    if (budget < 0 || threads < 0) {
        PyErr_SetString(PyExc_ValueError, "budget and threads are >= 0");
        return NULL;
    }
    return PyLong_FromSize_t(evprof_stream_capacity(
        budget ? (size_t)budget : EVPROF_STREAM_DEFAULT_BUDGET,
        (size_t)threads));
}

static PyMethodDef module_methods[] = {
    {"_null_profiler_start", evp_null_profiler_start, METH_NOARGS,
     "Installs a C profile function that does nothing (benchmark floor)."},
    {"_clock_profiler_start", evp_clock_profiler_start, METH_NOARGS,
     "Installs a C profile function that only reads the clock (benchmark"
     "\nfloor of a timestamped event); _null_profiler_stop removes it."},
    {"_null_profiler_stop", evp_null_profiler_stop, METH_NOARGS,
     "Removes the calling thread's profile function."},
    {"_allocator_hooks", evp_pool_count, METH_NOARGS,
     "How many allocator hooks were ever made (kept and reused)."},
    {"weak_method", evp_weak_method, METH_VARARGS,
     "weak_method(obj, func)\n--\n\nA profile function calling "
     "func(obj, frame, event, arg), obj held weakly; equal to the bound "
     "method obj.func."},
    {"sink_run", (PyCFunction)(void (*)(void))evp_sink_run,
     METH_VARARGS | METH_KEYWORDS,
     "sink_run(trace, sink, output, sort='inclusive', limit=30, "
     "progress=None)\n--\n\n"
     "Writes `output` from the trace file `trace` with the library's sink "
     "'summary', 'summary-tsv', 'chrome' or 'perfetto', a block of events "
     "at a time (TraceFileError for a damaged or cut-off trace); "
     "progress(done, total), in bytes read, after each block (an exception "
     "it raises stops the run)."},
    {"after_fork", evp_after_fork, METH_NOARGS,
     "In a forked child: the allocator hooks off, whoever had them."},
    {"memory_hooked", evp_memory_hooked, METH_NOARGS,
     "True while a profiler hooks the PyMem allocators."},
    {"stream_capacity", stream_capacity, METH_VARARGS,
     "stream_capacity(budget, threads)\n--\n\nEvents a chunk so that "
     "`threads` threads logging at once fit a stream budget."},
    {"clock_name", clock_name, METH_NOARGS,
     "The clock in use: 'tsc' or 'monotonic'."},
    {NULL, NULL, 0, NULL}
};

/*
 * Multi-phase initialisation, for the slots.  Py_mod_gil: on a
 * free-threaded build the module runs without the GIL.  What threads share
 * is safe without it: each thread logs into chunks of its own (no lock an
 * event), the registry is read without a lock and added to under one
 * (_registry.h), the fields that start and stop change are read
 * atomically, walks over other threads' states hold the runtime's lock of
 * that list (_threads.c), and the allocator hooks go in with a context
 * that a thread reading the domain half-changed still finds right
 * (_memory.c).  With the GIL the module says it needs it (the same code,
 * checked under it).  The types are static, shared by the interpreters of
 * the process: no subinterpreter.
 */
static int core_exec(PyObject *m)
{
    if (PyType_Ready(&evp_Profiler_Type) < 0 || evp_hooks_ready() < 0
        || evp_threads_init() < 0 || evp_monitoring_ready() < 0)
        return -1;
    Py_INCREF(&evp_Profiler_Type);
    if (PyModule_AddObject(m, "Profiler", (PyObject *)&evp_Profiler_Type) < 0) {
        Py_DECREF(&evp_Profiler_Type);
        return -1;
    }
    if (PyModule_AddIntConstant(m, "N_COLUMNS", EVPROF_N_COLUMNS) < 0
        || PyModule_AddStringConstant(m, "LIB_VERSION",
                                      evprof_version()) < 0
        || evprof_py_add_reader(m) < 0
        || evprof_py_add_writer(m) < 0
        || evp_tnotes_add(m) < 0
        || evp_gate_add(m) < 0)
        return -1;
    return 0;
}

static PyModuleDef_Slot core_slots[] = {
    {Py_mod_exec, (void *)core_exec},
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
#if PY_VERSION_HEX >= 0x030D0000
# ifdef Py_GIL_DISABLED
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
# else
    {Py_mod_gil, Py_MOD_GIL_USED},
# endif
#endif
    {0, NULL}
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT, "evprof._core",
    "C core of evprof: buffer, registry, profile and allocator hooks.",
    0, module_methods, core_slots, NULL, NULL, NULL
};

PyMODINIT_FUNC PyInit__core(void);

PyMODINIT_FUNC PyInit__core(void)
{
    return PyModuleDef_Init(&core_module);
}
