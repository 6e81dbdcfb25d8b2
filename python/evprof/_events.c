/*
 * _events.c: the events a profiler holds, read where they are (in the
 * buffer's chunks, evprof_buffer_reader_open(3)): into the caller's arrays
 * (a report), or straight into a trace file (save), without numpy and
 * without a second copy of the events.  Both fill in the size freed by
 * each free/realloc_free (value2, minus the size of the block; 0 when it
 * was allocated before the profiling), from a map of the blocks alive.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "_core.h"
#include "_event_buffers.h"
#include "_writer.h"

#define BLOCK 16384

/* ---- a map (a, b) -> value, open addressing, linear probing --------- */

struct pslot {
    int64_t a, b, value;
    int used;
};

struct pmap {
    struct pslot *slot;
    size_t cap, n;   /* cap a power of two */
};

static size_t hash2(int64_t a, int64_t b)
{
    uint64_t h = (uint64_t)a * 0x9E3779B97F4A7C15ULL;

    h ^= (uint64_t)b + 0x632BE59BD9B4E019ULL + (h << 6) + (h >> 2);
    h ^= h >> 31;
    return (size_t)(h * 0xBF58476D1CE4E5B9ULL);
}

/* malloc, not PyMem: the allocator hooks may be installed. */
static int map_grow(struct pmap *m)
{
    size_t cap = m->cap ? 2 * m->cap : 1024, i;
    struct pslot *s = calloc(cap, sizeof(*s));

    if (s == NULL)
        return -1;
    for (i = 0; i < m->cap; i++) {
        if (m->slot[i].used) {
            size_t j = hash2(m->slot[i].a, m->slot[i].b) & (cap - 1);

            while (s[j].used)
                j = (j + 1) & (cap - 1);
            s[j] = m->slot[i];
        }
    }
    free(m->slot);
    m->slot = s;
    m->cap = cap;
    return 0;
}

static struct pslot *map_find(const struct pmap *m, int64_t a, int64_t b)
{
    size_t j;

    if (m->cap == 0)
        return NULL;
    for (j = hash2(a, b) & (m->cap - 1); m->slot[j].used;
         j = (j + 1) & (m->cap - 1))
        if (m->slot[j].a == a && m->slot[j].b == b)
            return &m->slot[j];
    return NULL;
}

/* Sets (a, b) -> value; 1 when it was new, 0 when replaced, -1 on ENOMEM. */
static int map_set(struct pmap *m, int64_t a, int64_t b, int64_t value)
{
    struct pslot *s = map_find(m, a, b);
    size_t j;

    if (s != NULL) {
        s->value = value;
        return 0;
    }
    if ((m->n + 1) * 2 > m->cap && map_grow(m) != 0)
        return -1;
    for (j = hash2(a, b) & (m->cap - 1); m->slot[j].used;
         j = (j + 1) & (m->cap - 1))
        ;
    m->slot[j].a = a;
    m->slot[j].b = b;
    m->slot[j].value = value;
    m->slot[j].used = 1;
    m->n++;
    return 1;
}

/* Removes s (backward shift: no tombstones). */
static void map_remove(struct pmap *m, struct pslot *s)
{
    size_t mask = m->cap - 1, i = (size_t)(s - m->slot), j = i, home;

    for (;;) {
        m->slot[i].used = 0;
        for (;;) {
            j = (j + 1) & mask;
            if (!m->slot[j].used)
                return;
            home = hash2(m->slot[j].a, m->slot[j].b) & mask;
            /* Stays unless its home is cyclically outside (i, j]. */
            if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
                break;
        }
        m->slot[i] = m->slot[j];
        i = j;
    }
}

static void map_free(struct pmap *m)
{
    free(m->slot);
    m->slot = NULL;
    m->cap = m->n = 0;
}

/* value2 of the frees of ev[0..n), with the blocks alive in `live`. */
static int fill_freed(struct pmap *live, evprof_event *ev, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        evprof_event *e = &ev[i];
        struct pslot *s;

        if (e->event < EVPROF_MALLOC)
            continue;
        if (e->event == EVPROF_FREE || e->event == EVPROF_REALLOC_FREE) {
            s = map_find(live, e->value1, 0);
            e->value2 = s != NULL ? -s->value : 0;
            if (s != NULL)
                map_remove(live, s);
        } else if (map_set(live, e->value1, 0, e->value2) < 0) {
            return -1;
        }
    }
    return 0;
}

static int reader_error(int64_t code)
{
    if (code == -ENOMEM)
        PyErr_NoMemory();
    else if (code == -ESTALE)
        PyErr_SetString(PyExc_RuntimeError,
                        "the events were taken out of the profiler while "
                        "they were read");
    else
        PyErr_SetString(PyExc_RuntimeError, evprof_strerror((int)code));
    return -1;
}

/* ---- read(events, threads=None, limit=-1, fill=True) ------------------ */

PyObject *evp_Profiler_read(Profiler *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"events", "threads", "limit", "fill", NULL};
    PyObject *oev, *oth = Py_None;
    Py_ssize_t limit = -1;
    Py_buffer bev, bth = {0};
    evprof_buffer_reader *r = NULL;
    struct pmap live = {NULL, 0, 0};
    size_t max, n = 0;
    int fill = 1, rc = 0;
    int64_t got;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|Onp:read", kwlist, &oev,
                                     &oth, &limit, &fill))
        return NULL;
    if (evp_event_buffers(oev, oth, &bev, &bth, 0,
                          "read needs an int64 buffer of n*6 items and a "
                          "uint32 buffer of n items", &max) != 0)
        return NULL;
    if (limit >= 0 && (size_t)limit < max)
        max = (size_t)limit;
    rc = evprof_buffer_reader_open(self->buf, &r);
    if (rc != 0) {
        reader_error(rc);
        goto done;
    }
    while (n < max) {
        evprof_event *ev = (evprof_event *)bev.buf + n;
        size_t want = max - n < BLOCK ? max - n : BLOCK;

        got = evprof_buffer_read(r, ev,
                                 oth != Py_None ? (uint32_t *)bth.buf + n
                                                : NULL, want);
        if (got < 0) {
            reader_error(got);
            goto done;
        }
        if (got == 0)
            break;
        if (fill && fill_freed(&live, ev, (size_t)got) != 0) {
            PyErr_NoMemory();
            goto done;
        }
        n += (size_t)got;
    }
done:
    evprof_buffer_reader_close(r);
    map_free(&live);
    PyBuffer_Release(&bev);
    if (oth != Py_None)
        PyBuffer_Release(&bth);
    if (PyErr_Occurred())
        return NULL;
    return PyLong_FromSize_t(n);
}

/* ---- read_blocks(events, threads, callback, limit=-1, fill=True) ----- */

/* A DataFrame built a block at a time: the caller's block is all the
 * memory the events take beyond where they are.  The buffer is kept
 * (reset refused) while callbacks run. */
PyObject *evp_Profiler_read_blocks(Profiler *self, PyObject *args,
                                   PyObject *kw)
{
    static char *kwlist[] = {"events", "threads", "callback", "limit",
                             "fill", NULL};
    PyObject *oev, *oth, *callback;
    Py_ssize_t limit = -1;
    Py_buffer bev, bth = {0};
    evprof_buffer_reader *r = NULL;
    struct pmap live = {NULL, 0, 0};
    size_t block, total = 0, max;
    int fill = 1, rc;
    int64_t got;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO|np:read_blocks", kwlist,
                                     &oev, &oth, &callback, &limit, &fill))
        return NULL;
    if (!PyCallable_Check(callback)) {
        PyErr_SetString(PyExc_TypeError, "callback must be callable");
        return NULL;
    }
    if (evp_event_buffers(oev, oth, &bev, &bth, 1,
                          "read_blocks needs an int64 buffer of k*6 items "
                          "(k > 0) and a uint32 buffer of k items",
                          &block) != 0)
        return NULL;
    max = limit >= 0 ? (size_t)limit : SIZE_MAX;
    rc = evprof_buffer_reader_open(self->buf, &r);
    if (rc != 0) {
        reader_error(rc);
        goto done;
    }
    self->reading++;
    while (total < max) {
        size_t want = max - total < block ? max - total : block;
        PyObject *res;

        got = evprof_buffer_read(r, bev.buf,
                                 oth != Py_None ? bth.buf : NULL, want);
        if (got < 0) {
            reader_error(got);
            break;
        }
        if (got == 0)
            break;
        if (fill && fill_freed(&live, bev.buf, (size_t)got) != 0) {
            PyErr_NoMemory();
            break;
        }
        total += (size_t)got;
        res = PyObject_CallFunction(callback, "n", (Py_ssize_t)got);
        if (res == NULL)
            break;
        Py_DECREF(res);
    }
    self->reading--;
done:
    evprof_buffer_reader_close(r);
    map_free(&live);
    PyBuffer_Release(&bev);
    if (oth != Py_None)
        PyBuffer_Release(&bth);
    if (PyErr_Occurred())
        return NULL;
    return PyLong_FromSize_t(total);
}

/* ---- write_trace(writer, limit=-1, progress=None) --------------------- */

/* The (caller key, offset) pairs of the call events of ev[0..n) whose
 * caller is a key of this run, into `pairs`. */
static int add_pairs(const Profiler *self, struct pmap *pairs,
                     const evprof_event *ev, size_t n)
{
    int64_t lo = self->reg.base, hi = self->reg.base + (int64_t)self->reg.n;
    size_t i;

    for (i = 0; i < n; i++) {
        const evprof_event *e = &ev[i];

        if (e->event >= EVPROF_CALL && e->event <= EVPROF_C_EXCEPTION
            && e->id_arg > lo && e->id_arg <= hi
            && map_set(pairs, e->id_arg, e->value1, 0) < 0)
            return -1;
    }
    return 0;
}

/* A list of the (key, offset) pairs of `pairs`. */
static PyObject *pair_list(const struct pmap *pairs)
{
    PyObject *list = PyList_New((Py_ssize_t)pairs->n);
    Py_ssize_t k = 0;
    size_t i;

    if (list == NULL)
        return NULL;
    for (i = 0; i < pairs->cap; i++) {
        PyObject *t;

        if (!pairs->slot[i].used)
            continue;
        t = Py_BuildValue("(LL)", (long long)pairs->slot[i].a,
                          (long long)pairs->slot[i].b);
        if (t == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, k++, t);
    }
    return list;
}

PyObject *evp_Profiler_write_trace(Profiler *self, PyObject *args,
                                   PyObject *kw)
{
    static char *kwlist[] = {"writer", "limit", "progress", NULL};
    PyObject *owriter, *progress = Py_None, *result = NULL;
    Py_ssize_t limit = -1;
    evprof_trace_writer *w;
    evprof_buffer_reader *r = NULL;
    struct pmap live = {NULL, 0, 0}, pairs = {NULL, 0, 0};
    evprof_event *ev = NULL;
    uint32_t *thr = NULL;
    size_t total = 0, max;
    int64_t got;
    int rc;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|nO:write_trace", kwlist,
                                     &owriter, &limit, &progress))
        return NULL;
    w = evprof_py_writer_get(owriter);
    if (w == NULL)
        return NULL;
    max = limit >= 0 ? (size_t)limit : SIZE_MAX;
    ev = malloc(BLOCK * sizeof(*ev));
    thr = malloc(BLOCK * sizeof(*thr));
    if (ev == NULL || thr == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    rc = evprof_buffer_reader_open(self->buf, &r);
    if (rc != 0) {
        reader_error(rc);
        goto done;
    }
    while (total < max) {
        size_t want = max - total < BLOCK ? max - total : BLOCK;

        got = evprof_buffer_read(r, ev, thr, want);
        if (got < 0) {
            reader_error(got);
            goto done;
        }
        if (got == 0)
            break;
        if (fill_freed(&live, ev, (size_t)got) != 0
            || add_pairs(self, &pairs, ev, (size_t)got) != 0) {
            PyErr_NoMemory();
            goto done;
        }
        Py_BEGIN_ALLOW_THREADS
        rc = evprof_trace_write_events(w, ev, thr, (size_t)got);
        Py_END_ALLOW_THREADS
        if (rc != 0) {
            evprof_py_writer_raise(owriter, rc);
            goto done;
        }
        total += (size_t)got;
        if (progress != Py_None) {
            PyObject *res = PyObject_CallFunction(progress, "n",
                                                  (Py_ssize_t)total);
            if (res == NULL)
                goto done;
            Py_DECREF(res);
        }
    }
    result = pair_list(&pairs);
done:
    evprof_buffer_reader_close(r);
    map_free(&live);
    map_free(&pairs);
    free(ev);
    free(thr);
    return result;
}
