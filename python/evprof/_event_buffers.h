/*
 * _event_buffers.h: the caller's block of events (int64, k*6 items) and,
 * unless None, of thread indices (uint32, k items at least), taken as
 * writable buffers by every method that reads events into them.
 */
#ifndef EVPROF_PY_EVENT_BUFFERS_H
#define EVPROF_PY_EVENT_BUFFERS_H

#include <Python.h>

#include "evprof.h"

/* Takes both buffers and sets *k to the events they hold, or sets
 * ValueError(msg) (also for fewer than min events), holds nothing and
 * returns -1. */
static inline int evp_event_buffers(PyObject *oev, PyObject *oth,
                                    Py_buffer *bev, Py_buffer *bth,
                                    size_t min, const char *msg, size_t *k)
{
    const int flags = PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS | PyBUF_FORMAT;

    if (PyObject_GetBuffer(oev, bev, flags) != 0)
        return -1;
    if (oth != Py_None && PyObject_GetBuffer(oth, bth, flags) != 0) {
        PyBuffer_Release(bev);
        return -1;
    }
    *k = (size_t)bev->len / sizeof(evprof_event);
    if (bev->itemsize != 8 || (size_t)bev->len % sizeof(evprof_event) != 0
        || *k < min
        || (oth != Py_None
            && (bth->itemsize != 4 || (size_t)bth->len / 4 < *k))) {
        PyErr_SetString(PyExc_ValueError, msg);
        PyBuffer_Release(bev);
        if (oth != Py_None)
            PyBuffer_Release(bth);
        return -1;
    }
    return 0;
}

#endif /* EVPROF_PY_EVENT_BUFFERS_H */
