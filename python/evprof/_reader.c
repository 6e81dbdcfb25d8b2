/*
 * _reader.c: evprof._core.TraceReader, the C library's trace file reader
 * (lib/trace_read.c, checked against every truncation and fuzzed) for
 * Python, so that evprof.load() and C programs read traces with the same
 * code and agree on what a valid file is.
 *
 * Events are read in blocks straight into one growing block of memory,
 * handed to Python as a TraceBuffer: an object with the buffer protocol
 * (int64 rows of six columns, or uint32 thread indices) that numpy views
 * without a copy; nothing here imports numpy.  Names and META values are
 * decoded as UTF-8 with errors='surrogateescape', so a name that is not
 * UTF-8 (a path in a Latin-1 directory) is read, not refused, and writing
 * it back gives the original bytes.  Errors of the file raise
 * evprof.tracefile.TraceFileError (a ValueError, defined here) with the
 * reader's message, which says what is wrong and at which offset.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "evprof.h"
#include "_reader.h"
#include "_writer.h"

/* Events asked of the reader at a time: one section as writers cut them,
 * so that progress comes as often as it did section by section. */
#define READ_BLOCK 65536
#define NO_THREAD UINT32_MAX

/* Events go to Python as rows of six 'q' items, as the reader wrote them. */
_Static_assert(sizeof(evprof_event) == EVPROF_N_COLUMNS * sizeof(int64_t),
               "evprof_event has padding");

static PyObject *TraceFileError;

/* ---- TraceBuffer: memory that numpy can view ------------------------- */

typedef struct {
    PyObject_HEAD
    void *data;              /* PyMem_RawMalloc'd, never resized once here */
    int ndim;
    Py_ssize_t shape[2];
    Py_ssize_t strides[2];
    Py_ssize_t itemsize;
    char format[2];
} TraceBuffer;

static int TraceBuffer_getbuffer(TraceBuffer *self, Py_buffer *view,
                                 int flags)
{
    Py_ssize_t len = self->shape[0] * self->strides[0];

    if (!(flags & PyBUF_ND))
        return PyBuffer_FillInfo(view, (PyObject *)self, self->data, len, 0,
                                 flags);
    view->obj = (PyObject *)self;
    Py_INCREF(self);
    view->buf = self->data;
    view->len = len;
    view->readonly = 0;
    view->itemsize = self->itemsize;
    view->format = flags & PyBUF_FORMAT ? self->format : NULL;
    view->ndim = self->ndim;
    view->shape = self->shape;
    view->strides = (flags & PyBUF_STRIDES) == PyBUF_STRIDES
        ? self->strides : NULL;
    view->suboffsets = NULL;
    view->internal = NULL;
    return 0;
}

static void TraceBuffer_dealloc(TraceBuffer *self)
{
    PyMem_RawFree(self->data);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *TraceBuffer_get_shape(TraceBuffer *self, void *closure)
{
    (void)closure;
    if (self->ndim == 1)
        return Py_BuildValue("(n)", self->shape[0]);
    return Py_BuildValue("(nn)", self->shape[0], self->shape[1]);
}

static PyBufferProcs TraceBuffer_as_buffer = {
    (getbufferproc)TraceBuffer_getbuffer, NULL
};

static PyGetSetDef TraceBuffer_getset[] = {
    { "shape", (getter)TraceBuffer_get_shape, NULL, "rows[, columns]", NULL },
    { NULL, NULL, NULL, NULL, NULL }
};

static PyTypeObject TraceBuffer_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "evprof._core.TraceBuffer",
    .tp_basicsize = sizeof(TraceBuffer),
    .tp_dealloc = (destructor)TraceBuffer_dealloc,
    .tp_as_buffer = &TraceBuffer_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Events, thread indices or lines read from a trace file, for\n"
              "numpy.asarray() (the buffer protocol; no copy).",
    .tp_getset = TraceBuffer_getset,
};

/* A TraceBuffer owning `data` (freed here on failure): `rows` rows of
 * `cols` items of `itemsize` bytes, `format` as in the struct module. */
static PyObject *buffer_new(void *data, Py_ssize_t rows, Py_ssize_t cols,
                            Py_ssize_t itemsize, char format)
{
    TraceBuffer *b = PyObject_New(TraceBuffer, &TraceBuffer_Type);

    if (b == NULL) {
        PyMem_RawFree(data);
        return NULL;
    }
    b->data = data;
    b->ndim = cols > 0 ? 2 : 1;
    b->itemsize = itemsize;
    b->shape[0] = rows;
    b->shape[1] = cols;
    b->strides[1] = itemsize;
    b->strides[0] = itemsize * (cols > 0 ? cols : 1);
    b->format[0] = format;
    b->format[1] = '\0';
    return (PyObject *)b;
}

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

/* Makes room for `need` events in *ev and *thr (capacity *cap). */
static int grow(evprof_event **ev, uint32_t **thr, size_t *cap, size_t need)
{
    size_t n = *cap;
    void *p;

    if (need <= n)
        return 0;
    /* Doubling: glibc moves big blocks with mremap, so growing costs
     * neither a copy nor twice the memory. */
    while (n < need)
        n = n < READ_BLOCK ? READ_BLOCK : n * 2;
    if (n > PY_SSIZE_T_MAX / sizeof(**ev))
        return -1;
    p = PyMem_RawRealloc(*ev, n * sizeof(**ev));
    if (p == NULL)
        return -1;
    *ev = p;
    p = PyMem_RawRealloc(*thr, n * sizeof(**thr));
    if (p == NULL)
        return -1;
    *thr = p;
    *cap = n;
    return 0;
}

/* The memory of p cut to n items (>= 1) of size sz; p when it cannot. */
static void *shrink(void *p, size_t n, size_t sz)
{
    void *q = PyMem_RawRealloc(p, (n ? n : 1) * sz);

    return q != NULL ? q : p;
}

/*
 * read(progress=None, partial=False): every event up to the END section,
 * checked, as
 * (events, thread): a TraceBuffer of int64 (n, 6) and one of uint32 (n,)
 * thread indices (NO_THREAD for the events of sections without them), or
 * None when no section has any.  progress(n) is called with the events
 * read so far.  With partial true, a file cut off (no END section, a
 * section cut short: a writer killed) gives the events of its complete
 * sections, and `truncated` says where it was cut; any other damage
 * raises all the same.
 */
static PyObject *TraceReader_read(TraceReader *self, PyObject *args,
                                  PyObject *kw)
{
    static char *kwlist[] = { "progress", "partial", NULL };
    PyObject *progress = Py_None, *events, *thread;
    evprof_event *ev = NULL;
    uint32_t *thr = NULL;
    size_t n = 0, cap = 0, i;
    int64_t got;
    int indexed = 0, partial = 0;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|Op:read", kwlist, &progress,
                                     &partial))
        return NULL;
    if (evp_reader_usable(self) < 0)
        return NULL;
    Py_CLEAR(self->cut);
    for (;;) {
        if (grow(&ev, &thr, &cap, n + READ_BLOCK) < 0) {
            PyErr_Format(PyExc_MemoryError, "%U: no memory for %zu events",
                         self->path, n + READ_BLOCK);
            goto fail;
        }
        self->busy = 1;
        Py_BEGIN_ALLOW_THREADS
        got = evprof_trace_read_events(self->r, ev + n, thr + n, READ_BLOCK);
        Py_END_ALLOW_THREADS
        self->busy = 0;
        if (got < 0 && partial && got == -ENODATA) {
            self->cut = PyUnicode_FromFormat(
                "%U: %s", self->path, evprof_trace_reader_error(self->r));
            if (self->cut == NULL)
                goto fail;
            break;
        }
        if (got < 0) {
            evp_reader_raise(self, (int)got);
            goto fail;
        }
        if (got == 0)
            break;
        for (i = n; !indexed && i < n + (size_t)got; i++)
            indexed = thr[i] != NO_THREAD;
        n += (size_t)got;
        if (progress != Py_None) {
            PyObject *r = PyObject_CallFunction(progress, "n",
                                                (Py_ssize_t)n);
            if (r == NULL)
                goto fail;
            Py_DECREF(r);
        }
        if (PyErr_CheckSignals() < 0)
            goto fail;
    }
    ev = shrink(ev, n, sizeof(*ev));
    if (indexed) {
        thr = shrink(thr, n, sizeof(*thr));
    } else {
        PyMem_RawFree(thr);
        thr = NULL;
    }
    /* evprof_event is six int64, no padding: rows of 6 'q'. */
    events = buffer_new(ev, (Py_ssize_t)n, EVPROF_N_COLUMNS, sizeof(int64_t),
                        'q');
    if (events == NULL) {
        PyMem_RawFree(thr);
        return NULL;
    }
    if (thr == NULL) {
        thread = Py_None;
        Py_INCREF(thread);
    } else if ((thread = buffer_new(thr, (Py_ssize_t)n, 0, sizeof(uint32_t),
                                    'I')) == NULL) {
        Py_DECREF(events);
        return NULL;
    }
    return Py_BuildValue("(NN)", events, thread);
fail:
    PyMem_RawFree(ev);
    PyMem_RawFree(thr);
    return NULL;
}

/* A str of the bytes of a C string, any bytes. */
static PyObject *decode(const char *s)
{
    return PyUnicode_DecodeUTF8(s != NULL ? s : "",
                                s != NULL ? (Py_ssize_t)strlen(s) : 0,
                                "surrogateescape");
}

static PyObject *TraceReader_meta(TraceReader *self, PyObject *key)
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

static PyObject *TraceReader_meta_pairs(TraceReader *self, PyObject *noarg)
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

static PyObject *TraceReader_threads(TraceReader *self, PyObject *noarg)
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

static PyObject *TraceReader_names(TraceReader *self, PyObject *noarg)
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
static PyObject *TraceReader_lines(TraceReader *self, PyObject *noarg)
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
    return buffer_new(v, (Py_ssize_t)n, 3, sizeof(*v), 'q');
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
    { "read", (PyCFunction)(void (*)(void))TraceReader_read,
      METH_VARARGS | METH_KEYWORDS,
      "read(progress=None, partial=False): every event up to the END\n"
      "section, checked, as (events, thread): int64 (n, 6) and uint32 (n,)\n"
      "TraceBuffers (thread None when no section has thread indices;\n"
      "0xFFFFFFFF for the events of those without); progress(n) gets the\n"
      "count so far.  partial: a file cut off gives the events of its\n"
      "complete sections (truncated then says where it was cut)." },
    { "meta", (PyCFunction)TraceReader_meta, METH_O,
      "meta(key): the META value of key (the last one), or None." },
    { "meta_pairs", (PyCFunction)TraceReader_meta_pairs, METH_NOARGS,
      "meta_pairs(): [(key, value)] of every META section, in file order." },
    { "threads", (PyCFunction)TraceReader_threads, METH_NOARGS,
      "threads(): [(ident, native_id, pid)] by thread index." },
    { "names", (PyCFunction)TraceReader_names, METH_NOARGS,
      "names(): [(key, kind, first_line, name, module, file)], in the\n"
      "order of the file." },
    { "lines", (PyCFunction)TraceReader_lines, METH_NOARGS,
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
    if (PyType_Ready(&TraceBuffer_Type) < 0
        || PyType_Ready(&TraceReader_Type) < 0)
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
    Py_INCREF(&TraceBuffer_Type);
    if (PyModule_AddObject(module, "TraceBuffer",
                           (PyObject *)&TraceBuffer_Type) < 0) {
        Py_DECREF(&TraceBuffer_Type);
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
