/*
 * sink-fixture.c: see sink-fixture.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sink-fixture.h"
#include "tap.h"

static void check(int rc, const char *what)
{
    if (rc < 0)
        bail("%s: %s", what, evprof_strerror(rc));
}

void fixture_write(const char *path, const evprof_event *ev,
                   const uint32_t *thread, size_t n,
                   const evprof_trace_name *names, size_t nnames,
                   const evprof_thread_info *threads, size_t nthreads)
{
    evprof_trace_writer *w;

    check(evprof_trace_writer_open(path, &w), path);
    check(evprof_trace_write_meta(w, "program", "fixture.py"), "meta");
    if (n > 0)
        check(evprof_trace_write_events(w, ev, thread, n), "events");
    if (nthreads > 0)
        check(evprof_trace_write_threads(w, threads, nthreads), "threads");
    if (nnames > 0)
        check(evprof_trace_write_names(w, names, nnames), "names");
    check(evprof_trace_writer_close(w), "close");
}

#define BLOCK 65536

struct fib {
    evprof_trace_writer *w;
    evprof_event ev[BLOCK];
    uint32_t th[BLOCK];
    size_t n;
    uint64_t total, want;
    int64_t t;
};

static void emit(struct fib *f, uint32_t thread, int64_t code, int64_t key,
                 int64_t v1, int64_t v2)
{
    evprof_event *e = &f->ev[f->n];

    f->t += 80 + (int64_t)((f->total * 2654435761u) % 200);
    e->id_frame = key;
    e->id_arg = 1;
    e->event = code;
    e->time = f->t;
    e->value1 = v1;
    e->value2 = v2;
    f->th[f->n++] = thread;
    f->total++;
    if (f->n == BLOCK) {
        check(evprof_trace_write_events(f->w, f->ev, f->th, f->n), "events");
        f->n = 0;
    }
}

static void fib(struct fib *f, uint32_t thread, int depth)
{
    emit(f, thread, EVPROF_CALL, 2, 0, 0);
    if (depth < 2) {
        emit(f, thread, EVPROF_C_CALL, 3, 0, 0);
        emit(f, thread, EVPROF_C_RETURN, 3, 0, 0);
        emit(f, thread, EVPROF_MALLOC, 2, 0x1000 + depth, 32);
        emit(f, thread, EVPROF_FREE, 2, 0x1000 + depth, -32);
    } else {
        fib(f, thread, depth - 1);
        fib(f, thread, depth - 2);
    }
    emit(f, thread, EVPROF_RETURN, 2, 0, 0);
}

void fixture_fib(const char *path, uint64_t n)
{
    static const evprof_trace_name names[] = {
        { 1, EVPROF_NAME_CODE, 1, "<module>", "fib.py", "fib.py" },
        { 2, EVPROF_NAME_CODE, 3, "fib", "fib.py", "fib.py" },
        { 3, EVPROF_NAME_BUILTIN, 0, "len", "builtins", "" },
    };
    static const evprof_thread_info threads[] = { { 1000, 11 },
                                                  { 2000, 12 } };
    struct fib *f = calloc(1, sizeof(*f));
    uint32_t thread = 0;

    if (f == NULL)
        bail("out of memory");
    check(evprof_trace_writer_open(path, &f->w), path);
    f->t = 1000000;
    f->want = n;
    emit(f, 0, EVPROF_PROFILER_START, 0, 0, 0);
    emit(f, 0, EVPROF_CALL, 1, 0, 0);
    while (f->total + 200 < f->want) {
        fib(f, thread, 10);
        thread ^= 1;
    }
    emit(f, 0, EVPROF_RETURN, 1, 0, 0);
    emit(f, 0, EVPROF_PROFILER_SORT, 0, 0, 0);
    if (f->n > 0)
        check(evprof_trace_write_events(f->w, f->ev, f->th, f->n), "events");
    check(evprof_trace_write_threads(f->w, threads, 2), "threads");
    check(evprof_trace_write_names(f->w, names, 3), "names");
    check(evprof_trace_writer_close(f->w), "close");
    free(f);
}
