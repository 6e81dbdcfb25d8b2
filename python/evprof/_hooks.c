/*
 * _hooks.c: the callables given to sys.setprofile: Hook (impl='pybind11')
 * and WeakHook (impl='python').
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_core.h"

/* ---- the callable given to sys.setprofile (impl='pybind11') ---------- */

/* A profile hook object with a vectorcall of its own: unlike a builtin
 * method it takes no recursion-depth check on each call, so a program at
 * its recursion limit does not get the hook removed by a RecursionError
 * raised inside the profiler (and the events after it lost). */
typedef struct {
    PyObject_HEAD
    Profiler *prof;
    vectorcallfunc vectorcall;
} Hook;

static PyTypeObject Hook_Type;

static PyObject *Hook_vectorcall(PyObject *obj, PyObject *const *args,
                                 size_t nargsf, PyObject *kwnames)
{
    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0) {
        PyErr_SetString(PyExc_TypeError,
                        "the profile hook takes no keyword arguments");
        return NULL;
    }
    if (evp_do_log(((Hook *)obj)->prof, args, PyVectorcall_NARGS(nargsf)) != 0)
        return NULL;
    Py_RETURN_NONE;
}

/* The seed gave sys.setprofile the bound method c_log_event: the hook
 * compares (and hashes) equal to `profiler.c_log_event`, as
 * sys.getprofile() == prof._buffer.c_log_event held there. */
static PyObject *Hook_bound(Hook *h)
{
    return PyObject_GetAttrString((PyObject *)h->prof, "c_log_event");
}

static PyObject *Hook_richcompare(PyObject *a, PyObject *b, int op)
{
    PyObject *bound, *res;

    if (op != Py_EQ && op != Py_NE)
        Py_RETURN_NOTIMPLEMENTED;
    if (Py_TYPE(b) == &Hook_Type)
        return PyBool_FromLong((((Hook *)a)->prof == ((Hook *)b)->prof)
                               == (op == Py_EQ));
    if (!PyCFunction_Check(b))
        Py_RETURN_NOTIMPLEMENTED;
    bound = Hook_bound((Hook *)a);
    if (bound == NULL)
        return NULL;
    res = PyObject_RichCompare(bound, b, op);
    Py_DECREF(bound);
    return res;
}

static Py_hash_t Hook_hash(PyObject *h)
{
    PyObject *bound = Hook_bound((Hook *)h);
    Py_hash_t x;

    if (bound == NULL)
        return -1;
    x = PyObject_Hash(bound);
    Py_DECREF(bound);
    return x;
}

static void Hook_dealloc(Hook *h)
{
    Py_XDECREF(h->prof);
    PyObject_Free(h);
}

static PyTypeObject Hook_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "evprof._core.Hook",
    .tp_basicsize = sizeof(Hook),
    .tp_dealloc = (destructor)Hook_dealloc,
    .tp_vectorcall_offset = offsetof(Hook, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_richcompare = Hook_richcompare,
    .tp_hash = Hook_hash,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "hook(frame, event, arg): logs a profile event into its "
              "profiler (what impl='pybind11' gives to sys.setprofile).",
};

PyObject *evp_Profiler_hook(Profiler *self, PyObject *noarg)
{
    Hook *h = PyObject_New(Hook, &Hook_Type);

    (void)noarg;
    if (h == NULL)
        return NULL;
    Py_INCREF(self);
    h->prof = self;
    h->vectorcall = Hook_vectorcall;
    return (PyObject *)h;
}

/* ---- impl='python': the profile function, holding its profiler weakly ---
 *
 * sys.setprofile(prof.log_event) kept the profiler alive for as long as it
 * was installed: a profiler dropped while running could never be collected
 * (its __del__ stops it) and logged until the process exited.  This hook
 * calls func(obj, frame, event, arg) with obj held by a weak reference
 * (nothing when it is gone), and compares equal to the bound method
 * obj.func, which the seed installed. */
typedef struct {
    PyObject_HEAD
    PyObject *ref;   /* weakref to obj */
    PyObject *func;  /* the function of the method */
    vectorcallfunc vectorcall;
} WeakHook;

static PyTypeObject WeakHook_Type;

/* A new reference to obj, or NULL (no error) when it is gone. */
static PyObject *weakhook_obj(WeakHook *h)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyObject *o = NULL;

    if (PyWeakref_GetRef(h->ref, &o) < 0)
        PyErr_Clear();
    return o;
#else
    PyObject *o = PyWeakref_GetObject(h->ref);

    if (o == NULL) {
        PyErr_Clear();
        return NULL;
    }
    if (o == Py_None)
        return NULL;
    Py_INCREF(o);
    return o;
#endif
}

static PyObject *WeakHook_vectorcall(PyObject *obj, PyObject *const *args,
                                     size_t nargsf, PyObject *kwnames)
{
    WeakHook *h = (WeakHook *)obj;
    PyObject *stack[4], *o, *res;
    Py_ssize_t n = PyVectorcall_NARGS(nargsf), i;

    if (n != 3 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0)) {
        PyErr_SetString(PyExc_TypeError,
                        "the profile hook takes (frame, event, arg)");
        return NULL;
    }
    o = weakhook_obj(h);
    if (o == NULL)
        Py_RETURN_NONE;
    stack[0] = o;
    for (i = 0; i < 3; i++)
        stack[i + 1] = args[i];
    res = PyObject_Vectorcall(h->func, stack, 4, NULL);
    Py_DECREF(o);
    return res;
}

static PyObject *WeakHook_bound(WeakHook *h)
{
    PyObject *o = weakhook_obj(h), *m;

    if (o == NULL)
        return NULL;
    m = PyMethod_New(h->func, o);
    Py_DECREF(o);
    return m;
}

static PyObject *WeakHook_richcompare(PyObject *a, PyObject *b, int op)
{
    PyObject *bound, *res;

    if (op != Py_EQ && op != Py_NE)
        Py_RETURN_NOTIMPLEMENTED;
    if (a == b)
        return PyBool_FromLong(op == Py_EQ);
    if (!PyMethod_Check(b))
        Py_RETURN_NOTIMPLEMENTED;
    bound = WeakHook_bound((WeakHook *)a);
    if (bound == NULL) {
        if (PyErr_Occurred())
            return NULL;
        return PyBool_FromLong(op == Py_NE);
    }
    res = PyObject_RichCompare(bound, b, op);
    Py_DECREF(bound);
    return res;
}

static Py_hash_t WeakHook_hash(PyObject *a)
{
    PyObject *bound = WeakHook_bound((WeakHook *)a);
    Py_hash_t x;

    if (bound == NULL)
        return PyErr_Occurred() ? -1 : Py_HashPointer(a);
    x = PyObject_Hash(bound);
    Py_DECREF(bound);
    return x;
}

static PyObject *WeakHook_repr(PyObject *a)
{
    WeakHook *h = (WeakHook *)a;
    PyObject *o = weakhook_obj(h), *r;

    if (o == NULL)
        return PyUnicode_FromFormat("<profile hook %R of a dead object>",
                                    h->func);
    r = PyUnicode_FromFormat("<profile hook %R of %R>", h->func, o);
    Py_DECREF(o);
    return r;
}

static int WeakHook_traverse(WeakHook *h, visitproc visit, void *arg)
{
    Py_VISIT(h->ref);
    Py_VISIT(h->func);
    return 0;
}

static int WeakHook_clear(WeakHook *h)
{
    Py_CLEAR(h->ref);
    Py_CLEAR(h->func);
    return 0;
}

static void WeakHook_dealloc(WeakHook *h)
{
    PyObject_GC_UnTrack(h);
    WeakHook_clear(h);
    PyObject_GC_Del(h);
}

static PyTypeObject WeakHook_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "evprof._core.WeakHook",
    .tp_basicsize = sizeof(WeakHook),
    .tp_dealloc = (destructor)WeakHook_dealloc,
    .tp_vectorcall_offset = offsetof(WeakHook, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_repr = WeakHook_repr,
    .tp_richcompare = WeakHook_richcompare,
    .tp_hash = WeakHook_hash,
    .tp_traverse = (traverseproc)WeakHook_traverse,
    .tp_clear = (inquiry)WeakHook_clear,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL
                | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "hook(frame, event, arg): func(obj, frame, event, arg), obj "
              "held weakly (impl='python').",
};

PyObject *evp_weak_method(PyObject *mod, PyObject *args)
{
    PyObject *obj, *func;
    WeakHook *h;

    (void)mod;
    if (!PyArg_ParseTuple(args, "OO:weak_method", &obj, &func))
        return NULL;
    if (!PyCallable_Check(func)) {
        PyErr_SetString(PyExc_TypeError, "func must be callable");
        return NULL;
    }
    h = PyObject_GC_New(WeakHook, &WeakHook_Type);
    if (h == NULL)
        return NULL;
    h->func = NULL;
    h->vectorcall = WeakHook_vectorcall;
    h->ref = PyWeakref_NewRef(obj, NULL);
    if (h->ref == NULL) {
        Py_DECREF(h);
        return NULL;
    }
    Py_INCREF(func);
    h->func = func;
    PyObject_GC_Track(h);
    return (PyObject *)h;
}

int evp_hooks_ready(void)
{
    if (PyType_Ready(&Hook_Type) < 0 || PyType_Ready(&WeakHook_Type) < 0)
        return -1;
    return 0;
}
