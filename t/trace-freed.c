/*
 * trace-freed.c: EVPROF_READ_FREED_SIZES (evprof_trace_reader_set_flags)
 * against a brute-force pairing: each free or realloc_free holding 0 gets
 * minus the size of the allocation before it of the same pointer when
 * the event before it of that pointer is an allocation, else 0; other
 * values and events are left as written.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <evprof.h>

#include "tap.h"

static char path[] = "/tmp/evprof-freed-XXXXXX";

static uint64_t seed = 0x9E3779B97F4A7C15u;

static uint64_t rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
}

static int is_alloc(int64_t e)
{
    return e == EVPROF_MALLOC || e == EVPROF_CALLOC || e == EVPROF_REALLOC;
}

static int is_free(int64_t e)
{
    return e == EVPROF_FREE || e == EVPROF_REALLOC_FREE;
}

/* What the reader must give: the slow way, looking back every time. */
static void brute_force(evprof_event *ev, size_t n)
{
    size_t i, j;

    for (i = 0; i < n; i++) {
        if (!is_free(ev[i].event) || ev[i].value2 != 0)
            continue;
        for (j = i; j-- > 0;)
            if ((is_alloc(ev[j].event) || is_free(ev[j].event))
                && ev[j].value1 == ev[i].value1)
                break;
        if (j != (size_t)-1 && is_alloc(ev[j].event))
            ev[i].value2 = ev[j].value2 == INT64_MIN ? INT64_MIN
                                                      : -ev[j].value2;
    }
}

/* A random history of `n` events over `blocks` pointers: allocations,
 * frees (most of them of live blocks), reallocations (realloc_free of the
 * old pointer, then realloc of the new), calls in between; some frees
 * already hold their size, some blocks were allocated before the trace. */
static void history(evprof_event *ev, size_t n, uint64_t blocks)
{
    size_t i;

    for (i = 0; i < n; i++) {
        uint64_t k = rnd() % 100;
        int64_t ptr = 0x10000 + (int64_t)(rnd() % blocks) * 16;

        memset(&ev[i], 0, sizeof(ev[i]));
        ev[i].time = (int64_t)i * 10;
        ev[i].id_frame = 52;
        ev[i].value1 = ptr;
        if (k < 35) {
            ev[i].event = k < 30 ? EVPROF_MALLOC : EVPROF_CALLOC;
            ev[i].value2 = 1 + (int64_t)(rnd() % 5000);
        } else if (k < 70) {
            ev[i].event = EVPROF_FREE;
            if (k == 69)
                ev[i].value2 = -12345; /* the writer knew */
        } else if (k < 80 && i + 1 < n) {
            ev[i].event = EVPROF_REALLOC_FREE;
            i++;
            memset(&ev[i], 0, sizeof(ev[i]));
            ev[i].time = (int64_t)i * 10;
            ev[i].event = EVPROF_REALLOC;
            /* Often in place. */
            ev[i].value1 = k < 75 ? ptr
                : 0x10000 + (int64_t)(rnd() % blocks) * 16;
            ev[i].value2 = k == 79 ? INT64_MIN : (int64_t)(rnd() % 9000);
        } else {
            ev[i].event = k < 90 ? EVPROF_CALL : EVPROF_RETURN;
            ev[i].value1 = 30;
        }
    }
}

static void write_trace(const evprof_event *ev, size_t n)
{
    evprof_trace_writer *w;

    if (evprof_trace_writer_open(path, &w) != 0
        || evprof_trace_write_events(w, ev, NULL, n) != 0
        || evprof_trace_writer_close(w) != 0)
        bail("cannot write %s", path);
}

/* Reads the file `block` events a call with `flags`; the number of events
 * that differ from want (or -1 on an error). */
static int64_t differ(const evprof_event *want, size_t n, unsigned flags,
                      size_t block)
{
    evprof_trace_reader *r;
    evprof_event *in = malloc(block * sizeof(*in));
    size_t got = 0, i;
    int64_t k, bad = 0;

    if (in == NULL)
        bail("out of memory");
    if (evprof_trace_reader_open(path, &r) != 0
        || evprof_trace_reader_set_flags(r, flags) != 0)
        bail("open: %s", evprof_trace_reader_error(r));
    while ((k = evprof_trace_read_events(r, in, NULL, block)) > 0) {
        for (i = 0; i < (size_t)k && got < n; i++, got++)
            if (memcmp(&in[i], &want[got], sizeof(*in)) != 0)
                bad++;
    }
    if (k < 0 || got != n)
        bad = -1;
    evprof_trace_reader_close(r);
    free(in);
    return bad;
}

int main(void)
{
    enum { N = 60000 }; /* the brute force is quadratic (valgrind) */
    evprof_event *ev = malloc(N * sizeof(*ev)), *want = malloc(N * sizeof(*ev));
    evprof_trace_reader *r;
    size_t i, filled = 0, zero = 0;
    int fd = mkstemp(path);

    if (fd < 0 || ev == NULL || want == NULL)
        bail("setup");
    close(fd);
    plan(11);

    is_int(-EINVAL, evprof_trace_reader_set_flags(NULL, 0), "NULL: -EINVAL");
    history(ev, N, 3000);
    write_trace(ev, N);
    if (evprof_trace_reader_open(path, &r) != 0)
        bail("open");
    is_int(-EINVAL, evprof_trace_reader_set_flags(r, 2), "unknown flag: -EINVAL");
    is_int(0, evprof_trace_reader_set_flags(r, 0), "0 is fine");
    evprof_trace_reader_close(r);

    is_int(0, differ(ev, N, 0, 4096), "without the flag, events as written");
    memcpy(want, ev, N * sizeof(*ev));
    brute_force(want, N);
    for (i = 0; i < N; i++) {
        if (is_free(ev[i].event) && ev[i].value2 == 0) {
            if (want[i].value2 != 0)
                filled++;
            else
                zero++;
        }
    }
    ok(filled > 5000 && zero > 500, "the history has %zu frees to fill "
       "and %zu of blocks not allocated in it", filled, zero);
    is_int(0, differ(want, N, EVPROF_READ_FREED_SIZES, 4096),
           "with EVPROF_READ_FREED_SIZES: the brute-force pairing");
    is_int(0, differ(want, N, EVPROF_READ_FREED_SIZES, 1),
           "read one event a call: the same");
    is_int(0, differ(want, N, EVPROF_READ_FREED_SIZES, 70000),
           "70000 events a call: the same");

    /* Many blocks live at once (the table grows), then all freed (it
     * shrinks), twice. */
    for (i = 0; i < N; i++) {
        size_t k = i % (N / 2);

        memset(&ev[i], 0, sizeof(ev[i]));
        ev[i].time = (int64_t)i;
        ev[i].event = k < N / 4 ? EVPROF_MALLOC : EVPROF_FREE;
        ev[i].value1 = (int64_t)(k < N / 4 ? k : N / 2 - 1 - k) * 64;
        ev[i].value2 = k < N / 4 ? (int64_t)k + 1 : 0;
    }
    write_trace(ev, N);
    memcpy(want, ev, N * sizeof(*ev));
    brute_force(want, N);
    ok(want[N / 4].value2 == -(N / 4) && want[N - 1].value2 == -1,
       "%d blocks live, freed in reverse order", N / 4);
    is_int(0, differ(want, N, EVPROF_READ_FREED_SIZES, 8192),
           "their sizes filled");

    /* A file of version 1.0 with frees: the same. */
    {
        const char *srcdir = getenv("srcdir");
        char name[512];
        evprof_event in[128];
        int64_t n;

        snprintf(name, sizeof(name), "%s/t/data/trace-v1.0.evt",
                 srcdir != NULL ? srcdir : ".");
        if (evprof_trace_reader_open(name, &r) != 0
            || evprof_trace_reader_set_flags(r, EVPROF_READ_FREED_SIZES))
            bail("open %s", name);
        n = evprof_trace_read_events(r, in, NULL, 128);
        evprof_trace_reader_close(r);
        if (n > 0) {
            memcpy(want, in, (size_t)n * sizeof(*in));
            if (evprof_trace_reader_open(name, &r) != 0)
                bail("open %s", name);
            n = evprof_trace_read_events(r, want, NULL, 128);
            evprof_trace_reader_close(r);
            brute_force(want, (size_t)n);
        }
        ok(n == 100 && memcmp(want, in, 100 * sizeof(*in)) == 0,
           "a file of version 1.0: the same pairing");
    }
    free(ev);
    free(want);
    unlink(path);
    return 0;
}
