/*
 * The sinks on what the order of a file must not change and on times
 * that must stay exact: a file of one thread a section (as a stream
 * writes it, META order = thread) gives the summary, the Chrome events
 * and the Perfetto sequences of the time-ordered file of the same events
 * (Chrome's times, from each file's origin, made absolute); a child
 * starting and ending with its parent, at timestamps a double cannot hold
 * to the ns, stays inside it; the Chrome times are from the earlier of
 * the file's creation and of its first event, those before it negative; threads whose ident was reused
 * are tracks of their own, each named from META thread_name.IDENT in its
 * turn (Chrome and Perfetto alike); a thread's
 * first slice starts at its first event, not at 0; the progress callback
 * counts the bytes read and can stop a run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <evprof.h>

#include "sink-fixture.h"
#include "tap.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define E(t, code, key, v1, v2) { key, 0, code, t, v1, v2 }
#define T0 INT64_C(9007199254740993) /* 2^53 + 1 ns: not a double */

static const evprof_trace_name names[] = {
    { 1, EVPROF_NAME_CODE, 1, "main", "m.py", "m.py" },
    { 2, EVPROF_NAME_CODE, 10, "f", "m.py", "m.py" },
    { 3, EVPROF_NAME_CODE, 20, "g", "m.py", "m.py" },
    { 4, EVPROF_NAME_BUILTIN, 0, "len", "builtins", "" },
};

/* Three threads, the last two of one ident (reused): their events
 * interleave in time.  Thread 0 returns from g (open before its first
 * event), calls main, f inside it at the same ns, len at the same ns as
 * f's return; thread 1 allocates and frees; thread 2 is left open. */
static const evprof_event events[] = {
    E(T0 + 0, EVPROF_PROFILER_START, 0, 0, 0),
    E(T0 + 1, EVPROF_CALL, 2, 0, 0),
    E(T0 + 2, EVPROF_RETURN, 3, 0, 0),
    E(T0 + 3, EVPROF_CALL, 1, 0, 0),
    E(T0 + 3, EVPROF_CALL, 2, 0, 0),
    E(T0 + 4, EVPROF_MALLOC, 2, 0xA0, 64),
    E(T0 + 5, EVPROF_C_CALL, 4, 0, 0),
    E(T0 + 6, EVPROF_CALL, 3, 0, 0),
    E(T0 + 7, EVPROF_C_RETURN, 4, 0, 0),
    E(T0 + 7, EVPROF_RETURN, 2, 0, 0),
    E(T0 + 7, EVPROF_RETURN, 1, 0, 0),
    E(T0 + 8, EVPROF_FREE, 2, 0xA0, -64),
    E(T0 + 9, EVPROF_RETURN, 2, 0, 0),
    E(T0 + 9, EVPROF_MALLOC, 2, 0xB0, 16),
    E(T0 + 1000, EVPROF_PROFILER_SORT, 0, 0, 0),
};
static const uint32_t threads[] = { 0, 1, 0, 0, 0, 1, 0, 2, 0, 0, 0, 1, 1,
                                    1, 0 };
static const evprof_thread_info tinfo[] = { { 7, 70 }, { 8, 80 },
                                            { 8, 81 } };
static const char *const meta[] = { "thread_name.8", "worker", NULL };

static char *run(const char *sink, const char *trace)
{
    char err[256];
    int rc = evprof_sink_run_path(trace, sink, "t/sinks-order.out", NULL,
                                  err, sizeof(err));

    if (!is_int(0, rc, "%s of %s runs (%s)", sink, trace, err))
        return NULL;
    return fixture_slurp("t/sinks-order.out");
}

static int cmp_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of s sorted, by the line or (seq_only) by the first field. */
static char *sorted_lines(const char *s, int seq_only)
{
    char *copy = strdup(s), **line = NULL, *p, *out;
    size_t n = 0, i, len = strlen(s) + 2;

    if (copy == NULL || (out = malloc(len)) == NULL)
        bail("out of memory");
    for (p = strtok(copy, "\n"); p != NULL; p = strtok(NULL, "\n")) {
        if ((line = realloc(line, (n + 1) * sizeof(*line))) == NULL)
            bail("out of memory");
        line[n++] = p;
    }
    if (seq_only) { /* stable: insertion by the sequence number */
        for (i = 1; i < n; i++) {
            char *x = line[i];
            size_t j = i;

            for (; j > 0 && atoi(line[j - 1]) > atoi(x); j--)
                line[j] = line[j - 1];
            line[j] = x;
        }
    } else
        qsort(line, n, sizeof(*line), cmp_lines);
    out[0] = '\0';
    for (i = 0; i < n; i++) {
        strcat(out, line[i]);
        strcat(out, "\n");
    }
    free(line);
    free(copy);
    return out;
}

static void same_for_both(const char *timed, const char *streamed)
{
    char *a, *b, *sa, *sb;
    int na = 0, nb = 0;

    a = run("summary-tsv", timed);
    b = run("summary-tsv", streamed);
    if (a && b)
        is_string(a, b, "summary: one thread a section as time-ordered");
    else
        skip("summary failed");
    free(a);
    free(b);
    a = run("chrome", timed);
    b = run("chrome", streamed);
    if (a && b) {
        /* Each file's times from its own origin (its creation). */
        char *xa = fixture_chrome_absolute(a), *xb = fixture_chrome_absolute(b);

        sa = sorted_lines(xa, 0);
        sb = sorted_lines(xb, 0);
        is_string(sa, sb, "chrome: the same events (in another order)");
        free(sa);
        free(sb);
        free(xa);
        free(xb);
    } else
        skip("chrome failed");
    free(a);
    free(b);
    a = run("perfetto", timed);
    a = (free(a), fixture_replay("t/sinks-order.out", &na));
    b = run("perfetto", streamed);
    b = (free(b), fixture_replay("t/sinks-order.out", &nb));
    if (a == NULL || b == NULL)
        skip("protoc not found: the Perfetto output is not decoded");
    else {
        sa = sorted_lines(a, 1);
        sb = sorted_lines(b, 1);
        ok(na == nb && strcmp(sa, sb) == 0,
           "perfetto: each sequence the same (%d and %d events)", na, nb);
        free(sa);
        free(sb);
    }
    free(a);
    free(b);
}

/* g, open before thread 1's first event, begins 1 ns before it. */
static const char perfetto_want[] =
"1 9007199254740993 I profiler start\n"
"1 9007199254740992 B g\n"
"1 9007199254740995 E\n"
"1 9007199254740996 B main\n"
"1 9007199254740996 B f\n"
"1 9007199254740998 B len\n"
"1 9007199254741000 E\n"
"1 9007199254741000 E\n"
"1 9007199254741000 E\n"
"1 9007199254741993 I profiler stop\n"
"3 9007199254740994 B f\n"
"3 9007199254741002 E\n"
"4 9007199254740997 C 64\n"
"4 9007199254741001 C 0\n"
"4 9007199254741002 C 16\n"
"5 9007199254740999 B g\n"
"5 9007199254740999 E\n";

/* The origin of the Chrome times of path: the earlier of the file's
 * creation and of its first event, first. */
static int64_t origin(const char *path, int64_t first)
{
    evprof_trace_reader *r = NULL;
    int64_t made;

    if (evprof_trace_reader_open(path, &r) != 0)
        bail("%s: %s", path, evprof_trace_reader_error(r));
    made = evprof_trace_reader_info(r)->created_clock_ns;
    evprof_trace_reader_close(r);
    return made < first ? made : first;
}

static void exact_times(const char *timed)
{
    char *raw = run("chrome", timed), *out = NULL, *dec, want[64];
    int n = 0, i;

    if (raw == NULL) {
        for (i = 0; i < 6; i++)
            skip("chrome failed");
    } else {
        /* The times from the file's creation, before its first event
         * (unless this machine has run for 104 days). */
        snprintf(want, sizeof(want), "\"t0_ns\":%lld,",
                 (long long)origin(timed, T0));
        ok(strstr(raw, want) != NULL, "chrome: times from the earlier of "
           "the file's creation and its first event (%s)", want);
        /* Made absolute again in integers: exact if the relative ones
         * are. */
        out = fixture_chrome_absolute(raw);
        /* main and f from the same ns to the same ns, exact. */
        ok(strstr(out, "\"cat\":\"m.py:1\",\"name\":\"main\",\"pid\":")
           != NULL
           && strstr(out, "\"tid\":1,\"ts\":9007199254740.996,\"dur\":0.004}")
           != NULL, "chrome: main, exact to the ns past 2^53 ns");
        ok(strstr(out, "\"cat\":\"m.py:20\",\"name\":\"g\",\"pid\":")
           != NULL
           && strstr(out, "\"tid\":1,\"ts\":9007199254740.993,\"dur\":0.002}")
           != NULL, "chrome: g, open before the start, from the thread's "
           "first event (not from 0)");
        ok(strstr(out, "\"tid\":3,\"ts\":9007199254740.999,\"dur\":0.000}")
           != NULL, "chrome: g on the third thread, left open, ends at "
           "its last event");
        /* One name for the two threads of ident 8: the later thread's
         * (the earlier one's is not known); the earlier one is "thread
         * 8", as the DataFrame's thread column keys it. */
        ok(strstr(out, "\"tid\":2,\"args\":{\"name\":\"thread 8\"}}")
           != NULL
           && strstr(out, "\"tid\":3,\"args\":{\"name\":\"worker\"}}") != NULL
           && strstr(out, "\"tid\":1,\"args\":{\"name\":\"thread 7\"}}")
           != NULL, "chrome: a track per THREADS entry, ident reused, "
           "the name of an ident its last thread's");
        ok(strstr(out, "\"name\":\"memory (thread 8)\",\"pid\":") != NULL
           && strstr(out, "\"ts\":9007199254741.002,\"args\":{\"bytes in "
                     "use\":16}}") != NULL,
           "chrome: the bytes in use of the thread allocating");
    }
    free(raw);
    free(out);
    out = run("perfetto", timed);
    free(out);
    if ((dec = fixture_replay("t/sinks-order.out", &n)) == NULL)
        skip("protoc not found: the Perfetto output is not decoded");
    else {
        char *s = sorted_lines(dec, 1);

        is_string(perfetto_want, s, "perfetto: exact times, a sequence per "
                  "thread and per counter, nesting at equal timestamps");
        free(s);
    }
    free(dec);
}

/* Three threads one after another, one ident (CPython reuses it), each
 * named as it started: a track each, each with its own name. */
static const evprof_event reused_events[] = {
    E(100, EVPROF_CALL, 1, 0, 0),
    E(110, EVPROF_CALL, 2, 0, 0),
    E(120, EVPROF_RETURN, 2, 0, 0),
    E(130, EVPROF_CALL, 2, 0, 0),
    E(140, EVPROF_RETURN, 2, 0, 0),
    E(150, EVPROF_CALL, 2, 0, 0),
    E(160, EVPROF_RETURN, 2, 0, 0),
    E(170, EVPROF_RETURN, 1, 0, 0),
};
static const uint32_t reused_threads[] = { 0, 1, 1, 2, 2, 3, 3, 0 };
static const evprof_thread_info reused_tinfo[] = { { 7, 70 }, { 5, 51 },
                                                   { 5, 52 }, { 5, 53 } };
static const char *const reused_meta[] = {
    "thread_name.7", "MainThread", "thread_name.5", "Thread-1",
    "thread_name.5", "Thread-2", "thread_name.5", "Thread-3", NULL
};

/* protoc's text of a Perfetto trace on one line, or NULL without it. */
static char *protoc_flat(const char *pftrace)
{
    char cmd[512], line[512], *buf = NULL;
    size_t len = 0;
    FILE *p, *m;

    if (system("protoc --version >/dev/null 2>&1") != 0)
        return NULL;
    snprintf(cmd, sizeof(cmd), "protoc --decode=perfetto.protos.Trace -I %s/t"
             " %s/t/sinks.proto < %s", SRCDIR, SRCDIR, pftrace);
    if ((p = popen(cmd, "r")) == NULL
        || (m = open_memstream(&buf, &len)) == NULL)
        bail("popen: %s", strerror(errno));
    while (fgets(line, sizeof(line), p) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        fprintf(m, "%s ", line + strspn(line, " "));
    }
    if (pclose(p) != 0)
        bail("protoc failed on %s", pftrace);
    fclose(m);
    return buf;
}

static void reused_idents(void)
{
    const char *trace = "t/sinks-order-r.evt";
    char *out, *dec;
    int i;

    fixture_write_as(trace, reused_events, reused_threads,
                     N(reused_events), names, N(names), reused_tinfo,
                     N(reused_tinfo), reused_meta, 0);
    if ((out = run("chrome", trace)) == NULL)
        skip("chrome failed");
    else {
        ok(strstr(out, "\"tid\":1,\"args\":{\"name\":\"MainThread\"}}")
           && strstr(out, "\"tid\":2,\"args\":{\"name\":\"Thread-1\"}}")
           && strstr(out, "\"tid\":3,\"args\":{\"name\":\"Thread-2\"}}")
           && strstr(out, "\"tid\":4,\"args\":{\"name\":\"Thread-3\"}}"),
           "chrome: threads of one ident, a track each with its own name");
        for (i = 2; i <= 4; i++) {
            char want[64];

            snprintf(want, sizeof(want), "\"tid\":%d,\"ts\":", i);
            if (strstr(out, want) == NULL)
                break;
        }
        ok(i == 5, "chrome: each of them has its slice");
    }
    free(out);
    free(run("perfetto", trace));
    if ((dec = protoc_flat("t/sinks-order.out")) == NULL)
        skip("protoc not found: the Perfetto output is not decoded");
    else
        ok(strstr(dec, "tid: 70 thread_name: \"MainThread\"")
           && strstr(dec, "tid: 51 thread_name: \"Thread-1\"")
           && strstr(dec, "tid: 52 thread_name: \"Thread-2\"")
           && strstr(dec, "tid: 53 thread_name: \"Thread-3\""),
           "perfetto: threads of one ident, a track each with its own name");
    free(dec);
    unlink(trace);
}

static int calls, stop_after;
static uint64_t last_done, last_total;

static int progress(void *ctx, uint64_t done, uint64_t total)
{
    int *bad = ctx;

    if (done < last_done || done > total || (calls > 0 && total != last_total))
        *bad = 1;
    last_done = done;
    last_total = total;
    return ++calls == stop_after;
}

static void progress_calls(const char *trace)
{
    evprof_sink_options opt;
    char err[256];
    int bad = 0, rc;
    FILE *f = fopen(trace, "rb");
    long size;

    if (f == NULL)
        bail("%s: %s", trace, strerror(errno));
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fclose(f);
    evprof_sink_options_init(&opt);
    ok(opt.progress == NULL && opt.progress_ctx == NULL,
       "options: no progress callback by default");
    opt.progress = progress;
    opt.progress_ctx = &bad;
    opt.block = 4;
    calls = 0;
    stop_after = 0;
    rc = evprof_sink_run_path(trace, "chrome", "t/sinks-order.out", &opt,
                              err, sizeof(err));
    ok(rc == 0 && !bad && calls > 3 && last_done == last_total
       && last_total == 2 * (uint64_t)size,
       "progress: %d calls, rising to 2 x %ld bytes (two passes)", calls,
       size);
    calls = 0;
    last_done = 0;
    rc = evprof_sink_run_path(trace, "summary", "t/sinks-order.out", &opt,
                              err, sizeof(err));
    ok(rc == 0 && !bad && last_done == (uint64_t)size
       && last_total == (uint64_t)size, "progress: the summary reads once");
    calls = 0;
    last_done = 0;
    stop_after = 2;
    rc = evprof_sink_run_path(trace, "perfetto", "t/sinks-order.out", &opt,
                              err, sizeof(err));
    is_int(-ECANCELED, rc, "progress: a nonzero return stops the run (%s)",
           err);
}

/* A streamed file made after its events (a reader may get one so), the
 * thread of its first section starting late: the times from that
 * section's first event, the events before it negative, exact. */
static void before_origin(void)
{
    const char *timed = "t/sinks-order-bt.evt", *streamed = "t/sinks-order-bs.evt";
    evprof_event early[N(events)];
    char *a, *b, *xa, *xb, *sa, *sb;
    size_t i;

    for (i = 0; i < N(events); i++) {
        early[i] = events[i];
        early[i].time = events[i].time - T0 + 100;
    }
    fixture_write_as(timed, early, threads, N(events), names, N(names),
                     tinfo, N(tinfo), meta, 0);
    fixture_write_as(streamed, early, threads, N(events), names, N(names),
                     tinfo, N(tinfo), meta, 1);
    a = run("chrome", timed);
    b = run("chrome", streamed);
    if (a == NULL || b == NULL) {
        skip("chrome failed");
        skip("chrome failed");
    } else {
        /* The last thread first: its first event, g's call, at 106. */
        ok(strstr(b, "\"t0_ns\":106,") != NULL
           && strstr(b, "\"name\":\"profiler start\",\"cat\":\"evprof\","
                     "\"pid\":") != NULL
           && strstr(b, "\"tid\":1,\"ts\":-0.006}") != NULL
           && strstr(a, "\"t0_ns\":100,") != NULL,
           "chrome: an event before the origin, negative");
        xa = fixture_chrome_absolute(a);
        xb = fixture_chrome_absolute(b);
        sa = sorted_lines(xa, 0);
        sb = sorted_lines(xb, 0);
        is_string(sa, sb, "chrome: the same times as the time-ordered "
                  "file's, from another origin");
        free(sa);
        free(sb);
        free(xa);
        free(xb);
    }
    free(a);
    free(b);
    unlink(timed);
    unlink(streamed);
}

int main(int argc, char **argv)
{
    const char *timed = "t/sinks-order-t.evt", *streamed = "t/sinks-order-s.evt";

    plan(31);
    fixture_write_as(timed, events, threads, N(events), names, N(names),
                     tinfo, N(tinfo), meta, 0);
    fixture_write_as(streamed, events, threads, N(events), names, N(names),
                     tinfo, N(tinfo), meta, 1);
    same_for_both(timed, streamed);
    exact_times(timed);
    before_origin();
    progress_calls(timed);
    reused_idents();
    if (argc > 1) /* keep the traces */
        return (void)argv, 0;
    unlink(timed);
    unlink(streamed);
    unlink("t/sinks-order.out");
    return 0;
}
