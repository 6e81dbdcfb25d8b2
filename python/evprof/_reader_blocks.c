/*
 * _reader_blocks.c: a trace file read a block at a time, for a DataFrame
 * built as the events come (evprof.tracefile.load): skim() reads the
 * tables first, passing over the events (the names come after the events
 * in the file), so that the frame's size is known and each block of
 * events is named as it is read; read_into() then reads the events into
 * the caller's block, which is all the memory the events take.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <stdint.h>

#include "evprof.h"
#include "trace-read-private.h"
#include "_reader.h"
#include "_event_buffers.h"

/* skim(): (events, code, message): the events of the sections passed
 * over, and 0 and None, or the error that stopped it (a positive errno:
 * ENODATA for a cut file) and the reader's message. */
PyObject *evp_TraceReader_skim(TraceReader *self, PyObject *noarg)
{
    int code;

    (void)noarg;
    if (evp_reader_usable(self) < 0)
        return NULL;
    self->busy = 1;
    Py_BEGIN_ALLOW_THREADS
    code = evprof__trace_reader_skim(self->r);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    if (code == 0)
        return Py_BuildValue("(KiO)",
                             (unsigned long long)evprof_trace_reader_events(
                                 self->r), 0, Py_None);
    return Py_BuildValue("(KiN)",
                         (unsigned long long)evprof_trace_reader_events(
                             self->r), -code,
                         PyUnicode_FromFormat(
                             "%U: %s", self->path,
                             evprof_trace_reader_error(self->r)));
}

/* read_into(events, thread=None, partial=False): the next events, at most
 * as many as `events` (a writable int64 buffer of k * 6 items) holds, and
 * their thread indices into `thread` (uint32, k items); how many, 0 at
 * the end.  With partial true, a cut file ends as read(partial=True)
 * does: 0, and `truncated` says where. */
PyObject *evp_TraceReader_read_into(TraceReader *self, PyObject *args,
                                    PyObject *kw)
{
    static char *kwlist[] = { "events", "thread", "partial", NULL };
    PyObject *oev, *oth = Py_None;
    Py_buffer bev, bth = {0};
    int partial = 0;
    size_t max;
    int64_t got;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|Op:read_into", kwlist,
                                     &oev, &oth, &partial))
        return NULL;
    if (evp_reader_usable(self) < 0)
        return NULL;
    if (evp_event_buffers(oev, oth, &bev, &bth, 0,
                          "read_into needs an int64 buffer of k*6 items and "
                          "a uint32 buffer of k items", &max) != 0)
        return NULL;
    self->busy = 1;
    Py_BEGIN_ALLOW_THREADS
    got = evprof_trace_read_events(self->r, bev.buf,
                                   oth != Py_None ? bth.buf : NULL, max);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    if (got == -ENODATA && partial) {
        if (self->cut == NULL)
            self->cut = PyUnicode_FromFormat(
                "%U: %s", self->path, evprof_trace_reader_error(self->r));
        got = self->cut != NULL ? 0 : -1;
    } else if (got < 0) {
        evp_reader_raise(self, (int)got);
        got = -1;
    }
    PyBuffer_Release(&bev);
    if (oth != Py_None)
        PyBuffer_Release(&bth);
    return got < 0 ? NULL : PyLong_FromLongLong(got);
}
