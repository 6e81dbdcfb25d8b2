/*
 * _results.c: what a profiler holds, taken out: the events (moved into
 * the caller's arrays), the threads that logged, the registry of keys.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>

#include "_core.h"

PyObject *evp_Profiler_count(Profiler *self, PyObject *noarg)
{
    (void)noarg;
    return PyLong_FromSize_t(evprof_buffer_count(self->buf));
}

PyObject *evp_Profiler_lost(Profiler *self, PyObject *noarg)
{
    (void)noarg;
    return PyLong_FromUnsignedLongLong(evprof_buffer_lost(self->buf));
}

/* dump(events, threads, out_events=None, out_threads=None): moves events
 * into `events`, a writable C-contiguous int64 buffer of n * 6 items, and
 * the index of their thread into `threads` (uint32, n items); returns how
 * many.  With the two lists, events[:k] and threads[:k] are appended to
 * them in the same call: no Python code (a signal handler dumping too)
 * runs between the move and the append, so nothing moved is lost and the
 * parts stay in time order. */
PyObject *evp_Profiler_dump(Profiler *self, PyObject *args)
{
    PyObject *oev, *oth, *lev = Py_None, *lth = Py_None;
    Py_buffer bev, bth;
    size_t max, n;

    if (!PyArg_ParseTuple(args, "OO|OO:dump", &oev, &oth, &lev, &lth))
        return NULL;
    if ((lev == Py_None) != (lth == Py_None)
        || (lev != Py_None && (!PyList_Check(lev) || !PyList_Check(lth)))) {
        PyErr_SetString(PyExc_TypeError,
                        "out_events and out_threads are two lists or None");
        return NULL;
    }
    if (PyObject_GetBuffer(oev, &bev, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS
                           | PyBUF_FORMAT) != 0)
        return NULL;
    if (PyObject_GetBuffer(oth, &bth, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS
                           | PyBUF_FORMAT) != 0) {
        PyBuffer_Release(&bev);
        return NULL;
    }
    if (bev.itemsize != 8 || bth.itemsize != 4
        || (size_t)bev.len / sizeof(evprof_event) * 4
           > (size_t)bth.len) {
        PyBuffer_Release(&bev);
        PyBuffer_Release(&bth);
        PyErr_SetString(PyExc_ValueError,
                        "dump needs an int64 buffer of n*6 items and a "
                        "uint32 buffer of n items");
        return NULL;
    }
    /* Lists with room for one more item: the appends below cannot fail
     * after the events were moved. */
    if (lev != Py_None
        && (PyList_Append(lev, Py_None) != 0
            || PyList_Append(lth, Py_None) != 0)) {
        if (PyList_GET_SIZE(lev) > 0
            && PyList_GET_ITEM(lev, PyList_GET_SIZE(lev) - 1) == Py_None)
            (void)PyList_SetSlice(lev, PyList_GET_SIZE(lev) - 1,
                                  PyList_GET_SIZE(lev), NULL);
        PyBuffer_Release(&bev);
        PyBuffer_Release(&bth);
        return NULL;
    }
    max = (size_t)bev.len / sizeof(evprof_event);
    n = evprof_buffer_dump_ex(self->buf, bev.buf, bth.buf, max);
    PyBuffer_Release(&bev);
    PyBuffer_Release(&bth);
    if (lev != Py_None) {
        Py_ssize_t ie = PyList_GET_SIZE(lev) - 1;
        Py_ssize_t it = PyList_GET_SIZE(lth) - 1;
        PyObject *pe, *pt;

        if (n == 0) {
            (void)PyList_SetSlice(lev, ie, ie + 1, NULL);
            (void)PyList_SetSlice(lth, it, it + 1, NULL);
            return PyLong_FromSize_t(0);
        }
        if (n == max) {
            /* The common case (sized by count()): the arrays whole. */
            pe = oev;
            pt = oth;
            Py_INCREF(pe);
            Py_INCREF(pt);
        } else {
            pe = PySequence_GetSlice(oev, 0, (Py_ssize_t)n);
            pt = pe ? PySequence_GetSlice(oth, 0, (Py_ssize_t)n) : NULL;
            if (pt == NULL) {
                /* Moved out but not kept: say so rather than lose them
                 * silently. */
                Py_XDECREF(pe);
                (void)PyList_SetSlice(lev, ie, ie + 1, NULL);
                (void)PyList_SetSlice(lth, it, it + 1, NULL);
                return NULL;
            }
        }
        PyList_SET_ITEM(lev, ie, pe); /* replaces None: a borrowed one */
        PyList_SET_ITEM(lth, it, pt);
        Py_DECREF(Py_None);
        Py_DECREF(Py_None);
    }
    return PyLong_FromSize_t(n);
}

PyObject *evp_Profiler_threads(Profiler *self, PyObject *noarg)
{
    size_t n = evprof_buffer_thread_count(self->buf), i;
    PyObject *list = PyList_New((Py_ssize_t)n);

    (void)noarg;
    if (list == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        evprof_thread_info info = {0, 0};
        PyObject *t;

        if (evprof_buffer_thread(self->buf, i, &info) != 0)
            info.ident = 0;
        t = Py_BuildValue("(KL)", (unsigned long long)info.ident,
                          (long long)info.native_id);
        if (t == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    return list;
}

PyObject *evp_Profiler_key_base(Profiler *self, PyObject *noarg)
{
    (void)noarg;
    return PyLong_FromLongLong(self->reg.base);
}

PyObject *evp_Profiler_registry(Profiler *self, PyObject *noarg)
{
    size_t n, i;
    PyObject **v = reg_snapshot(&self->reg, &n);
    PyObject *list;

    (void)noarg;
    if (v == NULL && reg_count(&self->reg) != 0)
        return PyErr_NoMemory();
    list = PyList_New((Py_ssize_t)n);
    for (i = 0; i < n; i++) {
        if (list != NULL)
            PyList_SET_ITEM(list, (Py_ssize_t)i, v[i]); /* steals it */
        else
            Py_DECREF(v[i]);
    }
    free(v);
    return list;
}

/* A fresh buffer and an empty registry; 0, or -1 with MemoryError (and
 * nothing changed). */
int evp_reset(Profiler *self)
{
    evprof_buffer *b = evprof_buffer_new(self->size, EVPROF_GROW);
    evprof_buffer *old = EVP_LOAD(&self->buf);

    if (self->reading) {
        evprof_buffer_free(b);
        PyErr_SetString(PyExc_RuntimeError,
                        "cannot reset a profiler while its events are read");
        return -1;
    }
    if (b == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    /* Not running: no hook logs into the old buffer any more. */
    EVP_STORE(&self->buf, b);
    evprof_buffer_free(old);
    /* Threads may still carry a context (a key) of this run: the keys of
     * the next run start above them. */
    self->reg.base += (int64_t)reg_count(&self->reg);
    reg_clear(&self->reg);
    return 0;
}

/* reset(): not while hooked. */
PyObject *evp_Profiler_reset(Profiler *self, PyObject *noarg)
{
    (void)noarg;
    if (evp_memory_owned(self) || self->active) {
        PyErr_SetString(PyExc_RuntimeError,
                        "cannot reset a running profiler");
        return NULL;
    }
    if (evp_reset(self) != 0)
        return NULL;
    Py_RETURN_NONE;
}
