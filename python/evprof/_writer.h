/*
 * _writer.h: the trace file types of evprof._core: the writer (_writer.c)
 * and the reader (_reader.c), each added to the module by its function.
 */
#ifndef EVPROF_PY_WRITER_H
#define EVPROF_PY_WRITER_H 1

#include <Python.h>

/* Adds evprof._core.TraceWriter to the module: 0, or -1 with an error. */
int evprof_py_add_writer(PyObject *module);

/* The library's writer behind a TraceWriter, for the profiler's own
 * writing (_events.c); NULL with TypeError / ValueError (closed). */
struct evprof_trace_writer *evprof_py_writer_get(PyObject *obj);
/* Raises the exception of a library code for a TraceWriter; NULL. */
PyObject *evprof_py_writer_raise(PyObject *obj, int code);

/* Adds evprof._core.TraceReader, TraceBuffer and TraceFileError: 0, or -1
 * with an error. */
int evprof_py_add_reader(PyObject *module);

#endif /* EVPROF_PY_WRITER_H */
