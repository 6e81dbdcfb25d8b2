/*
 * _stream.c: a profiler streaming its events into a trace file while the
 * program runs (evprof_stream_start(3)), with the names and lines the
 * events need written before them.
 *
 * The names are resolved where Python can be asked, once a key: when the
 * registry adds a code object or a builtin (the GIL held, on the thread
 * that met it), into plain C strings, with the code's line table as
 * ranges of instruction offsets (_names.c).  They wait in a list of their own (plain
 * malloc, under a mutex held only to link or unlink) until the stream's
 * thread, at its next drain and before the events (the hook of
 * evprof_stream_before_drain), writes them as NAMES and LINES sections.
 * So the stream's thread never takes the GIL and never calls Python: it
 * cannot deadlock with the interpreter, at exit or around a fork, and a
 * file cut off anywhere names every event it holds.  What the registry
 * allocates through Python meanwhile is not the program's: the allocator
 * hooks' per-thread guard is set around it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "_core.h"
#include "_names.h"

/* Records written by the hook a section at a time: its scratch, made at
 * the start, so that it never allocates. */
#define NAMES_BATCH 512
#define LINES_BATCH 8192

struct pending_meta {
    struct pending_meta *next;
    const char *value;      /* in text[], after the key */
    char text[];
};

struct evp_stream {
    evprof_trace_writer *w;
    evprof_stream *s;
    pid_t pid;
    pthread_mutex_t lock;   /* the two lists */
    struct evp_name *names, **names_tail;
    struct pending_meta *meta, **meta_tail;
    uint64_t names_lost;    /* could not be kept (no memory): atomic */
    /* The hook's own. */
    evprof_trace_name nbuf[NAMES_BATCH];
    evprof_trace_line lbuf[LINES_BATCH];
};

/* ---- the stream's side: no GIL, no Python ------------------------------ */

static void put_line(struct evp_stream *st, evprof_trace_writer *w,
                     size_t *nl, int64_t key, int64_t off, int32_t line)
{
    if (*nl == LINES_BATCH) {
        (void)evprof_trace_write_lines(w, st->lbuf, *nl);
        *nl = 0;
    }
    st->lbuf[(*nl)++] = (evprof_trace_line){key, off, line};
}

static void write_lines_of(struct evp_stream *st, evprof_trace_writer *w,
                           const struct evp_name *p, size_t *nl)
{
    size_t i;

    if (p->rec.kind != EVPROF_NAME_CODE)
        return;
    /* A caller not started yet (offset -1) is at its first line. */
    put_line(st, w, nl, p->rec.key, -1, p->rec.first_line);
    for (i = 0; i < p->nranges; i++) {
        int64_t off = p->ranges[3 * i], end = p->ranges[3 * i + 1];
        int32_t line = (int32_t)p->ranges[3 * i + 2];

        /* Every instruction (2 bytes): a call site is looked up exactly. */
        for (; off < end; off += 2)
            put_line(st, w, nl, p->rec.key, off, line);
    }
}

/* Writes (then frees) what was noted so far: META pairs, then names,
 * then lines.  A write error is the writer's: kept, and the stream
 * counts the events it then cannot write. */
static void write_pending(struct evp_stream *st, evprof_trace_writer *w)
{
    struct evp_name *names, *p;
    struct pending_meta *meta, *m;
    size_t nn = 0, nl = 0;

    pthread_mutex_lock(&st->lock);
    names = st->names;
    meta = st->meta;
    st->names = NULL;
    st->names_tail = &st->names;
    st->meta = NULL;
    st->meta_tail = &st->meta;
    pthread_mutex_unlock(&st->lock);
    while (meta != NULL) {
        m = meta->next;
        (void)evprof_trace_write_meta(w, meta->text, meta->value);
        free(meta);
        meta = m;
    }
    for (p = names; p != NULL; p = p->next) {
        st->nbuf[nn++] = p->rec;
        if (nn == NAMES_BATCH || p->next == NULL) {
            (void)evprof_trace_write_names(w, st->nbuf, nn);
            nn = 0;
        }
    }
    for (p = names; p != NULL; p = p->next)
        write_lines_of(st, w, p, &nl);
    if (nl > 0)
        (void)evprof_trace_write_lines(w, st->lbuf, nl);
    evp_names_free(names);
}

static void before_drain(void *ctx, evprof_trace_writer *w)
{
    write_pending(ctx, w);
}

void evp_stream_note(struct evp_stream *st, int64_t key, PyObject *obj)
{
    struct evp_name *p = evp_name_of(key, obj);

    if (p == NULL) {
        __atomic_fetch_add(&st->names_lost, 1, __ATOMIC_RELAXED);
        return;
    }
    pthread_mutex_lock(&st->lock);
    *st->names_tail = p;
    st->names_tail = &p->next;
    pthread_mutex_unlock(&st->lock);
}

/* ---- methods ----------------------------------------------------------- */

static PyObject *raise_errno(int code, PyObject *path)
{
    if (code == -ENOMEM)
        return PyErr_NoMemory();
    errno = -code;
    return PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
}

static void stream_free(struct evp_stream *st)
{
    struct pending_meta *m = st->meta;

    evp_names_free(st->names);
    while (m != NULL) {
        struct pending_meta *next = m->next;
        free(m);
        m = next;
    }
    pthread_mutex_destroy(&st->lock);
    free(st);
}

static int queue_meta(struct evp_stream *st, const char *key,
                      const char *value)
{
    size_t a = strlen(key) + 1, b = strlen(value) + 1;
    struct pending_meta *m = malloc(sizeof(*m) + a + b);

    if (m == NULL)
        return -1;
    memcpy(m->text, key, a);
    memcpy(m->text + a, value, b);
    m->value = m->text + a;
    m->next = NULL;
    pthread_mutex_lock(&st->lock);
    *st->meta_tail = m;
    st->meta_tail = &m->next;
    pthread_mutex_unlock(&st->lock);
    return 0;
}

/* The pairs of dict `meta` queued, str() of each; 0 or -1. */
static int queue_dict(struct evp_stream *st, PyObject *meta)
{
    PyObject *k, *v;
    Py_ssize_t pos = 0;

    while (PyDict_Next(meta, &pos, &k, &v)) {
        PyObject *bk = evp_utf8_of(k), *bv = evp_utf8_of(v);
        int rc = -1;

        if (bk != NULL && bv != NULL)
            rc = queue_meta(st, PyBytes_AS_STRING(bk), PyBytes_AS_STRING(bv));
        else if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError,
                            "META keys and values are str (not None)");
        Py_XDECREF(bk);
        Py_XDECREF(bv);
        if (rc != 0) {
            if (!PyErr_Occurred())
                PyErr_NoMemory();
            return -1;
        }
    }
    return 0;
}

/* stream_open(path, meta=None, budget=0, wait=True) */
PyObject *evp_Profiler_stream_open(Profiler *self, PyObject *args,
                                   PyObject *kw)
{
    static char *kwlist[] = {"path", "meta", "budget", "wait", NULL};
    PyObject *path = NULL, *bytes = NULL, *meta = Py_None;
    Py_ssize_t budget = 0;
    int wait = 1, rc;
    evprof_stream_options opt = {0, 0, 0};
    struct evp_stream *st;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|Onp:stream_open", kwlist,
                                     PyUnicode_FSDecoder, &path, &meta,
                                     &budget, &wait))
        return NULL;
    if (meta != Py_None && !PyDict_Check(meta)) {
        PyErr_Format(PyExc_TypeError, "meta must be a dict, not %.100s",
                     Py_TYPE(meta)->tp_name);
        goto fail_path;
    }
    if (budget < 0) {
        PyErr_SetString(PyExc_ValueError, "budget must be >= 0 (0: 32 MiB)");
        goto fail_path;
    }
    if (self->stream != NULL || self->token != NULL) {
        PyErr_SetString(PyExc_RuntimeError, self->stream != NULL
                        ? "the profiler already streams into a file"
                        : "cannot stream a running profiler");
        goto fail_path;
    }
    st = calloc(1, sizeof(*st));
    if (st == NULL) {
        PyErr_NoMemory();
        goto fail_path;
    }
    if (pthread_mutex_init(&st->lock, NULL) != 0) {
        free(st);
        PyErr_NoMemory();
        goto fail_path;
    }
    st->names_tail = &st->names;
    st->meta_tail = &st->meta;
    st->pid = getpid();
    if (meta != Py_None && queue_dict(st, meta) != 0) {
        stream_free(st);
        goto fail_path;
    }
    if (!PyUnicode_FSConverter(path, &bytes)) {
        stream_free(st);
        goto fail_path;
    }
    Py_BEGIN_ALLOW_THREADS
    rc = evprof_trace_writer_open(PyBytes_AS_STRING(bytes), &st->w);
    Py_END_ALLOW_THREADS
    Py_DECREF(bytes);
    if (rc != 0) {
        stream_free(st);
        raise_errno(rc, path);
        goto fail_path;
    }
    write_pending(st, st->w);
    opt.budget_bytes = (size_t)budget;
    opt.flags = wait ? EVPROF_STREAM_WAIT : 0;
    rc = evprof_stream_start(st->w, self->buf, &opt, &st->s);
    if (rc == 0)
        rc = evprof_stream_before_drain(st->s, before_drain, st);
    if (rc != 0) {
        if (st->s != NULL)
            (void)evprof_stream_stop(st->s, NULL);
        (void)evprof_trace_writer_close(st->w);
        stream_free(st);
        if (rc == -EINVAL)
            PyErr_Format(PyExc_ValueError, "chunks of size=%zu events "
                         "(%zu bytes each) do not fit a stream budget of "
                         "%zd bytes", self->size, sizeof(evprof_event),
                         budget ? budget
                                : (Py_ssize_t)EVPROF_STREAM_DEFAULT_BUDGET);
        else
            raise_errno(rc, path);
        goto fail_path;
    }
    self->stream = st;
    Py_DECREF(path);
    Py_RETURN_NONE;
fail_path:
    Py_DECREF(path);
    return NULL;
}

/* stream_meta(dict): pairs written at the next drain. */
PyObject *evp_Profiler_stream_meta(Profiler *self, PyObject *meta)
{
    if (self->stream == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the profiler is not streaming");
        return NULL;
    }
    if (!PyDict_Check(meta)) {
        PyErr_Format(PyExc_TypeError, "stream_meta() takes a dict, not "
                     "%.100s", Py_TYPE(meta)->tp_name);
        return NULL;
    }
    if (queue_dict(self->stream, meta) != 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *stats_dict(const evprof_stream_stats *s, uint64_t names_lost,
                            int error)
{
    return Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:n,s:n,s:n,s:K,s:i,s:s}",
        "events", (unsigned long long)s->events,
        "sections", (unsigned long long)s->sections,
        "lost", (unsigned long long)s->lost,
        "over_budget", (unsigned long long)s->over_budget,
        "waits", (unsigned long long)s->waits,
        "held_bytes", (Py_ssize_t)s->held_bytes,
        "peak_bytes", (Py_ssize_t)s->peak_bytes,
        "budget_bytes", (Py_ssize_t)s->budget_bytes,
        "names_lost", (unsigned long long)names_lost,
        "error", error < 0 ? -error : 0,
        "error_text", error < 0 ? strerror(-error) : "");
}

PyObject *evp_Profiler_stream_stats(Profiler *self, PyObject *noarg)
{
    evprof_stream_stats s;
    struct evp_stream *st = self->stream;

    (void)noarg;
    if (st == NULL || evprof_stream_get_stats(st->s, &s) != 0)
        Py_RETURN_NONE;
    return stats_dict(&s, __atomic_load_n(&st->names_lost, __ATOMIC_RELAXED),
                      s.error);
}

/* Stops the stream, writes what is left, closes the file: the final
 * stats and the first error, if any. */
static int stream_end(struct evp_stream *st, evprof_stream_stats *s)
{
    int rc = evprof_stream_stop(st->s, s), crc;

    write_pending(st, st->w);
    crc = evprof_trace_writer_close(st->w);
    return rc != 0 ? rc : crc;
}

/* stream_close(): the final stats (a dict), None when not streaming. */
PyObject *evp_Profiler_stream_close(Profiler *self, PyObject *noarg)
{
    struct evp_stream *st = self->stream;
    evprof_stream_stats s;
    uint64_t lost;
    int rc;

    (void)noarg;
    if (st == NULL)
        Py_RETURN_NONE;
    if (self->token != NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "stop the profiler before closing its stream");
        return NULL;
    }
    self->stream = NULL;
    memset(&s, 0, sizeof(s));
    Py_BEGIN_ALLOW_THREADS
    rc = stream_end(st, &s);
    Py_END_ALLOW_THREADS
    lost = __atomic_load_n(&st->names_lost, __ATOMIC_RELAXED);
    stream_free(st);
    return stats_dict(&s, lost, rc);
}

/* The profiler goes away while streaming: the file is finished, as
 * stream_close() does, but not in a forked child (the parent's file). */
void evp_stream_release(Profiler *self)
{
    struct evp_stream *st = self->stream;
    evprof_stream_stats s;

    if (st == NULL)
        return;
    self->stream = NULL;
    if (getpid() != st->pid) {
        evp_stream_forget(st);
        return;
    }
    (void)stream_end(st, &s);
    stream_free(st);
}

/*
 * In a forked child: the stream has no thread there and the file is the
 * parent's, so nothing is written or closed; the stream's memory is
 * freed by the library, the rest is left as it is (its mutex may have
 * been held by the parent's stream thread at the fork).
 */
void evp_stream_forget(struct evp_stream *st)
{
    (void)evprof_stream_stop(st->s, NULL);
}
