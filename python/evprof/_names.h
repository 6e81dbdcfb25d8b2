/*
 * _names.h: keys of the registry described for a trace file (_names.c),
 * for the stream that writes them (_stream.c).
 */
#ifndef EVPROF_PY_NAMES_H
#define EVPROF_PY_NAMES_H 1

#include <Python.h>
#include <stddef.h>
#include <stdint.h>

#include "evprof.h"

/* A NAMES record (its strings in text[]) and, for code, its line table:
 * [start, end) -> line ranges of instruction offsets.  Plain malloc. */
struct evp_name {
    struct evp_name *next;
    evprof_trace_name rec;  /* strings in text[] */
    size_t nranges;         /* code: [start, end) -> line */
    int64_t *ranges;        /* 3 a range */
    char text[];            /* name, module, file, each NUL-ended */
};

/* The record of registry entry `obj` under `key` (a code object, a
 * builtin, or the (qualname, module) of a bound builtin), or NULL when
 * out of memory.  The GIL held; no exception is left set, and what it
 * allocates through Python is not logged as the program's. */
struct evp_name *evp_name_of(int64_t key, PyObject *obj);

/* Frees a list of records (linked by next). */
void evp_names_free(struct evp_name *p);

/* The UTF-8 bytes of str(o) (lone surrogates as the bytes they stand
 * for); NULL for None or on error (cleared). */
PyObject *evp_utf8_of(PyObject *o);

#endif /* EVPROF_PY_NAMES_H */
