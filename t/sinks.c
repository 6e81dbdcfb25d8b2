/*
 * The sinks on traces written here, with exact expected results: nested
 * calls, recursion, an unbalanced timeline (returns without their calls
 * at the start, calls left open at the end), exceptions, builtins, two
 * threads, allocations and frees (of blocks allocated before the trace
 * too), the start and stop markers; a damaged trace, an unknown sink, an
 * unwritable output; an existing output written over (cut to its new
 * length, also when the run fails), an output that is the trace.  The Perfetto output is decoded with protoc against
 * t/sinks.proto (skipped without protoc).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <evprof.h>

#include "sink-fixture.h"
#include "tap.h"

static const evprof_trace_name names_a[] = {
    { 1, EVPROF_NAME_CODE, 1, "main", "m.py", "m.py" },
    { 2, EVPROF_NAME_CODE, 10, "f", "m.py", "m.py" },
    { 3, EVPROF_NAME_BUILTIN, 0, "len", "builtins", "" },
    { 4, EVPROF_NAME_CODE, 20, "g", "m.py", "m.py" },
    { 5, EVPROF_NAME_CODE, 30, "h\"q", "a/very/long/directory/name/of/a/module/x.py",
      "x.py" },
};

#define E(t, code, key, v1, v2) { key, 0, code, t, v1, v2 }
/* An allocation event of a domain (its id_arg). */
#define EM(t, code, key, v1, v2, dom) { key, dom, code, t, v1, v2 }

/* Thread 0: g returns (open before the start), main calls f, which
 * allocates, calls len, recurses (raising in the inner f), frees its
 * block and one older than the trace; g is called and left open, main
 * never returns.  Thread 1: h, open twice before the start (recursion),
 * returns twice, then a balanced h. */
static const evprof_event events_a[] = {
    E(100, EVPROF_PROFILER_START, 0, 0, 0),
    E(110, EVPROF_RETURN, 4, 0, 0),
    E(115, EVPROF_RETURN, 5, 0, 0),
    E(120, EVPROF_CALL, 1, 0, 0),
    E(125, EVPROF_RETURN, 5, 0, 0),
    E(130, EVPROF_CALL, 2, 0, 0),
    E(135, EVPROF_CALL, 5, 0, 0),
    EM(140, EVPROF_MALLOC, 2, 0xA0, 100, EVPROF_DOMAIN_OBJ),
    E(145, EVPROF_RETURN, 5, 0, 0),
    E(150, EVPROF_C_CALL, 3, 0, 0),
    E(160, EVPROF_C_RETURN, 3, 0, 0),
    E(170, EVPROF_CALL, 2, 0, 0),
    E(180, EVPROF_EXCEPTION, 2, 0, 0),
    E(190, EVPROF_RETURN, 2, 0, 0),
    E(200, EVPROF_FREE, 2, 0xA0, -100),
    E(210, EVPROF_FREE, 2, 0xB0, 0),
    EM(210, EVPROF_MALLOC, 2, 0xC0, 7, EVPROF_DOMAIN_NUMPY),
    E(220, EVPROF_RETURN, 2, 0, 0),
    E(230, EVPROF_CALL, 4, 0, 0),
    EM(240, EVPROF_CALLOC, 4, 0xD0, 50, 9), /* no known domain */
    E(250, EVPROF_PROFILER_SORT, 0, 0, 0),
};
static const uint32_t threads_a[] = { 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0,
                                      0, 0, 0, 0, 0, 0, 0, 0, 0 };
static const evprof_thread_info tinfo_a[] = { { 1000, 11 }, { 2000, 12 } };

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char *run(const char *sink, const char *trace, int sort, long limit)
{
    evprof_sink_options opt;
    char err[256];
    int rc;

    evprof_sink_options_init(&opt);
    opt.sort = sort;
    opt.limit = limit;
    rc = evprof_sink_run_path(trace, sink, "t/sinks.out", &opt, err,
                              sizeof(err));
    if (!is_int(0, rc, "%s runs (%s)", sink, err))
        return NULL;
    return fixture_slurp("t/sinks.out");
}

/* The stats of a run agree with what the reader itself reads. */
static void stats_match(const char *trace)
{
    evprof_sink_options opt;
    evprof_sink_stats st;
    evprof_trace_reader *r = NULL;
    evprof_event ev[64];
    char err[256];
    int64_t n, total = 0;

    evprof_sink_options_init(&opt);
    ok(opt.stats == NULL, "options: no stats by default");
    memset(&st, 0xff, sizeof(st));
    opt.stats = &st;
    is_int(0, evprof_sink_run_path(trace, "summary", "t/sinks.out", &opt,
                                   err, sizeof(err)), "summary with stats");
    if (evprof_trace_reader_open(trace, &r) != 0)
        bail("reader: %s", evprof_trace_reader_error(r));
    while ((n = evprof_trace_read_events(r, ev, NULL, 64)) > 0)
        total += n;
    is_int(total, (int64_t)st.events, "stats: the events read");
    ok(st.threads == evprof_trace_reader_thread_count(r)
       && st.lost == evprof_trace_reader_lost(r),
       "stats: threads and lost as the reader says");
    ok(st.pid == evprof_trace_reader_info(r)->pid
       && st.clock == evprof_trace_reader_info(r)->clock,
       "stats: pid and clock of the header");
    evprof_trace_reader_close(r);
}

static const char summary_a[] =
"   calls    incl (ms)    excl (ms)     allocs   allocated         net  function\n"
"       1        0.000        0.000          0         0 B         0 B  main (m.py:1)\n"
"       2        0.000        0.000          2       107 B         7 B  f (m.py:10)\n"
"       3        0.000        0.000          0         0 B         0 B  h\"q (.../long/directory/name/of/a/module/x.py:30)\n"
"... 2 more functions\n"
"allocated by domain: obj 100 B, other 50 B, numpy 7 B\n";

static const char tsv_a[] =
"name\tmod\tlineno\tbuiltin\tcalls\tinclusive_ns\texclusive_ns\tallocations\tbytes_allocated\tbytes_net"
"\tbytes_raw\tbytes_mem\tbytes_obj\tbytes_numpy\tbytes_native\tbytes_mmap\tbytes_other\n"
"f\tm.py\t10\t0\t2\t90\t80\t2\t107\t7\t0\t0\t100\t7\t0\t0\t0\n"
"h\"q\ta/very/long/directory/name/of/a/module/x.py\t30\t0\t3\t35\t35\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\n"
"g\tm.py\t20\t0\t2\t30\t30\t1\t50\t50\t0\t0\t0\t0\t0\t0\t50\n"
"main\tm.py\t1\t0\t1\t130\t20\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\n"
"len\tbuiltins\t-1\t1\t1\t10\t10\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\n";

/* Thread 1 (sequence 1), thread 2 (sequence 2), the counter (3), as
 * protoc prints names; a counter value is written once the next
 * timestamp shows it was the last of its own. */
/* Thread 1 (sequence 1), its counter (2), thread 2 (3), as protoc
 * prints names; a counter value is written once the next timestamp shows
 * it was the last of its own.  A frame open before its thread's first
 * event begins when it ends, k ns before that first event for the k-th
 * (115 and 125 -> 114 and 113: the later, outer one first in time). */
static const char perfetto_a[] =
"1 100 I profiler start\n"
"1 99 B g\n"
"1 110 E\n"
"3 114 B h\\\"q\n"
"3 115 E\n"
"1 120 B main\n"
"3 113 B h\\\"q\n"
"3 125 E\n"
"1 130 B f\n"
"3 135 B h\\\"q\n"
"3 145 E\n"
"1 150 B len\n"
"1 160 E\n"
"1 170 B f\n"
"1 190 E\n"
"2 140 C 100\n"
"2 200 C 0\n"
"1 220 E\n"
"1 230 B g\n"
"2 210 C 7\n"
"1 250 I profiler stop\n"
"1 250 E\n"
"1 250 E\n"
"2 240 C 57\n";

static void damaged(const char *good)
{
    char *bytes = fixture_slurp(good), err[256];
    FILE *f;
    long n;
    int rc;

    f = fopen(good, "rb");
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fclose(f);
    /* Cut in the middle of the events. */
    f = fopen("t/sinks-bad.evt", "wb");
    if (f == NULL || fwrite(bytes, 1, (size_t)n / 2, f) != (size_t)n / 2)
        bail("write t/sinks-bad.evt");
    fclose(f);
    rc = evprof_sink_run_path("t/sinks-bad.evt", "summary", "t/sinks.out",
                              NULL, err, sizeof(err));
    /* The reader's code for a file cut off (its complete sections read). */
    is_int(-ENODATA, rc, "a truncated trace: -ENODATA");
    ok(strstr(err, "truncated") != NULL, "with the reader's message: %s", err);
    rc = evprof_sink_run_path("t/sinks-bad.evt", "perfetto", "t/sinks.out",
                              NULL, err, sizeof(err));
    is_int(-ENODATA, rc, "perfetto: -ENODATA too (%s)", err);
    /* One byte changed in the header. */
    bytes[20] ^= 1;
    f = fopen("t/sinks-bad.evt", "wb");
    if (f == NULL || fwrite(bytes, 1, (size_t)n, f) != (size_t)n)
        bail("write t/sinks-bad.evt");
    fclose(f);
    rc = evprof_sink_run_path("t/sinks-bad.evt", "chrome", "t/sinks.out",
                              NULL, err, sizeof(err));
    ok(rc < 0 && err[0] != '\0', "a corrupted header: %d (%s)", rc, err);
    rc = evprof_sink_run_path("t/no-such.evt", "chrome", "t/sinks.out",
                              NULL, err, sizeof(err));
    is_int(-ENOENT, rc, "no such trace: -ENOENT (%s)", err);
    rc = evprof_sink_run_path(good, "no-such-sink", "t/sinks.out", NULL,
                              err, sizeof(err));
    is_int(-ENOENT, rc, "an unknown sink: -ENOENT (%s)", err);
    rc = evprof_sink_run_path(good, "summary", "t/no/such/dir/out", NULL,
                              err, sizeof(err));
    is_int(-ENOENT, rc, "an unwritable output: -ENOENT (%s)", err);
    f = fopen("/dev/full", "w");
    if (f != NULL) {
        rc = evprof_sink_run(good, "chrome", f, NULL, err, sizeof(err));
        ok(rc < 0, "a full disk: %d (%s)", rc, err);
        fclose(f);
    } else
        skip("no /dev/full");
    unlink("t/sinks-bad.evt");
    free(bytes);
}

/* Writes n bytes of DEL, which no output holds, to path. */
static void fill(const char *path, size_t n)
{
    FILE *f = fopen(path, "wb");
    size_t i;

    if (f == NULL)
        bail("%s: %s", path, strerror(errno));
    for (i = 0; i < n; i++)
        putc(0x7f, f);
    fclose(f);
}

static void overwrite(const char *good)
{
    char *fresh, *again, err[256];
    int rc;

    unlink("t/sinks.out");
    fresh = run("chrome", good, 0, 0);
    /* Over a larger file: the same bytes, nothing of the old file. */
    fill("t/sinks.out", 1 << 20);
    again = run("chrome", good, 0, 0);
    ok(fresh != NULL && again != NULL && strcmp(fresh, again) == 0
       && strchr(again, 0x7f) == NULL,
       "an existing larger output: cut to what was written");
    free(again);
    /* A run that fails part way leaves what it wrote, no old bytes. */
    fill("t/sinks-bad.evt", 100);
    fill("t/sinks.out", 1 << 20);
    rc = evprof_sink_run_path("t/sinks-bad.evt", "chrome", "t/sinks.out",
                              NULL, err, sizeof(err));
    again = fixture_slurp("t/sinks.out");
    ok(rc < 0 && strchr(again, 0x7f) == NULL,
       "a failed run over an existing output: no old bytes left (%d)", rc);
    free(again);
    unlink("t/sinks-bad.evt");
    /* The trace as its own output: refused, the trace untouched. */
    rc = evprof_sink_run_path(good, "chrome", good, NULL, err, sizeof(err));
    is_int(-EINVAL, rc, "the trace as output: -EINVAL (%s)", err);
    again = run("summary", good, 0, 0);
    ok(again != NULL, "and the trace still reads");
    free(again);
    free(fresh);
}

int main(int argc, char **argv)
{
    const char *a = "t/sinks-a.evt";
    const char *sinks[] = { "summary", "summary-tsv", "chrome", "perfetto" };
    char *out, *dec;
    size_t i;
    int nev = 0;

    fixture_write(a, events_a, threads_a, N(events_a), names_a, N(names_a),
                  tinfo_a, N(tinfo_a));
    if (argc > 1) { /* print: sinks SINK */
        out = run(argv[1], a, EVPROF_SORT_INCLUSIVE, 0);
        fputs(out, stdout);
        free(out);
        return 0;
    }
    plan(45);
    for (i = 0; i < N(sinks); i++)
        is_string(sinks[i], evprof_sink_name(i), "sink %zu is %s", i, sinks[i]);
    ok(evprof_sink_name(N(sinks)) == NULL, "and no more");
    is_int(EVPROF_SORT_NET, evprof_sink_sort_key("net"), "sort key net");
    is_int(-EINVAL, evprof_sink_sort_key("size"), "no sort key size");

    stats_match(a);

    /* As python3 -m evprof report --limit 3 prints it. */
    if ((out = run("summary", a, EVPROF_SORT_INCLUSIVE, 3)) != NULL)
        is_string(summary_a, out, "summary: text, sorted by inclusive time");
    free(out);
    if ((out = run("summary-tsv", a, EVPROF_SORT_EXCLUSIVE, 3)) != NULL)
        is_string(tsv_a, out, "summary-tsv: every row, by exclusive time");
    free(out);

    if ((out = run("chrome", a, 0, 0)) != NULL) {
        /* Times from the first event (earlier than the file's creation,
         * a clock reading of now). */
        ok(strncmp(out, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"producer\":"
                   "\"evprof\",\"t0_ns\":100,\"version\":3},"
                   "\"traceEvents\":[\n", 96) == 0,
           "chrome: header, the times from the first event's");
        ok(strstr(out, "{\"ph\":\"X\",\"cat\":\"m.py:20\",\"name\":\"g\","
                  "\"pid\":") != NULL
           && strstr(out, ",\"tid\":1,\"ts\":0.000,\"dur\":0.010}") != NULL,
           "chrome: a return without its call starts at its thread's first "
           "event");
        ok(strstr(out, "\"name\":\"h\\\"q\"") != NULL
           && strstr(out, ",\"tid\":2,\"ts\":0.015,\"dur\":0.000}") != NULL,
           "chrome: names escaped; thread 2's first slice from its first "
           "event");
        ok(strstr(out, "\"tid\":1,\"ts\":0.020,\"dur\":0.130}") != NULL,
           "chrome: main, left open, ends at its thread's last event");
        ok(strstr(out, "\"cat\":\"builtins\",\"name\":\"len\",\"pid\":")
           != NULL, "chrome: a builtin, its module as category");
        ok(strstr(out, "\"ph\":\"X\"") != NULL
           && strstr(out, "\"args\":{\"module\"") == NULL,
           "chrome: slices without args (their label is the name)");
        ok(strstr(out, "{\"ph\":\"C\",\"name\":\"memory (thread 1000)\","
                  "\"pid\":") != NULL
           && strstr(out, "\"ts\":0.110,\"args\":{\"bytes in use\":7}}") != NULL
           && strstr(out, "\"ts\":0.100,\"args\":{\"bytes in use\":0}}") != NULL
           && strstr(out, "\"bytes in use\":-100") == NULL,
           "chrome: bytes in use of a thread, the last value at each "
           "timestamp");
        ok(strstr(out, "\"name\":\"profiler stop\",\"cat\":\"evprof\"") != NULL,
           "chrome: the stop marker");
        ok(strstr(out, "\"tid\":2,\"args\":{\"name\":\"thread 2000\"}}") != NULL,
           "chrome: a track per thread");
        ok(strcmp(out + strlen(out) - 4, "\n]}\n") == 0, "chrome: complete");
    } else
        for (i = 0; i < 10; i++)
            skip("chrome failed");
    free(out);

    out = run("perfetto", a, 0, 0);
    free(out);
    if ((dec = fixture_replay("t/sinks.out", &nev)) == NULL) {
        skip("protoc not found: the Perfetto output is not decoded");
        skip("protoc not found");
    } else {
        is_string(perfetto_a, dec, "perfetto: slices nested per track, "
                  "names, counter, markers");
        is_int(24, nev, "perfetto: 24 track events");
    }
    free(dec);

    damaged(a);
    overwrite(a);
    unlink(a);
    unlink("t/sinks.out");
    return 0;
}
