/*
 * _gate_run.c: run_code(), the command line's run of a script under a
 * profiler, between a start and a stop that are no events (_gate.c).
 *
 * run_code(prof, code, globals) runs a module's code between such a start
 * and stop, from C, as the interpreter runs a script: the frames of the
 * caller (the command line, runpy) are set aside meanwhile, so that the
 * module's code has no caller, its traceback starts at its own first line
 * and the profile at its <module>.  The frames stay where they are on the
 * thread's stack; only the thread's pointer to the innermost one is set to
 * NULL during the run and put back after, as it is while the interpreter
 * runs a script's main module.  Not on a free-threaded build, whose
 * collector walks the frames of each thread, nor on 3.14, whose frame
 * records this file has not been checked against: there the caller
 * stays, and the sys.monitoring callbacks see the module's code as
 * called by no one (_monitoring.c, "bottom").
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_core.h"

#if !defined(Py_GIL_DISABLED) && PY_VERSION_HEX < 0x030E0000
# define CAN_DETACH 1
#else
# define CAN_DETACH 0
#endif

/* Sets the thread's frames aside (see the top of the file); what
 * attach() puts back. */
static void *detach(PyThreadState *ts)
{
    void *f = NULL;

#if !CAN_DETACH
    (void)ts;
#elif PY_VERSION_HEX >= 0x030D0000
    f = ts->current_frame;
    ts->current_frame = NULL;
#elif PY_VERSION_HEX >= 0x030B0000
    f = ts->cframe->current_frame;
    ts->cframe->current_frame = NULL;
#else
    f = ts->frame;
    ts->frame = NULL;
#endif
    return f;
}

static void attach(PyThreadState *ts, void *f)
{
#if !CAN_DETACH
    (void)ts;
    (void)f;
#elif PY_VERSION_HEX >= 0x030D0000
    ts->current_frame = f;
#elif PY_VERSION_HEX >= 0x030B0000
    ts->cframe->current_frame = f;
#else
    ts->frame = f;
#endif
}

/*
 * run_code(prof, code, globals): runs the module code object `code` in
 * `globals` between a start and a stop of prof (its methods' Python
 * halves prof._start_prep() and prof._stop_done(ours)), the code without
 * a caller.  Returns None or raises what the code raised, after the stop.
 */
static PyObject *run_code(PyObject *mod, PyObject *args)
{
    PyObject *prof, *code, *globals, *func, *prep, *res, *ours, *done;
    PyThreadState *ts;
    saved_error e;
    void *frames;
    const void *bottom;
    int in, rc;

    (void)mod;
    if (!PyArg_ParseTuple(args, "OO!O!:run_code", &prof, &PyCode_Type,
                          &code, &PyDict_Type, &globals))
        return NULL;
    func = PyFunction_New(code, globals);
    if (func == NULL)
        return NULL;
    prep = PyObject_CallMethod(prof, "_start_prep", NULL);
    if (prep == NULL)
        goto fail;
    in = evprof__in_hook;
    rc = evp_gate_start_run(prep, Py_None);
    if (rc == 0 && prep != Py_None) {
        /* What the interpreter allocates to enter the module's frame
         * belongs to the module, as after its call. */
        evprof_context_set(evp_code_key(
            (Profiler *)PyTuple_GET_ITEM(prep, 0), (PyCodeObject *)code));
    }
    Py_DECREF(prep);
    evprof__in_hook = in;
    if (rc != 0)
        goto fail;
    ts = PyThreadState_Get();
    bottom = evp_monitoring_hide_callers();
    frames = detach(ts);
    res = PyObject_CallObject(func, NULL);
    attach(ts, frames);
    evp_monitoring_set_bottom(bottom);
    error_save(&e);
    ours = evp_gate_stop_run(prof, Py_None);
    done = ours != NULL ? PyObject_CallMethod(prof, "_stop_done", "O", ours)
                        : NULL;
    Py_XDECREF(ours);
    if (done == NULL) {
        /* The stop failed: the code's own exception comes first. */
        if (e.a != NULL || e.b != NULL)
            PyErr_WriteUnraisable(prof);
        else {
            Py_XDECREF(res);
            Py_DECREF(func);
            return NULL;
        }
    }
    Py_XDECREF(done);
    error_restore(&e);
    Py_DECREF(func);
    if (res == NULL)
        return NULL;
    Py_DECREF(res);
    Py_RETURN_NONE;
fail:
    Py_DECREF(func);
    return NULL;
}


static PyMethodDef run_methods[] = {
    {"run_code", run_code, METH_VARARGS,
     "run_code(prof, code, globals): runs a module's code under prof, "
     "without a caller; raises what it raised, after the stop."},
    {NULL, NULL, 0, NULL}
};

int evp_gate_run_add(PyObject *m)
{
    if (PyModule_AddFunctions(m, run_methods) < 0)
        return -1;
    return PyModule_AddIntConstant(m, "CAN_DETACH", CAN_DETACH);
}
