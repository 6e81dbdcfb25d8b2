/*
 * sink-fixture.c: see sink-fixture.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink-fixture.h"
#include "tap.h"

#ifndef SRCDIR
# define SRCDIR "."
#endif

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
    fixture_write_as(path, ev, thread, n, names, nnames, threads, nthreads,
                     NULL, 0);
}

/* The events of thread `want` (all when want is UINT32_MAX): one
 * EVENTS section. */
static void thread_events(evprof_trace_writer *w, const evprof_event *ev,
                          const uint32_t *thread, size_t n, uint32_t want)
{
    evprof_event *e = malloc((n + 1) * sizeof(*e));
    uint32_t *th = malloc((n + 1) * sizeof(*th));
    size_t i, k = 0;

    if (e == NULL || th == NULL)
        bail("out of memory");
    for (i = 0; i < n; i++)
        if (thread[i] == want) {
            e[k] = ev[i];
            th[k++] = thread[i];
        }
    if (k > 0)
        check(evprof_trace_write_events(w, e, th, k), "events");
    free(e);
    free(th);
}

void fixture_write_as(const char *path, const evprof_event *ev,
                      const uint32_t *thread, size_t n,
                      const evprof_trace_name *names, size_t nnames,
                      const evprof_thread_info *threads, size_t nthreads,
                      const char *const *meta, int streamed)
{
    evprof_trace_writer *w;
    size_t i;

    check(evprof_trace_writer_open(path, &w), path);
    check(evprof_trace_write_meta(w, "program", "fixture.py"), "meta");
    for (i = 0; meta != NULL && meta[i] != NULL; i += 2)
        check(evprof_trace_write_meta(w, meta[i], meta[i + 1]), "meta");
    if (streamed) {
        /* As a stream writes them: one thread a section, the last thread
         * first, so that sections overlap in time. */
        check(evprof_trace_write_meta(w, "order", "thread"), "meta");
        for (i = nthreads; i-- > 0;)
            thread_events(w, ev, thread, n, (uint32_t)i);
    } else if (n > 0)
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

char *fixture_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (f == NULL)
        bail("%s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    if ((buf = malloc((size_t)n + 1)) == NULL)
        bail("out of memory");
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        bail("%s: short read", path);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* ---- Chrome: times made absolute ------------------------------------ */

/* "-12.345" at s as ns (-12345), *end after it; bails out on another
 * form: every time has three decimals. */
static int64_t us_ns(const char *s, const char **end)
{
    int neg = *s == '-';
    char *e;
    long long whole = strtoll(s + neg, &e, 10);
    int64_t frac;

    if (e == s + neg || e[0] != '.' || strspn(e + 1, "0123456789") != 3)
        bail("not a time with three decimals: %.20s", s);
    frac = (e[1] - '0') * 100 + (e[2] - '0') * 10 + (e[3] - '0');
    *end = e + 4;
    return neg ? -(whole * 1000 + frac) : whole * 1000 + frac;
}

char *fixture_chrome_absolute(const char *json)
{
    const char *t0s = strstr(json, "\"t0_ns\":"), *p = json, *q, *end;
    size_t cap = strlen(json) * 2 + 64, n = 0;
    char *out = malloc(cap);
    long long t0;

    if (t0s == NULL)
        bail("no otherData.t0_ns");
    t0 = strtoll(t0s + 8, NULL, 10);
    if (out == NULL)
        bail("out of memory");
    while ((q = strstr(p, "\"ts\":")) != NULL) {
        int64_t ns = us_ns(q + 5, &end) + t0;
        int64_t a = ns < 0 ? -ns : ns;

        memcpy(out + n, p, (size_t)(q + 5 - p));
        n += (size_t)(q + 5 - p);
        n += (size_t)sprintf(out + n, "%s%lld.%03d", ns < 0 ? "-" : "",
                             (long long)(a / 1000), (int)(a % 1000));
        p = end;
    }
    strcpy(out + n, p);
    /* The header as if the origin were 0. */
    if ((q = strstr(out, "\"t0_ns\":")) != NULL) {
        char *d = (char *)q + 8;
        size_t digits = strspn(d, "-0123456789");

        memmove(d + 1, d + digits, strlen(d + digits) + 1);
        d[0] = '0';
    }
    return out;
}

/* ---- Perfetto: decoded by protoc, replayed as one line an event ------ */

struct seqstate { int64_t t; char name[16][32]; };

/* Turns protoc's text of the trace into "seq time TYPE name|value" lines
 * (times made absolute), or NULL when protoc is missing. */
char *fixture_replay(const char *pftrace, int *events)
{
    static struct seqstate seq[8];
    char cmd[512], line[512], block[64] = "", *buf = NULL;
    char ename[64] = "";
    long long v, ts = -1, counter = 0, snap = -1, clock = 0, iid = 0;
    long long name_iid = 0;
    unsigned sq = 0;
    int type = 0;
    size_t len = 0;
    FILE *p, *m;

    if (system("protoc --version >/dev/null 2>&1") != 0)
        return NULL;
    snprintf(cmd, sizeof(cmd), "protoc --decode=perfetto.protos.Trace -I %s/t"
             " %s/t/sinks.proto < %s", SRCDIR, SRCDIR, pftrace);
    if ((p = popen(cmd, "r")) == NULL || (m = open_memstream(&buf, &len)) == NULL)
        bail("popen: %s", strerror(errno));
    memset(seq, 0, sizeof(seq));
    *events = 0;
    while (fgets(line, sizeof(line), p) != NULL) {
        int indent = (int)strspn(line, " ");
        char *l = line + indent;

        l[strcspn(l, "\n")] = '\0';
        if (indent == 2 && strchr(l, '{'))
            snprintf(block, sizeof(block), "%.*s", (int)strcspn(l, " "), l);
        if (indent == 0 && strcmp(l, "}") == 0) { /* end of a packet */
            if (sq < 8 && snap >= 0)
                seq[sq].t = snap;
            if (sq < 8 && type != 0) {
                const char *t = type == 1 ? "B" : type == 2 ? "E"
                                : type == 3 ? "I" : "C";

                seq[sq].t += ts;
                (*events)++;
                fprintf(m, "%u %lld %s", sq, (long long)seq[sq].t, t);
                if (type == 4)
                    fprintf(m, " %lld", counter);
                if (name_iid > 0 && name_iid < 16)
                    fprintf(m, " %s", seq[sq].name[name_iid]);
                putc('\n', m);
            }
            ts = -1, snap = -1, type = 0, sq = 0, name_iid = 0, block[0] = 0;
            continue;
        }
        if (indent == 2 && sscanf(l, "timestamp: %lld", &v) == 1)
            ts = v;
        else if (indent == 2 && sscanf(l, "trusted_packet_sequence_id: %u", &sq) == 1)
            ;
        else if (indent == 4 && strcmp(block, "track_event") == 0) {
            if (strncmp(l, "type: TYPE_SLICE_BEGIN", 22) == 0) type = 1;
            else if (strncmp(l, "type: TYPE_SLICE_END", 20) == 0) type = 2;
            else if (strncmp(l, "type: TYPE_INSTANT", 18) == 0) type = 3;
            else if (strncmp(l, "type: TYPE_COUNTER", 18) == 0) type = 4;
            else if (sscanf(l, "name_iid: %lld", &v) == 1) name_iid = v;
            else if (sscanf(l, "counter_value: %lld", &v) == 1) counter = v;
        } else if (indent == 4 && strcmp(block, "interned_data") == 0)
            snprintf(ename, sizeof(ename), "%s", l);
        else if (indent == 6 && strncmp(ename, "event_names", 11) == 0) {
            if (sscanf(l, "iid: %lld", &v) == 1)
                iid = v;
            else if (strncmp(l, "name: \"", 7) == 0 && sq < 8 && iid > 0
                     && iid < 16)
                snprintf(seq[sq].name[iid], 32, "%.*s",
                         (int)strlen(l + 7) - 1, l + 7);
        } else if (indent == 6 && strcmp(block, "clock_snapshot") == 0) {
            if (sscanf(l, "clock_id: %lld", &v) == 1)
                clock = v;
            else if (sscanf(l, "timestamp: %lld", &v) == 1 && clock == 64)
                snap = v;
        }
    }
    if (pclose(p) != 0)
        bail("protoc failed on %s", pftrace);
    fclose(m);
    return buf;
}
