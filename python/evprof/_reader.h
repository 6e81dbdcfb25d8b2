/*
 * _reader.h: evprof._core.TraceReader (_reader.c), shared with the
 * reading of a file a block at a time into a DataFrame (_reader_blocks.c).
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

PyObject *evp_TraceReader_skim(TraceReader *self, PyObject *noarg);
PyObject *evp_TraceReader_read_into(TraceReader *self, PyObject *args,
                                    PyObject *kw);

#endif
