/*
 * _reader.c: evprof._core.TraceReader, the C library's trace file reader
 * (lib/trace_read.c, checked against every truncation and fuzzed) for
 * Python, so that evprof.load() and C programs read traces with the same
 * code and agree on what a valid file is: the type, its opening, header,
 * closing and errors.  Errors of the file raise
 * evprof.tracefile.TraceFileError (a ValueError, defined here) with the
 * reader's message, which says what is wrong and at which offset.  The
 * events read whole are _reader_read.c's, the tables _reader_tables.c's,
 * the reading a block at a time _reader_blocks.c's.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "evprof.h"
#include "_reader.h"
#include "_writer.h"

static PyObject *TraceFileError;

/* ---- TraceReader ------------------------------------------------------ */

/* Raises what fits a negative code of the reader, with its message. */
PyObject *evp_reader_raise(TraceReader *self, int code)
{
    const char *msg = self->r != NULL ? evprof_trace_reader_error(self->r)
                                      : "";
    PyObject *exc;

    if (msg[0] == '\0')
        msg = evprof_strerror(code);
    switch (code) {
    case -EBADMSG:
    case -ENODATA:
    case -EPROTO:
        PyErr_Format(TraceFileError, "%U: %s", self->path, msg);
        return NULL;
    case -ENOMEM:
        PyErr_Format(PyExc_MemoryError, "%U: %s", self->path, msg);
        return NULL;
    case -EINVAL:
        PyErr_Format(PyExc_ValueError, "%U: %s", self->path, msg);
        return NULL;
    default:
        /* OSError(errno, ...) picks the subclass: FileNotFoundError... */
        exc = PyObject_CallFunction(PyExc_OSError, "isO", -code,
                                    code == -EIO ? msg : strerror(-code),
                                    self->path);
        if (exc != NULL) {
            PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
            Py_DECREF(exc);
        }
        return NULL;
    }
}

int evp_reader_usable(TraceReader *self)
{
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the trace reader is reading in another thread");
        return -1;
    }
    if (self->r == NULL) {
        PyErr_SetString(PyExc_ValueError, "the trace reader is closed");
        return -1;
    }
    return 0;
}

static int TraceReader_init(TraceReader *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = { "path", NULL };
    PyObject *path = NULL, *bytes = NULL;
    int code;

    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the trace reader is reading in another thread");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:TraceReader", kwlist,
                                     PyUnicode_FSDecoder, &path))
        return -1;
    Py_XSETREF(self->path, path);
    Py_CLEAR(self->cut);
    evprof_trace_reader_close(self->r);
    self->r = NULL;
    if (!PyUnicode_FSConverter(path, &bytes))
        return -1;
    Py_BEGIN_ALLOW_THREADS
    code = evprof_trace_reader_open(PyBytes_AS_STRING(bytes), &self->r);
    Py_END_ALLOW_THREADS
    Py_DECREF(bytes);
    if (code < 0) {
        evp_reader_raise(self, code);
        evprof_trace_reader_close(self->r);
        self->r = NULL;
        return -1;
    }
    return 0;
}

static PyObject *TraceReader_info(TraceReader *self, PyObject *noarg)
{
    const evprof_trace_info *i;

    (void)noarg;
    if (evp_reader_usable(self) < 0)
        return NULL;
    i = evprof_trace_reader_info(self->r);
    if (i == NULL) {
        PyErr_SetString(PyExc_ValueError, "the trace reader has no header");
        return NULL;
    }
    return Py_BuildValue("{sIsIsisLsLsL}",
                         "version_major", (unsigned)i->version_major,
                         "version_minor", (unsigned)i->version_minor,
                         "clock", i->clock,
                         "pid", (long long)i->pid,
                         "created_realtime_ns",
                         (long long)i->created_realtime_ns,
                         "created_clock_ns", (long long)i->created_clock_ns);
}
static PyObject *TraceReader_close(TraceReader *self, PyObject *noarg)
{
    (void)noarg;
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the trace reader is reading in another thread");
        return NULL;
    }
    evprof_trace_reader_close(self->r);
    self->r = NULL;
    Py_RETURN_NONE;
}

static PyObject *TraceReader_get_lost(TraceReader *self, void *closure)
{
    (void)closure;
    if (evp_reader_usable(self) < 0)
        return NULL;
    return PyLong_FromUnsignedLongLong(evprof_trace_reader_lost(self->r));
}

static PyObject *TraceReader_get_truncated(TraceReader *self,
                                           void *closure)
{
    (void)closure;
    if (self->cut == NULL)
        Py_RETURN_NONE;
    Py_INCREF(self->cut);
    return self->cut;
}

static PyObject *TraceReader_get_closed(TraceReader *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(self->r == NULL);
}

static void TraceReader_dealloc(TraceReader *self)
{
    evprof_trace_reader_close(self->r);
    Py_XDECREF(self->path);
    Py_XDECREF(self->cut);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef TraceReader_methods[] = {
    { "info", (PyCFunction)TraceReader_info, METH_NOARGS,
      "info(): the header, a dict of ints." },
    { "read", (PyCFunction)(void (*)(void))evp_TraceReader_read,
      METH_VARARGS | METH_KEYWORDS,
      "read(progress=None, partial=False): every event up to the END\n"
      "section, checked, as (events, thread): int64 (n, 6) and uint32 (n,)\n"
      "TraceBuffers (thread None when no section has thread indices;\n"
      "0xFFFFFFFF for the events of those without); progress(n) gets the\n"
      "count so far.  partial: a file cut off gives the events of its\n"
      "complete sections (truncated then says where it was cut)." },
    { "meta", (PyCFunction)evp_TraceReader_meta, METH_O,
      "meta(key): the META value of key (the last one), or None." },
    { "meta_pairs", (PyCFunction)evp_TraceReader_meta_pairs, METH_NOARGS,
      "meta_pairs(): [(key, value)] of every META section, in file order." },
    { "threads", (PyCFunction)evp_TraceReader_threads, METH_NOARGS,
      "threads(): [(ident, native_id, pid)] by thread index." },
    { "names", (PyCFunction)evp_TraceReader_names, METH_NOARGS,
      "names(): [(key, kind, first_line, name, module, file)], in the\n"
      "order of the file." },
    { "lines", (PyCFunction)evp_TraceReader_lines, METH_NOARGS,
      "lines(): an int64 (n, 3) TraceBuffer of key, offset, line." },
    { "skim", (PyCFunction)evp_TraceReader_skim, METH_NOARGS,
      "skim(): reads the tables, passing over the events sections\n"
      "unread (a reader of its own then reads and checks the events);\n"
      "returns (events, error): the events of the sections passed and\n"
      "None, or the message of what stopped it (a cut, a damaged table)." },
    { "read_into", (PyCFunction)(void (*)(void))evp_TraceReader_read_into,
      METH_VARARGS | METH_KEYWORDS,
      "read_into(events, thread=None, partial=False): reads the next\n"
      "events into the writable int64 (k, 6) buffer events (and their\n"
      "thread indices into the uint32 (k,) buffer thread); returns how\n"
      "many, 0 at the end.  partial as for read()." },
    { "close", (PyCFunction)TraceReader_close, METH_NOARGS,
      "close(): closes the file (also done when the reader is freed)." },
    { NULL, NULL, 0, NULL }
};

static PyGetSetDef TraceReader_getset[] = {
    { "lost", (getter)TraceReader_get_lost, NULL,
      "events the writer counted lost (from the END section)", NULL },
    { "closed", (getter)TraceReader_get_closed, NULL, "closed or not",
      NULL },
    { "truncated", (getter)TraceReader_get_truncated, NULL,
      "after read(partial=True): None, or the message saying where the "
      "file was cut", NULL },
    { NULL, NULL, NULL, NULL, NULL }
};

static PyTypeObject TraceReader_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "evprof._core.TraceReader",
    .tp_basicsize = sizeof(TraceReader),
    .tp_dealloc = (destructor)TraceReader_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "TraceReader(path): reads a trace file (doc/trace-format.md)\n"
              "with libevprof's reader; the tables (meta, threads, names,\n"
              "lines, lost) are complete once read() returned.",
    .tp_methods = TraceReader_methods,
    .tp_getset = TraceReader_getset,
    .tp_init = (initproc)TraceReader_init,
    .tp_new = PyType_GenericNew,
};

int evprof_py_add_reader(PyObject *module)
{
    if (PyType_Ready(&TraceReader_Type) < 0
        || evp_add_trace_buffer(module) < 0)
        return -1;
    if (TraceFileError == NULL) {
        TraceFileError = PyErr_NewExceptionWithDoc(
            "evprof.tracefile.TraceFileError",
            "A file that is not a valid evprof trace: says what and where.",
            PyExc_ValueError, NULL);
        if (TraceFileError == NULL)
            return -1;
    }
    Py_INCREF(TraceFileError);
    if (PyModule_AddObject(module, "TraceFileError", TraceFileError) < 0) {
        Py_DECREF(TraceFileError);
        return -1;
    }
    Py_INCREF(&TraceReader_Type);
    if (PyModule_AddObject(module, "TraceReader",
                           (PyObject *)&TraceReader_Type) < 0) {
        Py_DECREF(&TraceReader_Type);
        return -1;
    }
    return 0;
}