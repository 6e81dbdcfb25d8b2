/*
 * _reader_tables.c: the tables of a trace file for Python (TraceReader's
 * meta, meta_pairs, threads, names and lines: python/evprof/_reader.c),
 * as the C reader kept them.  Names and META values are decoded as UTF-8
 * with errors='surrogateescape', so a name that is not UTF-8 (a path in
 * a Latin-1 directory) is read, not refused, and writing it back gives
 * the original bytes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "evprof.h"
#include "_reader.h"

/* A str of the bytes of a C string, any bytes. */
static PyObject *decode(const char *s)
{
    return PyUnicode_DecodeUTF8(s != NULL ? s : "",
                                s != NULL ? (Py_ssize_t)strlen(s) : 0,
                                "surrogateescape");
}

PyObject *evp_TraceReader_meta(TraceReader *self, PyObject *key)
{
    PyObject *bytes;
    const char *value;

    if (evp_reader_usable(self) < 0)
        return NULL;
    if (!PyUnicode_Check(key)) {
        PyErr_Format(PyExc_TypeError, "a META key is a str, not %s",
                     Py_TYPE(key)->tp_name);
        return NULL;
    }
    bytes = PyUnicode_AsEncodedString(key, "utf-8", "surrogateescape");
    if (bytes == NULL)
        return NULL;
    if ((size_t)PyBytes_GET_SIZE(bytes) != strlen(PyBytes_AS_STRING(bytes)))
        value = NULL; /* a key with a NUL byte: not in any file */
    else
        value = evprof_trace_reader_meta(self->r, PyBytes_AS_STRING(bytes));
    Py_DECREF(bytes);
    if (value == NULL)
        Py_RETURN_NONE;
    return decode(value);
}

PyObject *evp_TraceReader_meta_pairs(TraceReader *self, PyObject *noarg)
{
    size_t n, i;
    PyObject *list;

    (void)noarg;
    if (evp_reader_usable(self) < 0)
        return NULL;
    n = evprof_trace_reader_meta_count(self->r);
    list = PyList_New((Py_ssize_t)n);
    if (list == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        const char *k, *v;
        PyObject *item, *ok, *ov;

        if (evprof_trace_reader_meta_pair(self->r, i, &k, &v) != 0) {
            Py_DECREF(list);
            return PyErr_Format(PyExc_RuntimeError, "META pair %zu vanished",
                                i);
        }
        ok = decode(k);
        ov = ok != NULL ? decode(v) : NULL;
        item = ov != NULL ? PyTuple_Pack(2, ok, ov) : NULL;
        Py_XDECREF(ok);
        Py_XDECREF(ov);
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    return list;
}

PyObject *evp_TraceReader_threads(TraceReader *self, PyObject *noarg)
{
    size_t n, i;
    PyObject *list;

    (void)noarg;
    if (evp_reader_usable(self) < 0)
        return NULL;
    n = evprof_trace_reader_thread_count(self->r);
    list = PyList_New((Py_ssize_t)n);
    if (list == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        evprof_thread_info t;
        PyObject *item;

        if (evprof_trace_reader_thread(self->r, i, &t) != 0) {
            Py_DECREF(list);
            return PyErr_Format(PyExc_RuntimeError, "thread %zu vanished",
                                i);
        }
        item = Py_BuildValue("(KLL)", (unsigned long long)t.ident,
                             (long long)t.native_id,
                             (long long)evprof_trace_reader_thread_pid(
                                 self->r, i));
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    return list;
}

PyObject *evp_TraceReader_names(TraceReader *self, PyObject *noarg)
{
    size_t n, i;
    PyObject *list;

    (void)noarg;
    if (evp_reader_usable(self) < 0)
        return NULL;
    n = evprof_trace_reader_name_count(self->r);
    list = PyList_New((Py_ssize_t)n);
    if (list == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        evprof_trace_name e;
        PyObject *item;

        if (evprof_trace_reader_name(self->r, i, &e) != 0) {
            Py_DECREF(list);
            return PyErr_Format(PyExc_RuntimeError, "name %zu vanished", i);
        }
        item = Py_BuildValue("(LiiNNN)", (long long)e.key, (int)e.kind,
                             (int)e.first_line, decode(e.name),
                             decode(e.module), decode(e.file));
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    return list;
}

/* lines(): a TraceBuffer of int64 (n, 3): key, offset, line. */
PyObject *evp_TraceReader_lines(TraceReader *self, PyObject *noarg)
{
    size_t n, i;
    int64_t *v;

    (void)noarg;
    if (evp_reader_usable(self) < 0)
        return NULL;
    n = evprof_trace_reader_line_count(self->r);
    if (n > PY_SSIZE_T_MAX / (3 * sizeof(*v)))
        return PyErr_NoMemory();
    v = PyMem_RawMalloc((n ? n : 1) * 3 * sizeof(*v));
    if (v == NULL)
        return PyErr_NoMemory();
    for (i = 0; i < n; i++) {
        evprof_trace_line l;

        if (evprof_trace_reader_line(self->r, i, &l) != 0) {
            PyMem_RawFree(v);
            return PyErr_Format(PyExc_RuntimeError, "line %zu vanished", i);
        }
        v[3 * i] = l.key;
        v[3 * i + 1] = l.offset;
        v[3 * i + 2] = l.line;
    }
    return evp_buffer_new(v, (Py_ssize_t)n, 3, sizeof(*v), 'q');
}
