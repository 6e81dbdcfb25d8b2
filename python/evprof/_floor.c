/*
 * _floor.c: the floors the benchmarks measure evprof against, profile
 * functions that do nothing, or only read the clock (what each
 * timestamped event costs at least).  Not used to profile.
 *
 * Built alone with EVPROF_FLOOR_MODULE defined, it is the benchmarks'
 * module _floor (never installed): the same profile functions, and the
 * floor of the sys.monitoring backend, a callback that does nothing, of
 * the kind evprof registers (a vectorcall object), for the benchmark to
 * register for the events evprof registers.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_core.h"

static int null_callback(PyObject *obj, PyFrameObject *frame, int what,
                         PyObject *arg)
{
    (void)obj;
    (void)frame;
    (void)what;
    (void)arg;
    return 0;
}

static volatile int64_t clock_sink;

static int clock_callback(PyObject *obj, PyFrameObject *frame, int what,
                          PyObject *arg)
{
    (void)obj;
    (void)frame;
    (void)what;
    (void)arg;
    clock_sink = evprof_clock_ns();
    return 0;
}

PyObject *evp_null_profiler_start(PyObject *mod, PyObject *noarg)
{
    (void)mod;
    (void)noarg;
    PyEval_SetProfile(null_callback, NULL);
    Py_RETURN_NONE;
}

PyObject *evp_clock_profiler_start(PyObject *mod, PyObject *noarg)
{
    (void)mod;
    (void)noarg;
    evprof_clock_init();
    PyEval_SetProfile(clock_callback, NULL);
    Py_RETURN_NONE;
}

PyObject *evp_null_profiler_stop(PyObject *mod, PyObject *noarg)
{
    (void)mod;
    (void)noarg;
    PyEval_SetProfile(NULL, NULL);
    Py_RETURN_NONE;
}

#ifdef EVPROF_FLOOR_MODULE

/* A callable that does nothing, called as evprof's callbacks are: through
 * vectorcall, no recursion check, None returned (DISABLE never: every
 * event keeps coming, as to evprof). */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
} FloorCallback;

static PyObject *floor_call(PyObject *obj, PyObject *const *args,
                            size_t nargsf, PyObject *kwnames)
{
    (void)obj;
    (void)args;
    (void)nargsf;
    (void)kwnames;
    Py_RETURN_NONE;
}

static void floor_dealloc(PyObject *obj)
{
    PyObject_Free(obj);
}

static PyTypeObject FloorCallback_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_floor.Callback",
    .tp_basicsize = sizeof(FloorCallback),
    .tp_dealloc = floor_dealloc,
    .tp_vectorcall_offset = offsetof(FloorCallback, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "A sys.monitoring callback that does nothing.",
};

static PyMethodDef floor_methods[] = {
    {"null_profiler_start", evp_null_profiler_start, METH_NOARGS,
     "Installs a C profile function that does nothing."},
    {"clock_profiler_start", evp_clock_profiler_start, METH_NOARGS,
     "Installs a C profile function that only reads the clock."},
    {"null_profiler_stop", evp_null_profiler_stop, METH_NOARGS,
     "Removes the calling thread's profile function."},
    {NULL, NULL, 0, NULL}
};

/* The callback is allocated as evprof's are (not a static, immortal
 * object, which the dispatch would count no references of). */
static int floor_exec(PyObject *m)
{
    FloorCallback *cb;

    if (PyType_Ready(&FloorCallback_Type) < 0)
        return -1;
    cb = PyObject_New(FloorCallback, &FloorCallback_Type);
    if (cb == NULL)
        return -1;
    cb->vectorcall = floor_call;
    if (PyModule_AddObject(m, "null_callback", (PyObject *)cb) < 0) {
        Py_DECREF(cb);
        return -1;
    }
    return 0;
}

static PyModuleDef_Slot floor_slots[] = {
    {Py_mod_exec, (void *)floor_exec},
#if PY_VERSION_HEX >= 0x030D0000
    /* No state: nothing to keep consistent. */
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL}
};

static struct PyModuleDef floor_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_floor",
    .m_doc = "The floors of evprof's benchmarks: hooks that do nothing.",
    .m_methods = floor_methods,
    .m_slots = floor_slots,
};

PyMODINIT_FUNC PyInit__floor(void);
PyMODINIT_FUNC PyInit__floor(void)
{
    return PyModuleDef_Init(&floor_module);
}

#endif
