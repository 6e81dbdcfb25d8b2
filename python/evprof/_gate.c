/*
 * _gate.c: the entry points of the Python layer that must leave no frame
 * of evprof on the timeline they start or stop.
 *
 * A profile hook sees every Python function called while it is on, and
 * every builtin function.  So EventProfiler.start and stop (and
 * WithEventProfiler.__enter__ and __exit__) are gates: objects of a C type
 * that is neither a Python function nor a builtin, so that calling one is
 * no event at all.  A start gate runs its Python half (checks and
 * bookkeeping) first, while nothing records, then begin() as its very last
 * step, and returns to the caller: the first event of the run is the
 * caller's next one.  A stop gate does end() first, then its Python half,
 * which nothing records any more; it may return a run to begin again
 * (a profiler it had paused), begun as its last step.  Nothing is
 * checked per event.
 *
 * A gate called while another run records the calling thread (an
 * outer profiler: the command line's, or the program's own) sets that run
 * aside first (_runs.c), so that nothing of the gate is on that timeline
 * either: a start leaves it paused (its stop resumes it), a stop or a
 * 'quiet' gate (a constructor of evprof) begins it again as its last step.
 * The Python half of a start finds the run it paused with gate_paused().
 *
 * run_code(), the command line's run of a script, is _gate_run.c.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_core.h"

enum { GATE_START, GATE_STOP, GATE_QUIET };

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    int kind;
    PyObject *func;   /* the Python half */
    PyObject *self;   /* the instance of a bound gate, or NULL */
} Gate;

static PyTypeObject Gate_Type;

/* "_buffer", interned: looking it up allocates nothing. */
static PyObject *str_buffer;

/* ---- the steps --------------------------------------------------------- */

/* The frame of the code that called the gate (borrowed), or None. */
static PyObject *caller_frame(void)
{
    PyFrameObject *f = PyEval_GetFrame();

    return f != NULL ? (PyObject *)f : Py_None;
}

/*
 * The start: `prep` is what the Python half returned, None (nothing to
 * begin) or (buffer, token, installed, thread_hook, all_threads, on_fail,
 * post, on_post, result): the gate returns result.  begin() is the last Python-visible step; when it fails
 * on_fail() is called (nothing records then) and the error kept.  Then
 * each callable of the tuple `post` (methods of the C core: they run no
 * Python code) is called; those that give a message (why they could not
 * do their part) are handed to on_post(messages), the only Python code
 * that may then run on the timeline.  0, or -1 with an exception.
 */
int evp_gate_start_run(PyObject *prep, PyObject *frame)
{
    PyObject *args, *r, *on_fail, *post, *msgs;
    Py_ssize_t i;

    if (prep == Py_None)
        return 0;
    if (!PyTuple_Check(prep) || PyTuple_GET_SIZE(prep) != 9
        || !PyTuple_Check(PyTuple_GET_ITEM(prep, 6))
        || !PyObject_TypeCheck(PyTuple_GET_ITEM(prep, 0),
                               &evp_Profiler_Type)) {
        PyErr_SetString(PyExc_SystemError, "evprof: a start gate's Python "
                        "half returned a bad value");
        return -1;
    }
    args = Py_BuildValue("(OOOOO)", PyTuple_GET_ITEM(prep, 1), frame,
                         PyTuple_GET_ITEM(prep, 2), PyTuple_GET_ITEM(prep, 3),
                         PyTuple_GET_ITEM(prep, 4));
    r = args != NULL ? evp_Profiler_begin(
        (Profiler *)PyTuple_GET_ITEM(prep, 0), args, NULL) : NULL;
    /* What the gate frees and allocates once the hooks are on is its
     * own, not the caller's: not logged. */
    evprof__in_hook = 1;
    Py_XDECREF(args);
    if (r != NULL) {
        Py_DECREF(r);
        if (PyTuple_GET_SIZE(PyTuple_GET_ITEM(prep, 6)) == 0)
            return 0;
        post = PyTuple_GET_ITEM(prep, 6);
        msgs = NULL;
        for (i = 0; i < PyTuple_GET_SIZE(post); i++) {
            r = PyObject_CallObject(PyTuple_GET_ITEM(post, i), NULL);
            if (r == NULL)
                PyErr_WriteUnraisable(PyTuple_GET_ITEM(post, i));
            else if (r != Py_None) {
                if (msgs == NULL)
                    msgs = PyList_New(0);
                if (msgs == NULL || PyList_Append(msgs, r) != 0)
                    PyErr_Clear();
            }
            Py_XDECREF(r);
        }
        if (msgs != NULL) {
            int in = evprof__in_hook;

            /* Python code, on the timeline: its allocations too. */
            evprof__in_hook = 0;
            r = PyObject_CallFunctionObjArgs(PyTuple_GET_ITEM(prep, 7), msgs,
                                             NULL);
            evprof__in_hook = in;
            Py_DECREF(msgs);
            if (r == NULL)
                return -1;
            Py_DECREF(r);
        }
        return 0;
    }
    on_fail = PyTuple_GET_ITEM(prep, 5);
    if (on_fail != Py_None) {
        saved_error e;

        error_save(&e);
        r = PyObject_CallObject(on_fail, NULL);
        if (r == NULL)
            PyErr_WriteUnraisable(on_fail);
        Py_XDECREF(r);
        error_restore(&e);
    }
    return -1;
}

/* The stop of obj's run, if obj._buffer runs: end() on behalf of `frame`;
 * its result (True: our hooks were in place, False: replaced meanwhile),
 * or None when no run was going on; NULL with an exception. */
PyObject *evp_gate_stop_run(PyObject *obj, PyObject *frame)
{
    PyObject *buf, *args, *r;

    buf = PyObject_GetAttr(obj, str_buffer);
    if (buf == NULL)
        return NULL;
    if (!PyObject_TypeCheck(buf, &evp_Profiler_Type)
        || ((Profiler *)buf)->token == NULL) {
        Py_DECREF(buf);
        Py_RETURN_NONE;
    }
    args = PyTuple_Pack(1, frame);
    r = args != NULL ? evp_Profiler_end((Profiler *)buf, args) : NULL;
    Py_XDECREF(args);
    Py_DECREF(buf);
    return r;
}

/* The run a gate of this thread set aside, while its Python half runs
 * (gate_paused()); what gate_resume_with() gave: owner(profiler) -> what
 * begins that run again (a start's prep), or None. */
static _Thread_local Profiler *paused_here;
static PyObject *resume_func;

/* Sets aside the run recording this thread, if any and not obj's own (a
 * second start, refused by the Python half): that profiler (a new
 * reference) in *paused, NULL when none.  Always 0. */
static int pause_here(PyObject *obj, PyObject *frame, Profiler **paused)
{
    Profiler *rec = evp_runs_here();
    PyObject *args, *r, *own;
    int in = evprof__in_hook;

    *paused = NULL;
    if (rec == NULL)
        return 0;
    /* What the gate allocates is not the caller's. */
    evprof__in_hook = 1;
    own = PyObject_GetAttr(obj, str_buffer);
    if (own == NULL)
        PyErr_Clear();
    Py_XDECREF(own);
    if (own == (PyObject *)rec) {
        evprof__in_hook = in;
        Py_DECREF(rec);
        return 0;
    }
    args = PyTuple_Pack(1, frame);
    r = args != NULL ? evp_Profiler_end(rec, args) : NULL;
    Py_XDECREF(args);
    evprof__in_hook = in;
    if (r == NULL) {
        /* That run is busy starting or stopping (this gate called from
         * inside it: a finalizer run by the collector): it stays on. */
        PyErr_Clear();
        Py_DECREF(rec);
        return 0;
    }
    if (r == Py_None)
        Py_CLEAR(rec);   /* ended meanwhile */
    Py_DECREF(r);
    *paused = rec;
    return 0;
}

/* Begins again the run pause_here() set aside, as the gate's last step;
 * steals the reference.  An exception pending is kept: a failure to
 * resume is then unraisable. */
static int resume(Profiler *paused, PyObject *frame)
{
    PyObject *prep;
    saved_error e;
    int rc = 0, in, pending;

    if (paused == NULL)
        return 0;
    pending = PyErr_Occurred() != NULL;
    error_save(&e);
    in = evprof__in_hook;
    if (resume_func != NULL)
        prep = PyObject_CallFunctionObjArgs(resume_func, (PyObject *)paused,
                                            NULL);
    else {
        Py_INCREF(Py_None);
        prep = Py_None;
    }
    Py_DECREF(paused);
    if (prep == NULL || evp_gate_start_run(prep, frame) != 0) {
        rc = -1;
        if (pending)
            PyErr_WriteUnraisable(resume_func);
    }
    Py_XDECREF(prep);
    evprof__in_hook = in;
    if (pending || rc == 0)
        error_restore(&e);
    return pending ? 0 : rc;
}

/* ---- the gate object --------------------------------------------------- */

static PyObject *gate_vectorcall(PyObject *callable, PyObject *const *args,
                                 size_t nargsf, PyObject *kwnames)
{
    Gate *g = (Gate *)callable;
    Py_ssize_t n = PyVectorcall_NARGS(nargsf), nkw, i, total;
    int in;
    PyObject *obj, *frame = caller_frame(), *res, *ours = NULL;
    PyObject **argv;
    Profiler *paused, *outer_paused;

    nkw = kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0;
    if (g->self != NULL) {
        obj = g->self;
    } else {
        if (n < 1) {
            PyErr_SetString(PyExc_TypeError,
                            "an unbound method needs its instance");
            return NULL;
        }
        obj = args[0];
        args++;
        n--;
    }
    if (g->kind == GATE_STOP) {
        ours = evp_gate_stop_run(obj, frame);
        if (ours == NULL)
            return NULL;
    }
    /* Another run on this thread (the stop's own is over): set aside. */
    if (pause_here(obj, frame, &paused) != 0) {
        Py_XDECREF(ours);
        return NULL;
    }
    /* func(obj, [ours,] *args, **kw) */
    total = 1 + (ours != NULL) + n + nkw;
    argv = PyMem_Malloc((size_t)(total + 1) * sizeof(PyObject *));
    if (argv == NULL) {
        Py_XDECREF(ours);
        PyErr_NoMemory();
        resume(paused, frame);
        return NULL;
    }
    argv[1] = obj;
    i = 2;
    if (ours != NULL)
        argv[i++] = ours;
    if (n + nkw > 0)
        memcpy(argv + i, args, (size_t)(n + nkw) * sizeof(PyObject *));
    outer_paused = paused_here;
    paused_here = paused;
    res = PyObject_Vectorcall(g->func, argv + 1,
                              (size_t)(total - nkw)
                              | PY_VECTORCALL_ARGUMENTS_OFFSET, kwnames);
    paused_here = outer_paused;
    PyMem_Free(argv);
    Py_XDECREF(ours);
    if (res == NULL) {
        resume(paused, frame);
        return NULL;
    }
    /* A stop may give back a run to begin: the one it had paused; a
     * start begins its own, and the run it set aside stays so until its
     * stop, which gives that one back. */
    if (g->kind == GATE_QUIET
        || (g->kind == GATE_STOP && !PyTuple_Check(res))
        || (g->kind == GATE_START && res == Py_None)) {
        if (resume(paused, frame) != 0) {
            Py_DECREF(res);
            return NULL;
        }
        if (g->kind != GATE_START)
            return res;
    } else
        Py_XDECREF(paused);
    in = evprof__in_hook;
    if (evp_gate_start_run(res, frame) != 0) {
        Py_DECREF(res);
        evprof__in_hook = in;
        return NULL;
    }
    ours = res == Py_None ? Py_None : PyTuple_GET_ITEM(res, 8);
    Py_INCREF(ours);
    Py_DECREF(res);
    evprof__in_hook = in;
    return ours;
}

static PyObject *gate_new(int kind, PyObject *func, PyObject *self)
{
    Gate *g = PyObject_GC_New(Gate, &Gate_Type);

    if (g == NULL)
        return NULL;
    g->vectorcall = gate_vectorcall;
    g->kind = kind;
    Py_INCREF(func);
    g->func = func;
    Py_XINCREF(self);
    g->self = self;
    PyObject_GC_Track(g);
    return (PyObject *)g;
}

static PyObject *gate_descr_get(PyObject *gate, PyObject *obj,
                                PyObject *type)
{
    Gate *g = (Gate *)gate;

    (void)type;
    if (obj == NULL || obj == Py_None || g->self != NULL) {
        Py_INCREF(gate);
        return gate;
    }
    return gate_new(g->kind, g->func, obj);
}

static int gate_traverse(Gate *g, visitproc visit, void *arg)
{
    Py_VISIT(g->func);
    Py_VISIT(g->self);
    return 0;
}

static int gate_clear(Gate *g)
{
    Py_CLEAR(g->func);
    Py_CLEAR(g->self);
    return 0;
}

static void gate_dealloc(Gate *g)
{
    PyObject_GC_UnTrack(g);
    gate_clear(g);
    PyObject_GC_Del(g);
}

/* __doc__, __name__, __qualname__, __module__, __wrapped__: the Python
 * half's, for help() and inspect. */
static PyObject *gate_getattro(PyObject *gate, PyObject *name)
{
    Gate *g = (Gate *)gate;

    if (PyUnicode_Check(name)) {
        static const char *const passed[] = {
            "__doc__", "__name__", "__qualname__", "__module__",
            "__signature__", "__text_signature__", NULL
        };
        int i;

        for (i = 0; passed[i] != NULL; i++)
            if (PyUnicode_CompareWithASCIIString(name, passed[i]) == 0)
                return PyObject_GetAttr(g->func, name);
        if (PyUnicode_CompareWithASCIIString(name, "__wrapped__") == 0) {
            Py_INCREF(g->func);
            return g->func;
        }
        if (PyUnicode_CompareWithASCIIString(name, "__self__") == 0
            && g->self != NULL) {
            Py_INCREF(g->self);
            return g->self;
        }
    }
    return PyObject_GenericGetAttr(gate, name);
}

static PyObject *gate_repr(Gate *g)
{
    PyObject *name = PyObject_GetAttrString(g->func, "__qualname__"), *r;

    if (name == NULL)
        return NULL;
    if (g->self != NULL)
        r = PyUnicode_FromFormat("<bound method %S of %R>", name, g->self);
    else
        r = PyUnicode_FromFormat("<method %S>", name);
    Py_DECREF(name);
    return r;
}

static PyTypeObject Gate_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "evprof._core.Gate",
    .tp_basicsize = sizeof(Gate),
    .tp_dealloc = (destructor)gate_dealloc,
    .tp_vectorcall_offset = offsetof(Gate, vectorcall),
    .tp_repr = (reprfunc)gate_repr,
    .tp_call = PyVectorcall_Call,
    .tp_getattro = gate_getattro,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC
                | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_doc = "A method of evprof whose call is not on the timeline it "
              "starts or stops.",
    .tp_traverse = (traverseproc)gate_traverse,
    .tp_clear = (inquiry)gate_clear,
    .tp_descr_get = gate_descr_get,
};

/* gate(kind, func): kind 'start', 'stop' or 'quiet'. */
static PyObject *make_gate(PyObject *mod, PyObject *args)
{
    const char *kind;
    PyObject *func;

    (void)mod;
    if (!PyArg_ParseTuple(args, "sO:gate", &kind, &func))
        return NULL;
    if (!PyCallable_Check(func)) {
        PyErr_SetString(PyExc_TypeError, "func must be callable");
        return NULL;
    }
    if (strcmp(kind, "start") == 0)
        return gate_new(GATE_START, func, NULL);
    if (strcmp(kind, "stop") == 0)
        return gate_new(GATE_STOP, func, NULL);
    if (strcmp(kind, "quiet") == 0)
        return gate_new(GATE_QUIET, func, NULL);
    PyErr_Format(PyExc_ValueError, "unknown gate kind %R (expected "
                 "'start', 'stop' or 'quiet')", PyTuple_GET_ITEM(args, 0));
    return NULL;
}

/* gate_paused(): the profiler whose run the gate under way in this
 * thread set aside, or None. */
static PyObject *gate_paused(PyObject *mod, PyObject *noarg)
{
    (void)mod;
    (void)noarg;
    if (paused_here == NULL)
        Py_RETURN_NONE;
    Py_INCREF(paused_here);
    return (PyObject *)paused_here;
}

/* gate_resume_with(func): func(profiler) gives what begins a run set
 * aside again (a start's prep), or None. */
static PyObject *gate_resume_with(PyObject *mod, PyObject *func)
{
    (void)mod;
    if (!PyCallable_Check(func)) {
        PyErr_SetString(PyExc_TypeError, "func must be callable");
        return NULL;
    }
    Py_INCREF(func);
    Py_XSETREF(resume_func, func);
    Py_RETURN_NONE;
}

static PyMethodDef gate_methods[] = {
    {"gate", make_gate, METH_VARARGS,
     "gate(kind, func): a method (kind 'start', 'stop' or 'quiet') whose "
     "call is no event of the run it starts or stops, nor of the one it "
     "sets aside; func is its Python half."},
    {"gate_paused", gate_paused, METH_NOARGS,
     "gate_paused(): the profiler whose run the gate under way in this "
     "thread set aside, or None."},
    {"gate_resume_with", gate_resume_with, METH_O,
     "gate_resume_with(func): func(profiler) gives what begins a run set "
     "aside by a gate again, or None."},
    {NULL, NULL, 0, NULL}
};

int evp_gate_add(PyObject *m)
{
    if (PyType_Ready(&Gate_Type) < 0)
        return -1;
    if (str_buffer == NULL) {
        str_buffer = PyUnicode_InternFromString("_buffer");
        if (str_buffer == NULL)
            return -1;
    }
    if (PyModule_AddFunctions(m, gate_methods) < 0)
        return -1;
    return evp_gate_run_add(m);
}
