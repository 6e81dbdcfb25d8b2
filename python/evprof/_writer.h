/*
 * _writer.h: the trace writer type of evprof._core (_writer.c).
 */
#ifndef EVPROF_PY_WRITER_H
#define EVPROF_PY_WRITER_H 1

#include <Python.h>

/* Adds evprof._core.TraceWriter to the module: 0, or -1 with an error. */
int evprof_py_add_writer(PyObject *module);

#endif /* EVPROF_PY_WRITER_H */
