/*
 * _floor.c: the floors the benchmarks measure evprof against, profile
 * functions that do nothing, or only read the clock (what each
 * timestamped event costs at least).  Not used to profile.
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
