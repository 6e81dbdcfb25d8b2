/*
 * _writer.c: evprof._core.TraceWriter, the C library's trace file writer
 * (lib/trace_write.c) for Python: EventProfiler.save() writes its files
 * with the same code as C programs do.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "evprof.h"
#include "_writer.h"

/* Sections may hold 64 MiB: names and lines go out in batches well below. */
#define NAMES_BATCH_BYTES ((size_t)16 << 20)
#define LINES_BATCH 262144
#define EVENTS_BATCH 65536

typedef struct {
    PyObject_HEAD
    evprof_trace_writer *w;
    PyObject *path;  /* str, for messages */
} TraceWriter;

/* Raises the exception that fits a negative code of the library. */
static PyObject *raise_code(TraceWriter *self, int code)
{
    PyObject *exc;

    switch (code) {
    case -EINVAL:
    case -EBADMSG:
        exc = PyExc_ValueError;
        break;
    case -ENOMEM:
        return PyErr_NoMemory();
    default:
        errno = -code;
        return PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError,
                                                    self->path);
    }
    PyErr_Format(exc, "%U: %s", self->path, evprof_strerror(code));
    return NULL;
}

static int check_open(TraceWriter *self)
{
    if (self->w == NULL) {
        PyErr_SetString(PyExc_ValueError, "the trace writer is closed");
        return -1;
    }
    return 0;
}

static int TraceWriter_init(TraceWriter *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = { "path", NULL };
    PyObject *path = NULL, *bytes = NULL;
    int code;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:TraceWriter", kwlist,
                                     PyUnicode_FSDecoder, &path))
        return -1;
    Py_XSETREF(self->path, path);
    if (self->w != NULL) {
        (void)evprof_trace_writer_close(self->w);
        self->w = NULL;
    }
    if (!PyUnicode_FSConverter(path, &bytes))
        return -1;
    Py_BEGIN_ALLOW_THREADS
    code = evprof_trace_writer_open(PyBytes_AS_STRING(bytes), &self->w);
    Py_END_ALLOW_THREADS
    Py_DECREF(bytes);
    if (code < 0) {
        self->w = NULL;
        raise_code(self, code);
        return -1;
    }
    return 0;
}

/*
 * The UTF-8 of str(obj); the bytes object made goes to `keep`.  Lone
 * surrogates (strings decoded from non-UTF-8 bytes with
 * errors='surrogateescape', as os.fsdecode and the trace reader do) are
 * written back as the bytes they stand for.  The file keeps lengths but
 * the C API takes C strings: a NUL would cut the string short, so it is
 * refused.
 */
static const char *encoded(PyObject *obj, PyObject *keep)
{
    PyObject *s, *b;
    const char *p = NULL;

    s = PyObject_Str(obj);
    if (s == NULL)
        return NULL;
    b = PyUnicode_AsEncodedString(s, "utf-8", "surrogateescape");
    if (b == NULL) {
        Py_DECREF(s);
        return NULL;
    }
    if (strlen(PyBytes_AS_STRING(b)) != (size_t)PyBytes_GET_SIZE(b))
        PyErr_Format(PyExc_ValueError, "%R: a trace file string cannot "
                     "hold a NUL character", s);
    else if (PyList_Append(keep, b) == 0)
        p = PyBytes_AS_STRING(b);
    Py_DECREF(s);
    Py_DECREF(b);
    return p;
}

/* As encoded(), "" for None. */
static const char *utf8_of(PyObject *obj, PyObject *keep)
{
    return obj == Py_None ? "" : encoded(obj, keep);
}

static PyObject *TraceWriter_write_meta(TraceWriter *self, PyObject *pairs)
{
    PyObject *key, *value, *keep;
    Py_ssize_t pos = 0;
    int code = 0;

    if (check_open(self) < 0)
        return NULL;
    if (!PyDict_Check(pairs)) {
        PyErr_Format(PyExc_TypeError, "write_meta() takes a dict, not %s",
                     Py_TYPE(pairs)->tp_name);
        return NULL;
    }
    keep = PyList_New(0);
    if (keep == NULL)
        return NULL;
    while (code == 0 && PyDict_Next(pairs, &pos, &key, &value)) {
        const char *k = encoded(key, keep);
        const char *v = k != NULL ? encoded(value, keep) : NULL;

        if (v == NULL) {
            Py_DECREF(keep);
            return NULL;
        }
        code = evprof_trace_write_meta(self->w, k, v);
    }
    Py_DECREF(keep);
    if (code < 0)
        return raise_code(self, code);
    Py_RETURN_NONE;
}

/* A sequence of (ident, native_id[, pid]) tuples; without a pid, the
 * thread is of this process. */
static PyObject *TraceWriter_write_threads(TraceWriter *self,
                                           PyObject *threads)
{
    PyObject *seq;
    evprof_thread_info *info;
    int64_t *pid;
    Py_ssize_t n, i;
    int code;

    if (check_open(self) < 0)
        return NULL;
    seq = PySequence_Fast(threads, "write_threads() takes a sequence");
    if (seq == NULL)
        return NULL;
    n = PySequence_Fast_GET_SIZE(seq);
    info = PyMem_Calloc((size_t)(n ? n : 1), sizeof(*info));
    pid = PyMem_Calloc((size_t)(n ? n : 1), sizeof(*pid));
    if (info == NULL || pid == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (i = 0; i < n; i++) {
        PyObject *t = PySequence_Fast_GET_ITEM(seq, i);
        unsigned long long ident;
        long long native, p = (long long)getpid();

        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) < 2
            || PyTuple_GET_SIZE(t) > 3) {
            PyErr_SetString(PyExc_TypeError,
                            "a thread is a tuple (ident, native_id[, pid])");
            goto fail;
        }
        ident = PyLong_AsUnsignedLongLongMask(PyTuple_GET_ITEM(t, 0));
        native = PyLong_AsLongLong(PyTuple_GET_ITEM(t, 1));
        if (PyTuple_GET_SIZE(t) == 3 && !PyErr_Occurred())
            p = PyLong_AsLongLong(PyTuple_GET_ITEM(t, 2));
        if (PyErr_Occurred())
            goto fail;
        info[i].ident = (uint64_t)ident;
        info[i].native_id = (int64_t)native;
        pid[i] = (int64_t)p;
    }
    code = evprof_trace_write_threads_pid(self->w, info, pid, (size_t)n);
    PyMem_Free(info);
    PyMem_Free(pid);
    Py_DECREF(seq);
    if (code < 0)
        return raise_code(self, code);
    Py_RETURN_NONE;
fail:
    PyMem_Free(info);
    PyMem_Free(pid);
    Py_DECREF(seq);
    return NULL;
}

/* Gets a C-contiguous buffer of `itemsize`-byte integers with `ndim`
 * dimensions (and `cols` columns when 2). */
static int get_ints(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize,
                    int ndim, Py_ssize_t cols, const char *what)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    if (view->itemsize != itemsize || view->ndim != ndim
        || (ndim == 2 && view->shape[1] != cols)
        || view->format == NULL
        || strchr("bBhHiIlLqQ", view->format[strlen(view->format) - 1])
           == NULL) {
        PyErr_Format(PyExc_ValueError, "%s must be a C-contiguous array of "
                     "%zd-byte integers with %d dimension(s)", what,
                     itemsize, ndim);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *TraceWriter_write_events(TraceWriter *self, PyObject *args,
                                          PyObject *kw)
{
    static char *kwlist[] = { "raw", "thread", "progress", NULL };
    PyObject *raw, *thread = Py_None, *progress = Py_None;
    Py_buffer ev, th;
    Py_ssize_t n, lo, hi;
    int code = 0;

    if (check_open(self) < 0)
        return NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OO:write_events", kwlist,
                                     &raw, &thread, &progress))
        return NULL;
    if (get_ints(raw, &ev, 8, 2, EVPROF_N_COLUMNS, "raw") < 0)
        return NULL;
    n = ev.shape[0];
    th.buf = NULL;
    if (thread != Py_None) {
        if (get_ints(thread, &th, 4, 1, 0, "thread") < 0) {
            PyBuffer_Release(&ev);
            return NULL;
        }
        if (th.shape[0] != n) {
            PyErr_Format(PyExc_ValueError, "%zd thread indices for %zd "
                         "events", th.shape[0], n);
            goto done;
        }
    }
    for (lo = 0; lo < n && code == 0; lo = hi) {
        hi = n - lo > EVENTS_BATCH ? lo + EVENTS_BATCH : n;
        Py_BEGIN_ALLOW_THREADS
        code = evprof_trace_write_events(self->w,
            (const evprof_event *)ev.buf + lo,
            th.buf != NULL ? (const uint32_t *)th.buf + lo : NULL,
            (size_t)(hi - lo));
        Py_END_ALLOW_THREADS
        if (code == 0 && progress != Py_None) {
            PyObject *r = PyObject_CallFunction(progress, "n", hi);
            if (r == NULL)
                goto done;
            Py_DECREF(r);
        }
    }
    if (code < 0)
        raise_code(self, code);
done:
    PyBuffer_Release(&ev);
    if (th.buf != NULL)
        PyBuffer_Release(&th);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

/* A sequence of (key, kind, first_line, name, module, file). */
static PyObject *TraceWriter_write_names(TraceWriter *self, PyObject *names)
{
    PyObject *seq, *keep = NULL;
    evprof_trace_name *rec = NULL;
    Py_ssize_t n, i, start = 0;
    size_t bytes = 0;
    int code = 0;

    if (check_open(self) < 0)
        return NULL;
    seq = PySequence_Fast(names, "write_names() takes a sequence");
    if (seq == NULL)
        return NULL;
    n = PySequence_Fast_GET_SIZE(seq);
    rec = PyMem_Calloc((size_t)(n ? n : 1), sizeof(*rec));
    keep = PyList_New(0);
    if (rec == NULL || keep == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (i = 0; i < n; i++) {
        PyObject *t = PySequence_Fast_GET_ITEM(seq, i);

        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 6) {
            PyErr_SetString(PyExc_TypeError, "a name is a tuple (key, kind, "
                            "first_line, name, module, file)");
            goto done;
        }
        rec[i].key = PyLong_AsLongLong(PyTuple_GET_ITEM(t, 0));
        rec[i].kind = (int32_t)PyLong_AsLong(PyTuple_GET_ITEM(t, 1));
        rec[i].first_line = (int32_t)PyLong_AsLong(PyTuple_GET_ITEM(t, 2));
        if (PyErr_Occurred())
            goto done;
        rec[i].name = utf8_of(PyTuple_GET_ITEM(t, 3), keep);
        rec[i].module = rec[i].name ? utf8_of(PyTuple_GET_ITEM(t, 4), keep)
                                    : NULL;
        rec[i].file = rec[i].module ? utf8_of(PyTuple_GET_ITEM(t, 5), keep)
                                    : NULL;
        if (rec[i].file == NULL)
            goto done;
        bytes += 64 + strlen(rec[i].name) + strlen(rec[i].module)
                 + strlen(rec[i].file);
        if (bytes >= NAMES_BATCH_BYTES) {
            code = evprof_trace_write_names(self->w, rec + start,
                                            (size_t)(i + 1 - start));
            start = i + 1;
            bytes = 0;
            if (code < 0)
                break;
        }
    }
    if (code == 0 && (start < n || n == 0))
        code = evprof_trace_write_names(self->w, rec + start,
                                        (size_t)(n - start));
    if (code < 0)
        raise_code(self, code);
done:
    PyMem_Free(rec);
    Py_XDECREF(keep);
    Py_DECREF(seq);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

/* Three sequences of integers: code keys, offsets, lines. */
static PyObject *TraceWriter_write_lines(TraceWriter *self, PyObject *args)
{
    PyObject *a[3], *seq[3] = { NULL, NULL, NULL };
    evprof_trace_line *rec = NULL;
    Py_ssize_t n = 0, i, lo;
    int code = 0, j;

    if (check_open(self) < 0)
        return NULL;
    if (!PyArg_ParseTuple(args, "OOO:write_lines", &a[0], &a[1], &a[2]))
        return NULL;
    for (j = 0; j < 3; j++) {
        seq[j] = PySequence_Fast(a[j], "write_lines() takes sequences");
        if (seq[j] == NULL)
            goto done;
    }
    n = PySequence_Fast_GET_SIZE(seq[0]);
    if (PySequence_Fast_GET_SIZE(seq[1]) != n
        || PySequence_Fast_GET_SIZE(seq[2]) != n) {
        PyErr_SetString(PyExc_ValueError,
                        "keys, offsets and lines differ in length");
        goto done;
    }
    rec = PyMem_Calloc((size_t)(n ? n : 1), sizeof(*rec));
    if (rec == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (i = 0; i < n; i++) {
        rec[i].key = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(seq[0], i));
        rec[i].offset = PyLong_AsLongLong(
            PySequence_Fast_GET_ITEM(seq[1], i));
        rec[i].line = (int32_t)PyLong_AsLong(
            PySequence_Fast_GET_ITEM(seq[2], i));
        if (PyErr_Occurred())
            goto done;
    }
    lo = 0;
    do {
        Py_ssize_t m = n - lo > LINES_BATCH ? LINES_BATCH : n - lo;
        code = evprof_trace_write_lines(self->w, rec + lo, (size_t)m);
        lo += m;
    } while (code == 0 && lo < n);
    if (code < 0)
        raise_code(self, code);
done:
    PyMem_Free(rec);
    for (j = 0; j < 3; j++)
        Py_XDECREF(seq[j]);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *TraceWriter_add_lost(TraceWriter *self, PyObject *arg)
{
    unsigned long long lost;
    int code;

    if (check_open(self) < 0)
        return NULL;
    lost = PyLong_AsUnsignedLongLong(arg);
    if (lost == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    code = evprof_trace_writer_add_lost(self->w, (uint64_t)lost);
    if (code < 0)
        return raise_code(self, code);
    Py_RETURN_NONE;
}

static PyObject *TraceWriter_close(TraceWriter *self, PyObject *noarg)
{
    evprof_trace_writer *w = self->w;
    int code;

    (void)noarg;
    if (w == NULL)
        Py_RETURN_NONE;
    self->w = NULL;
    Py_BEGIN_ALLOW_THREADS
    code = evprof_trace_writer_close(w);
    Py_END_ALLOW_THREADS
    if (code < 0)
        return raise_code(self, code);
    Py_RETURN_NONE;
}

static void TraceWriter_dealloc(TraceWriter *self)
{
    if (self->w != NULL)
        (void)evprof_trace_writer_close(self->w);
    Py_XDECREF(self->path);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *TraceWriter_get_closed(TraceWriter *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(self->w == NULL);
}

static PyMethodDef TraceWriter_methods[] = {
    { "write_meta", (PyCFunction)TraceWriter_write_meta, METH_O,
      "write_meta(dict): a META section of str pairs." },
    { "write_threads", (PyCFunction)TraceWriter_write_threads, METH_O,
      "write_threads(seq): a THREADS section of (ident, native_id[, pid])\n"
      "tuples; a thread without a pid is of this process." },
    { "write_events", (PyCFunction)(void (*)(void))TraceWriter_write_events,
      METH_VARARGS | METH_KEYWORDS,
      "write_events(raw, thread=None, progress=None): EVENTS_PACKED\n"
      "sections of an int64 array of shape (n, 6) and its uint32 thread\n"
      "indices; progress(n) is called with the events written so far." },
    { "write_names", (PyCFunction)TraceWriter_write_names, METH_O,
      "write_names(seq): NAMES sections of (key, kind, first_line, name,\n"
      "module, file)." },
    { "write_lines", (PyCFunction)TraceWriter_write_lines, METH_VARARGS,
      "write_lines(keys, offsets, lines): LINES sections." },
    { "add_lost", (PyCFunction)TraceWriter_add_lost, METH_O,
      "add_lost(n): adds to the lost count of the END section." },
    { "close", (PyCFunction)TraceWriter_close, METH_NOARGS,
      "close(): writes the END section and closes the file." },
    { NULL, NULL, 0, NULL }
};

static PyGetSetDef TraceWriter_getset[] = {
    { "closed", (getter)TraceWriter_get_closed, NULL, "closed or not", NULL },
    { NULL, NULL, NULL, NULL, NULL }
};

static PyTypeObject TraceWriter_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "evprof._core.TraceWriter",
    .tp_basicsize = sizeof(TraceWriter),
    .tp_dealloc = (destructor)TraceWriter_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "TraceWriter(path): writes a trace file (doc/trace-format.md)"
              "\nwith libevprof's writer, section by section.",
    .tp_methods = TraceWriter_methods,
    .tp_getset = TraceWriter_getset,
    .tp_init = (initproc)TraceWriter_init,
    .tp_new = PyType_GenericNew,
};

int evprof_py_add_writer(PyObject *module)
{
    if (PyType_Ready(&TraceWriter_Type) < 0)
        return -1;
    Py_INCREF(&TraceWriter_Type);
    if (PyModule_AddObject(module, "TraceWriter",
                           (PyObject *)&TraceWriter_Type) < 0) {
        Py_DECREF(&TraceWriter_Type);
        return -1;
    }
    return 0;
}

evprof_trace_writer *evprof_py_writer_get(PyObject *obj)
{
    if (!PyObject_TypeCheck(obj, &TraceWriter_Type)) {
        PyErr_Format(PyExc_TypeError, "a TraceWriter is needed, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    if (check_open((TraceWriter *)obj) < 0)
        return NULL;
    return ((TraceWriter *)obj)->w;
}

PyObject *evprof_py_writer_raise(PyObject *obj, int code)
{
    return raise_code((TraceWriter *)obj, code);
}
