/*
 * _reader_read.c: the events of a trace file whole (TraceReader.read:
 * python/evprof/_reader.c), read in blocks straight into one growing
 * block of memory handed to Python as a TraceBuffer: an object with the
 * buffer protocol (int64 rows of six columns, or uint32 thread indices,
 * or the int64 rows of the LINES table) that numpy views without a
 * copy; nothing here imports numpy.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "evprof.h"
#include "_reader.h"

/* Events asked of the reader at a time: one section as writers cut them,
 * so that progress comes as often as it did section by section. */
#define READ_BLOCK 65536
#define NO_THREAD UINT32_MAX

/* Events go to Python as rows of six 'q' items, as the reader wrote them. */
_Static_assert(sizeof(evprof_event) == EVPROF_N_COLUMNS * sizeof(int64_t),
               "evprof_event has padding");

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
PyObject *evp_buffer_new(void *data, Py_ssize_t rows, Py_ssize_t cols,
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

int evp_add_trace_buffer(PyObject *module)
{
    if (PyType_Ready(&TraceBuffer_Type) < 0)
        return -1;
    Py_INCREF(&TraceBuffer_Type);
    if (PyModule_AddObject(module, "TraceBuffer",
                           (PyObject *)&TraceBuffer_Type) < 0) {
        Py_DECREF(&TraceBuffer_Type);
        return -1;
    }
    return 0;
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
PyObject *evp_TraceReader_read(TraceReader *self, PyObject *args,
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
    events = evp_buffer_new(ev, (Py_ssize_t)n, EVPROF_N_COLUMNS, sizeof(int64_t),
                        'q');
    if (events == NULL) {
        PyMem_RawFree(thr);
        return NULL;
    }
    if (thr == NULL) {
        thread = Py_None;
        Py_INCREF(thread);
    } else if ((thread = evp_buffer_new(thr, (Py_ssize_t)n, 0, sizeof(uint32_t),
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
