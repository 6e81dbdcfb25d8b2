/*
 * _sinks.c: the library's sinks (evprof_sink_run(3)) for the Python
 * package and its command line: a trace file in, a summary, Chrome JSON
 * or Perfetto protobuf out, read and written a block at a time, so memory
 * follows the names and threads of the trace, not its length.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <string.h>

#include "_core.h"

/* The exception for a code of the reader: TraceFileError (a ValueError)
 * for a file it refuses, the OSError of the errno otherwise. */
static void raise_sink_error(PyObject *mod, int rc, const char *msg,
                             const char *path)
{
    PyObject *cls;

    if (rc == -EBADMSG || rc == -EPROTO || rc == -ENODATA) {
        cls = PyObject_GetAttrString(mod, "TraceFileError");
        if (cls == NULL)
            return;
        PyErr_SetString(cls, msg);
        Py_DECREF(cls);
        return;
    }
    if (rc == -EINVAL) {
        PyErr_SetString(PyExc_ValueError, msg);
        return;
    }
    errno = -rc;
    PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
}

/* After every block, with the GIL taken back from the run: the progress
 * callable if there is one, and the signal handlers either way, so that
 * Ctrl-C stops a long conversion. */
typedef struct progress_ctx {
    PyObject *fn;       /* or NULL */
    PyThreadState *save;
    int failed;         /* an exception is set */
} progress_ctx;

static int call_progress(void *ctx, uint64_t done, uint64_t total)
{
    progress_ctx *p = ctx;

    PyEval_RestoreThread(p->save);
    if (p->fn != NULL) {
        PyObject *res = PyObject_CallFunction(p->fn, "KK",
                                              (unsigned long long)done,
                                              (unsigned long long)total);

        Py_XDECREF(res);
        p->failed = res == NULL;
    }
    if (!p->failed && PyErr_CheckSignals() < 0)
        p->failed = 1;
    p->save = PyEval_SaveThread();
    return p->failed;
}

/* sink_run(trace, sink, output, sort='inclusive', limit=30,
 * progress=None, partial=False): a dict of what was read (events, lost,
 * threads, clock, pid, and truncated: None, or for a trace cut off read
 * with partial the reader's message saying where, with cut_offset and
 * cut_bytes); progress(done, total) is called with the bytes read, and
 * stops the run by raising (so does a signal handler's exception). */
PyObject *evp_sink_run(PyObject *mod, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"trace", "sink", "output", "sort", "limit",
                             "progress", "partial", NULL};
    PyObject *otrace, *oout, *btrace = NULL, *bout = NULL, *oprog = Py_None;
    progress_ctx pctx = { NULL, NULL, 0 };
    const char *sink, *sort = "inclusive";
    long limit = 30;
    int partial = 0;
    evprof_sink_options opt;
    evprof_sink_stats stats;
    char msg[512] = "";
    int rc;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "OsO|slOp:sink_run", kwlist,
                                     &otrace, &sink, &oout, &sort, &limit,
                                     &oprog, &partial))
        return NULL;
    if (oprog != Py_None && !PyCallable_Check(oprog)) {
        PyErr_SetString(PyExc_TypeError, "progress must be callable or None");
        return NULL;
    }
    if (limit < 0) {
        PyErr_SetString(PyExc_ValueError, "limit must be >= 0 (0: all)");
        return NULL;
    }
    evprof_sink_options_init(&opt);
    opt.limit = limit;
    opt.stats = &stats;
    opt.partial = partial;
    opt.sort = evprof_sink_sort_key(sort);
    if (opt.sort < 0) {
        PyErr_Format(PyExc_ValueError, "unknown sort key %s", sort);
        return NULL;
    }
    if (!PyUnicode_FSConverter(otrace, &btrace)
        || !PyUnicode_FSConverter(oout, &bout)) {
        Py_XDECREF(btrace);
        return NULL;
    }
    pctx.fn = oprog != Py_None ? oprog : NULL;
    opt.progress = call_progress;
    opt.progress_ctx = &pctx;
    pctx.save = PyEval_SaveThread();
    rc = evprof_sink_run_path(PyBytes_AS_STRING(btrace), sink,
                              PyBytes_AS_STRING(bout), &opt, msg,
                              sizeof(msg));
    PyEval_RestoreThread(pctx.save);
    if (pctx.failed)
        goto out; /* the exception of the callable */
    if (rc == -ENOENT && evprof_sink_sort_key(sort) >= 0) {
        size_t i;
        int known = 0;

        for (i = 0; evprof_sink_name(i) != NULL; i++)
            known |= strcmp(evprof_sink_name(i), sink) == 0;
        if (!known) {
            PyErr_Format(PyExc_ValueError, "unknown sink %s", sink);
            goto out;
        }
    }
    if (rc < 0)
        raise_sink_error(mod, rc, msg[0] ? msg : evprof_strerror(rc),
                         rc == -ENOENT ? PyBytes_AS_STRING(btrace)
                                       : PyBytes_AS_STRING(bout));
out:
    Py_DECREF(btrace);
    Py_DECREF(bout);
    if (PyErr_Occurred())
        return NULL;
    return Py_BuildValue("{s:K,s:K,s:n,s:i,s:L,s:z,s:K,s:K}", "events",
                         (unsigned long long)stats.events, "lost",
                         (unsigned long long)stats.lost, "threads",
                         (Py_ssize_t)stats.threads, "clock", stats.clock,
                         "pid", (long long)stats.pid, "truncated",
                         rc == EVPROF_SINK_TRUNCATED ? msg : NULL,
                         "cut_offset",
                         (unsigned long long)stats.cut_offset, "cut_bytes",
                         (unsigned long long)stats.cut_bytes);
}
