/*
 * A trace cut off after the first events of a thread whose THREADS entry
 * was not written yet (a stream writes it after them): read back, its
 * events are of a thread of their own, unlisted (ident 0), never of
 * another one; the reader's message says so.  The same through the
 * events reader, a skimming one (the sinks' tables), and the Chrome
 * sink (a track per thread, "tid" = index + 1).  The complete file
 * lists both threads and says nothing of the sort; a last section
 * failing its checksum adds no thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <evprof.h>

#include "cut-trace.h"
#include "tap.h"

#define TRACE "t/cut-threads.evt"
#define CUT "t/cut-threads-c.evt"
#define OUT "t/cut-threads.json"
#define UNLISTED "1 thread not in the THREADS table"

#define A_EVENTS 6
#define B_EVENTS 4

static const evprof_thread_info threads[] = { { 1111, 11 }, { 2222, 22 } };

static void check(int rc, const char *what)
{
    if (rc < 0)
        bail("%s: %s", what, evprof_strerror(rc));
}

static void emit(evprof_event *e, uint32_t *t, size_t *n, uint32_t thread,
                 int64_t code, int64_t key)
{
    e[*n].id_frame = key;
    e[*n].id_arg = 0;
    e[*n].event = code;
    e[*n].time = 1000 + 100 * (int64_t)*n;
    e[*n].value1 = e[*n].value2 = 0;
    t[(*n)++] = thread;
}

/* META, THREADS [A], NAMES, A's events, B's events, THREADS [A, B],
 * END; returns where the second THREADS section starts. */
static uint64_t b_start; /* B's events section */

static uint64_t write_trace(void)
{
    static const evprof_trace_name names[] = {
        { 1, EVPROF_NAME_CODE, 1, "alpha", "cut.py", "cut.py" },
        { 2, EVPROF_NAME_CODE, 5, "beta", "cut.py", "cut.py" },
    };
    evprof_trace_writer *w;
    evprof_event ev[16];
    uint32_t th[16];
    size_t n = 0, i, len;
    unsigned char *f;
    uint64_t at, last = 0;

    check(evprof_trace_writer_open(TRACE, &w), "open");
    check(evprof_trace_write_meta(w, "thread_name.1111", "A"), "meta");
    check(evprof_trace_write_threads(w, threads, 1), "threads");
    check(evprof_trace_write_names(w, names, 2), "names");
    for (i = 0; i < A_EVENTS / 2; i++)
        emit(ev, th, &n, 0, EVPROF_CALL, 1);
    for (i = 0; i < A_EVENTS / 2; i++)
        emit(ev, th, &n, 0, EVPROF_RETURN, 1);
    check(evprof_trace_write_events(w, ev, th, n), "events of A");
    n = 0;
    for (i = 0; i < B_EVENTS / 2; i++)
        emit(ev, th, &n, 1, EVPROF_CALL, 2);
    for (i = 0; i < B_EVENTS / 2; i++)
        emit(ev, th, &n, 1, EVPROF_RETURN, 2);
    check(evprof_trace_write_events(w, ev, th, n), "events of B");
    check(evprof_trace_write_threads(w, threads, 2), "threads");
    check(evprof_trace_writer_close(w), "close");
    f = slurp(TRACE, &len);
    for (at = get_le(f + 12, 4); at + 24 <= len;
         at += 24 + get_le(f + at + 8, 8))
        if (get_le(f + at, 4) == 2)
            last = at;
        else if (get_le(f + at, 4) == 6)
            b_start = at;
    free(f);
    return last;
}

static void cut_file(uint64_t at)
{
    size_t len;
    unsigned char *f = slurp(TRACE, &len);
    FILE *o = fopen(CUT, "wb");

    if (o == NULL || fwrite(f, 1, (size_t)at, o) != at || fclose(o) != 0)
        bail("write " CUT);
    free(f);
}

/* Reads path whole: the thread index of each event into th. */
static int read_all(const char *path, uint32_t *th, size_t *n,
                    evprof_trace_reader **out)
{
    evprof_event ev[32];
    int64_t k;

    check(evprof_trace_reader_open(path, out), path);
    *n = 0;
    while ((k = evprof_trace_read_events(*out, ev, th + *n, 32 - *n)) > 0)
        *n += (size_t)k;
    return (int)k;
}

static void events_reader(void)
{
    evprof_trace_reader *r;
    evprof_thread_info info;
    uint32_t th[32];
    size_t n, i, on_a = 0, on_b = 0;
    int rc = read_all(CUT, th, &n, &r);

    is_int(-ENODATA, rc, "the cut file ends with -ENODATA");
    ok(strstr(evprof_trace_reader_error(r), UNLISTED) != NULL,
       "the message says a thread is not listed: %s",
       evprof_trace_reader_error(r));
    is_int(A_EVENTS + B_EVENTS, (int64_t)n, "every event is read");
    for (i = 0; i < n; i++) {
        on_a += th[i] == 0;
        on_b += th[i] == 1;
    }
    is_int(A_EVENTS, (int64_t)on_a, "A's events on thread 0");
    is_int(B_EVENTS, (int64_t)on_b, "B's events on thread 1");
    is_int(2, (int64_t)evprof_trace_reader_thread_count(r),
           "thread 1 has an entry");
    ok(evprof_trace_reader_thread(r, 0, &info) == 0 && info.ident == 1111
       && info.native_id == 11, "thread 0 is A");
    ok(evprof_trace_reader_thread(r, 1, &info) == 0 && info.ident == 0
       && info.native_id == 0, "thread 1 is unlisted: ident 0");
    is_int(evprof_trace_reader_info(r)->pid,
           evprof_trace_reader_thread_pid(r, 1), "of the file's process");
    evprof_trace_reader_close(r);

    rc = read_all(TRACE, th, &n, &r);
    is_int(0, rc, "the complete file reads to its end");
    ok(evprof_trace_reader_thread(r, 1, &info) == 0 && info.ident == 2222,
       "where thread 1 is B");
    evprof_trace_reader_close(r);
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;

    for (; (s = strstr(s, what)) != NULL; s += strlen(what))
        n++;
    return n;
}

static void chrome(void)
{
    evprof_sink_options opt;
    evprof_sink_stats st;
    char err[256], *out;
    size_t len;
    int rc;

    evprof_sink_options_init(&opt);
    opt.partial = 1;
    opt.stats = &st;
    rc = evprof_sink_run_path(CUT, "chrome", OUT, &opt, err, sizeof(err));
    is_int(EVPROF_SINK_TRUNCATED, rc, "chrome: a partial read (%s)", err);
    ok(strstr(err, UNLISTED) != NULL, "chrome: the message says it: %s",
       err);
    is_int(2, (int64_t)st.threads, "chrome: two threads");
    out = (char *)slurp(OUT, &len);
    is_int(B_EVENTS / 2, (int64_t)count(out, "\"name\":\"beta\",\"pid\""),
           "chrome: B's calls are slices");
    ok(strstr(out, "\"tid\":2,\"args\":{\"name\":\"thread 0\"}") != NULL,
       "chrome: B's track is unnamed");
    ok(strstr(out, "\"tid\":1,\"args\":{\"name\":\"A\"}") != NULL,
       "chrome: A's track is A");
    is_int(B_EVENTS / 2, (int64_t)count(out, "\"tid\":2,\"ts\""),
           "chrome: B's slices on B's track");
    is_int(A_EVENTS / 2, (int64_t)count(out, "\"tid\":1,\"ts\""),
           "chrome: A's slices on A's track only");
    free(out);
}

/* B's section failing its checksum, the last of the file: a cut at its
 * start, its thread indices unused by the events reader and by the
 * skimming one (the sinks' tables) alike. */
static void damaged_last(uint64_t at)
{
    evprof_trace_reader *r;
    evprof_sink_options opt;
    evprof_sink_stats st;
    uint32_t th[32];
    char err[256];
    size_t len, n;
    unsigned char *f = slurp(TRACE, &len);
    FILE *o = fopen(CUT, "wb");
    int rc;

    f[b_start + 24 + (at - b_start - 24) / 2] ^= 0x10;
    if (o == NULL || fwrite(f, 1, (size_t)at, o) != at || fclose(o) != 0)
        bail("write " CUT);
    free(f);
    rc = read_all(CUT, th, &n, &r);
    is_int(-ENODATA, rc, "damaged: a cut");
    ok(strstr(evprof_trace_reader_error(r), "failing its checksum") != NULL
       && strstr(evprof_trace_reader_error(r), "THREADS table") == NULL,
       "damaged: at B's section, no thread added: %s",
       evprof_trace_reader_error(r));
    is_int(A_EVENTS, (int64_t)n, "damaged: A's events read");
    is_int(1, (int64_t)evprof_trace_reader_thread_count(r),
           "damaged: one thread");
    evprof_trace_reader_close(r);
    evprof_sink_options_init(&opt);
    opt.partial = 1;
    opt.stats = &st;
    rc = evprof_sink_run_path(CUT, "chrome", OUT, &opt, err, sizeof(err));
    is_int(EVPROF_SINK_TRUNCATED, rc, "damaged: chrome reads it (%s)", err);
    is_int(1, (int64_t)st.threads, "damaged: chrome sees one thread");
}

int main(void)
{
    uint64_t at;

    plan(26);
    at = write_trace();
    ok(at > 0, "the second THREADS section at offset %llu",
       (unsigned long long)at);
    cut_file(at);
    events_reader();
    chrome();
    damaged_last(at);
    remove(TRACE);
    remove(CUT);
    remove(OUT);
    return 0;
}
