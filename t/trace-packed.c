/*
 * trace-packed.c: the EVENTS_PACKED sections of the trace file: every
 * column written comes back as it was (extreme values, deltas of any
 * size, time going back, sections of one event and of 65536), through
 * every read path (a block of any size); a trace of version 1.0 still
 * reads; sections that lie behind valid checksums are refused.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <evprof.h>

#include "tap.h"
#include "trace-craft.h"

static char path[] = "/tmp/evprof-packed-XXXXXX";

static uint64_t seed = 0x2545F4914F6CDD1Du;

static uint64_t rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
}

static long file_size(void)
{
    FILE *f = fopen(path, "rb");
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0)
        bail("cannot read %s", path);
    n = ftell(f);
    fclose(f);
    return n;
}

/* Writes ev/thr in pieces of `piece` events, with two threads listed. */
static void write_file(const evprof_event *ev, const uint32_t *thr, size_t n,
                       size_t piece)
{
    evprof_thread_info ti[3] = {{1, 2}, {3, 4}, {5, 6}};
    evprof_trace_writer *w;
    size_t i, k;

    if (evprof_trace_writer_open(path, &w) != 0)
        bail("cannot write %s", path);
    for (i = 0; i < n; i += k) {
        k = n - i < piece ? n - i : piece;
        if (evprof_trace_write_events(w, ev + i, thr ? thr + i : NULL, k))
            bail("write_events");
    }
    if (evprof_trace_write_threads(w, ti, 3) != 0
        || evprof_trace_writer_close(w) != 0)
        bail("close");
}

/* Reads the file `block` events a call; the count of events identical to
 * ev/thr (UINT32_MAX for each when thr is NULL), or -1 on any difference
 * or error. */
static int64_t read_same(const evprof_event *ev, const uint32_t *thr,
                         size_t n, size_t block)
{
    evprof_trace_reader *r;
    evprof_event *in = malloc(block * sizeof(*in));
    uint32_t *tin = malloc(block * sizeof(*tin));
    size_t got = 0, i;
    int64_t k;
    int bad = 0;

    if (in == NULL || tin == NULL)
        bail("out of memory");
    if (evprof_trace_reader_open(path, &r) != 0)
        bad = 1;
    while (!bad && (k = evprof_trace_read_events(r, in, tin, block)) != 0) {
        if (k < 0 || got + (size_t)k > n) {
            diag("read: %" PRId64 " %s", k, evprof_trace_reader_error(r));
            bad = 1;
            break;
        }
        for (i = 0; i < (size_t)k; i++, got++)
            if (memcmp(&in[i], &ev[got], sizeof(*in)) != 0
                || tin[i] != (thr ? thr[got] : UINT32_MAX)) {
                diag("event %zu differs", got);
                bad = 1;
                break;
            }
    }
    evprof_trace_reader_close(r);
    free(in);
    free(tin);
    return bad ? -1 : (int64_t)got;
}

static void round_trip(const char *what, const evprof_event *ev,
                       const uint32_t *thr, size_t n, size_t piece)
{
    static const size_t blocks[] = {1, 7, 4096, 65536, 200000};
    size_t i;
    int good = 1;

    write_file(ev, thr, n, piece);
    for (i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
        if (read_same(ev, thr, n, blocks[i]) != (int64_t)n) {
            diag("reading %zu events a call", blocks[i]);
            good = 0;
        }
    ok(good, "%s: %zu events read back identical, by blocks of 1 to "
       "200000", what, n);
}

static const int64_t extremes[] = {
    0, 1, -1, INT64_MIN, INT64_MAX, INT64_MIN + 1, INT64_MAX - 1, 63, 64,
    -64, -65, 127, 128, (int64_t)1 << 62, -((int64_t)1 << 62)
};
#define N_EXTREMES (sizeof(extremes) / sizeof(extremes[0]))

static const int64_t codes[] = {
    EVPROF_CALL, EVPROF_RETURN, EVPROF_C_CALL, EVPROF_C_RETURN,
    EVPROF_EXCEPTION, EVPROF_C_EXCEPTION, EVPROF_PROFILER_CALL,
    EVPROF_PROFILER_RETURN, EVPROF_PROFILER_START, EVPROF_PROFILER_SORT,
    EVPROF_MALLOC, EVPROF_CALLOC, EVPROF_REALLOC, EVPROF_FREE,
    EVPROF_REALLOC_FREE, 0, 7, -3, 1005, 999, INT64_MIN, INT64_MAX
};
#define N_CODES (sizeof(codes) / sizeof(codes[0]))

static void columns(void)
{
    enum { N = 150000 };
    evprof_event *ev = malloc(N * sizeof(*ev));
    uint32_t *thr = malloc(N * sizeof(*thr));
    size_t i;
    long size;

    if (ev == NULL || thr == NULL)
        bail("out of memory");
    /* Every column through every extreme value and every code. */
    for (i = 0; i < N; i++) {
        ev[i].id_frame = extremes[i % N_EXTREMES];
        ev[i].id_arg = extremes[(i / 3) % N_EXTREMES];
        ev[i].event = codes[(i / 2) % N_CODES];
        ev[i].time = extremes[(i * 7) % N_EXTREMES];
        ev[i].value1 = extremes[(i * 5 + 1) % N_EXTREMES];
        ev[i].value2 = i % 11 == 0 ? (int64_t)rnd() : extremes[i % 4];
        thr[i] = i % 5000 < 10 ? (uint32_t)(i % 3)
                               : i % 7 == 0 ? 2 : 1;
    }
    round_trip("extreme values in every column", ev, thr, N, 65536);
    round_trip("without thread indices", ev, NULL, N, 65536);
    round_trip("sections of 1 event", ev, thr, 3000, 1);
    round_trip("sections of 65536, then 65537 events (two sections)", ev,
               thr, 65536 * 2 + 1, 65537);
    /* Random 64-bit values: deltas of any size. */
    for (i = 0; i < N; i++) {
        ev[i].id_frame = (int64_t)rnd();
        ev[i].id_arg = (int64_t)rnd() >> (rnd() % 64);
        ev[i].event = codes[rnd() % N_CODES];
        ev[i].time = (int64_t)rnd();
        ev[i].value1 = (int64_t)(rnd() >> (rnd() % 64));
        ev[i].value2 = -(int64_t)(rnd() >> 1 >> (rnd() % 63));
        thr[i] = (uint32_t)(rnd() % 2);
    }
    round_trip("random values, times going back and forth", ev, thr, N,
               40000);
    /* A profile's shape: time forward, keys repeated, sizes alike. */
    for (i = 0; i < N; i++) {
        int k = (int)(i % 4);

        ev[i].id_frame = 52 + (int64_t)(i % 8 == 0);
        ev[i].id_arg = 62;
        ev[i].event = k == 0 ? EVPROF_CALL : k == 1 ? EVPROF_MALLOC
            : k == 2 ? EVPROF_FREE : EVPROF_RETURN;
        ev[i].time = 1000000000 + (int64_t)i * 90 + (int64_t)(rnd() % 60);
        ev[i].value1 = k == 1 || k == 2 ? 0x7f0000001000 + (int64_t)(rnd() % 64) * 32
                                        : 30 + (int64_t)(i % 2) * 12;
        ev[i].value2 = k == 1 ? 28 + (int64_t)(rnd() % 2) * 4 : 0;
        thr[i] = 0;
    }
    round_trip("a profile's events", ev, thr, N, 65536);
    size = file_size();
    ok(size < 8 * N, "a profile's events: %.2f bytes an event",
       (double)size / N);
    /* Times going back across sections (a stream's threads). */
    for (i = 0; i < N; i++)
        ev[i].time = (int64_t)(i % 1000) * 10 - (int64_t)(i / 1000) * 5000;
    round_trip("time going back across sections", ev, thr, N, 1000);
    free(ev);
    free(thr);
}

/* ---- the trace of version 1.0 in t/data ------------------------------ */

/* The events t/data/trace-v1.0.evt was written with. */
static void old_row(evprof_event *e, int i)
{
    static const int64_t c[] = {1, 2, 3, 4, 1000, 1001, 1002, 1003, 1004,
                                100, 77};

    e->id_frame = 0x5000 + i % 7;
    e->id_arg = i % 5 == 0 ? INT64_MIN + i : -(int64_t)i * 977;
    e->event = c[i % 11];
    e->time = 1000000 + (int64_t)i * 37 - (i % 9 == 0 ? 500 : 0);
    e->value1 = i % 13 == 0 ? INT64_MAX - i : (int64_t)i * i * 0x10001;
    e->value2 = i % 4 == 0 ? -(int64_t)i
        : (i % 4 == 1 ? 0 : (int64_t)1 << (i % 63));
}

static void version_1_0(void)
{
    const char *srcdir = getenv("srcdir");
    char name[512];
    evprof_trace_reader *r;
    evprof_event ev[128], want;
    uint32_t thr[128];
    evprof_trace_name nm;
    const evprof_trace_info *info;
    int64_t n;
    int i, same = 1;

    snprintf(name, sizeof(name), "%s/t/data/trace-v1.0.evt",
             srcdir != NULL ? srcdir : ".");
    is_int(0, evprof_trace_reader_open(name, &r), "version 1.0 file opens");
    info = evprof_trace_reader_info(r);
    ok(info != NULL && info->version_major == 1 && info->version_minor == 0,
       "it is version 1.0");
    n = evprof_trace_read_events(r, ev, thr, 128);
    is_int(100, n, "its 100 events");
    for (i = 0; i < 100 && i < n; i++) {
        old_row(&want, i);
        if (memcmp(&want, &ev[i], sizeof(want)) != 0
            || thr[i] != (i < 60 ? (uint32_t)(i / 30 % 2) : UINT32_MAX))
            same = 0;
    }
    ok(same, "every column and thread as written");
    is_int(0, evprof_trace_read_events(r, ev, thr, 128), "then the end");
    ok(evprof_trace_reader_thread_count(r) == 2
       && evprof_trace_reader_find_name(r, 0x5001, &nm) == 0
       && strcmp(nm.name, "g") == 0
       && evprof_trace_reader_find_line(r, 0x5000, 8) == 4
       && evprof_trace_reader_lost(r) == 7, "threads, names, lines, lost");
    evprof_trace_reader_close(r);
}

/* ---- sections lying behind valid checksums --------------------------- */

/* A file of version 1.1: header, one EVENTS_PACKED payload p[0..n) of
 * `count` events (flags `flags`), END. */
static void packed_file(uint32_t count, uint32_t flags,
                        const unsigned char *p, size_t n)
{
    unsigned char pl[512];

    craft_start(1);
    le(pl, count, 4);
    le(pl + 4, flags, 4);
    memcpy(pl + 8, p, n);
    craft_section(6, 1, pl, 8 + n, 8 + n);
    craft_end(count, 1);
    {
        FILE *f = fopen(path, "wb");

        if (f == NULL || fwrite(craft, 1, craft_len, f) != craft_len
            || fclose(f) != 0)
            bail("cannot write %s", path);
    }
}

/* Reads the crafted file: the first code other than a count (0 at the
 * end), the events in ev, the message has `want`. */
static int read_crafted(evprof_event *ev, uint32_t *thr, size_t max,
                        int finish, char *msg, size_t len)
{
    evprof_trace_reader *r;
    int64_t n = 0, k;
    int rc = evprof_trace_reader_open(path, &r);

    if (rc == 0 && finish)
        rc = evprof_trace_reader_finish(r);
    while (rc == 0 && (k = evprof_trace_read_events(r, ev + n, thr + n,
                                                    max - (size_t)n)) != 0) {
        if (k < 0)
            rc = (int)k;
        else
            n += k;
    }
    snprintf(msg, len, "%s", evprof_trace_reader_error(r));
    evprof_trace_reader_close(r);
    return rc;
}

static void refused(uint32_t count, uint32_t flags, const unsigned char *p,
                    size_t n, int code, const char *want, const char *what)
{
    evprof_event ev[8];
    uint32_t thr[8];
    char msg[256], msg2[256];
    int rc, rc2;

    packed_file(count, flags, p, n);
    rc = read_crafted(ev, thr, 8, 0, msg, sizeof(msg));
    rc2 = read_crafted(ev, thr, 8, 1, msg2, sizeof(msg2));
    if (!ok(rc == code && rc2 == code && strstr(msg, want) != NULL,
            "%s: %d, %s", what, rc, msg))
        diag("wanted %d and \"%s\"; finish: %d, %s", code, want, rc2, msg2);
}

static void crafted(void)
{
    evprof_event ev[8];
    uint32_t thr[8];
    char msg[256];
    int rc;

    /* tag 0x00 (call, nothing changed), time 5; tag 0xdf (class 15,
     * every column changed): code zigzag(-3) = 5, time +1, id_frame -1,
     * id_arg +1, value1 INT64_MIN (zigzag: 2^64 - 1, 10 bytes), value2
     * 64; thread runs: 1 run, thread 9, 2 events. */
    static const unsigned char two[] = {
        0x01, 9, 2,
        0x00, 5,
        0xFF, 5, 1, 1, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0x01, 0x80, 0x01
    };
    unsigned char p[64];

    packed_file(2, 1, two, sizeof(two));
    rc = read_crafted(ev, thr, 8, 0, msg, sizeof(msg));
    ok(rc == -EBADMSG && strstr(msg, "thread 9") != NULL,
       "hand-made section read, thread 9 not listed: %s", msg);
    ok(ev[0].event == EVPROF_CALL && ev[0].time == 5 && ev[0].id_frame == 0
       && ev[0].value2 == 0 && thr[0] == 9,
       "first event: a call at time 5, every other column 0");
    ok(ev[1].event == -3 && ev[1].time == 6 && ev[1].id_frame == -1
       && ev[1].id_arg == 1 && ev[1].value1 == INT64_MIN
       && ev[1].value2 == 64 && thr[1] == 9,
       "second: code -3, deltas of 1, INT64_MIN, 64");

    p[0] = 0x10;
    p[1] = 5;
    p[2] = 0x80;
    p[3] = 0x01;
    refused(2, 0, p, 4, -EBADMSG, "events missing", "2 events, 1 there");
    p[0] = 0x00;
    p[1] = 5;
    p[2] = 0;
    refused(1, 0, p, 3, -EBADMSG, "data after the last event",
            "a byte after the last event");
    memset(p, 0xFF, 11);
    p[0] = 0x00;
    p[11] = 0x01;
    refused(1, 0, p, 12, -EBADMSG, "bad event time",
            "a varint of 11 bytes");
    memset(p, 0xFF, 10);
    p[0] = 0x00;
    p[10] = 0x02;
    refused(1, 0, p, 11, -EBADMSG, "bad event time",
            "a varint past 64 bits");
    p[0] = 0x10;
    p[1] = 1;
    p[2] = 0x80;
    refused(1, 0, p, 3, -EBADMSG, "bad event id_frame", "a varint cut short");
    p[0] = 2;
    p[1] = 0;
    p[2] = 1;
    p[3] = 0x00;
    p[4] = 1;
    refused(1, 1, p, 5, -EBADMSG, "more thread runs than events",
            "2 thread runs for 1 event");
    p[0] = 1;
    p[1] = 0;
    p[2] = 0;
    refused(1, 1, p, 5, -EBADMSG, "bad thread run length",
            "a run of 0 events");
    p[0] = 1;
    p[1] = 0;
    p[2] = 1;
    p[3] = 0x00;
    p[4] = 1;
    p[5] = 0x00;
    p[6] = 1;
    refused(2, 1, p, 7, -EBADMSG, "thread runs do not cover",
            "runs covering 1 event of 2");
    p[0] = 1;
    le(p + 1, 0x1080808080u, 5); /* 2^32 as a varint */
    p[6] = 1;
    p[7] = 0x00;
    p[8] = 1;
    refused(1, 1, p, 9, -EBADMSG, "bad thread index", "thread 2^32");
    refused(1, 2, two + 3, 2, -EPROTO, "unknown flags", "unknown flags");
    memset(p, 0, 32);
    refused(70000, 0, p, 16, -EBADMSG, "cannot be in", "70000 events");
    p[0] = 0;
    refused(0, 0, p, 1, -EBADMSG, "data after the last event",
            "0 events and a byte");
}

int main(void)
{
    int fd = mkstemp(path);

    if (fd < 0)
        bail("mkstemp");
    close(fd);
    plan(29);
    columns();
    version_1_0();
    crafted();
    unlink(path);
    return 0;
}
