/*
 * _reader.h: evprof._core.TraceReader (_reader.c), shared with its
 * parts: the events read whole into TraceBuffers (_reader_read.c), the
 * tables (_reader_tables.c), and the reading of a file a block at a time
 * into a DataFrame (_reader_blocks.c).
 */
#ifndef EVPROF_PY_READER_H
#define EVPROF_PY_READER_H 1

#include <Python.h>

#include "evprof.h"

typedef struct {
    PyObject_HEAD
    evprof_trace_reader *r;
    PyObject *path;  /* str, for messages */
    PyObject *cut;   /* the reader's message when a read with partial
                      * true stopped at a cut, else NULL */
    int busy;        /* reading with the GIL released */
} TraceReader;

/* Raises what fits a negative code of the reader, with its message;
 * NULL. */
PyObject *evp_reader_raise(TraceReader *self, int code);
/* 0, or -1 with an exception when closed or reading in another thread. */
int evp_reader_usable(TraceReader *self);

/* A TraceBuffer owning `data` (freed on failure): `rows` rows of `cols`
 * items (0: a vector) of `itemsize` bytes, `format` as in the struct
 * module (_reader_read.c); the type added to the module. */
PyObject *evp_buffer_new(void *data, Py_ssize_t rows, Py_ssize_t cols,
                         Py_ssize_t itemsize, char format);
int evp_add_trace_buffer(PyObject *module);

/* The methods of TraceReader: read (_reader_read.c), the tables
 * (_reader_tables.c), skim and read_into (_reader_blocks.c). */
PyObject *evp_TraceReader_read(TraceReader *self, PyObject *args,
                               PyObject *kw);
PyObject *evp_TraceReader_meta(TraceReader *self, PyObject *key);
PyObject *evp_TraceReader_meta_pairs(TraceReader *self, PyObject *noarg);
PyObject *evp_TraceReader_threads(TraceReader *self, PyObject *noarg);
PyObject *evp_TraceReader_names(TraceReader *self, PyObject *noarg);
PyObject *evp_TraceReader_lines(TraceReader *self, PyObject *noarg);
PyObject *evp_TraceReader_skim(TraceReader *self, PyObject *noarg);
PyObject *evp_TraceReader_read_into(TraceReader *self, PyObject *args,
                                    PyObject *kw);

#endif
