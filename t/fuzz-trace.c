/*
 * fuzz-trace.c: the trace reader against hostile files.
 *
 * LLVMFuzzerTestOneInput() reads one input as a trace file, events and
 * every table, and checks that the reader either accepts it (with counts
 * that agree) or refuses it with a message; never a crash, a leak or an
 * out-of-bounds access.  Built two ways:
 *
 *   make check       t/fuzz-trace: a TAP test that feeds it a valid trace
 *                    and thousands of seeded mutations of it (bytes
 *                    changed, checksums made right again or not,
 *                    truncations), also under `make check-sanitize` and
 *                    `make check-valgrind`;
 *   make fuzz-trace  t/fuzz-trace-libfuzzer, linked with clang's libFuzzer
 *                    (-fsanitize=fuzzer,address,undefined), run for
 *                    FUZZ_TIME seconds from the seeds in t/fuzz-corpus/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <evprof.h>

#ifndef EVPROF_LIBFUZZER
# include "tap.h"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void make_path(void)
{
    int fd;

    if (path[0] != '\0')
        return;
    snprintf(path, sizeof(path), "/tmp/evprof-fuzz-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        abort();
    }
    close(fd);
}

static void spit(const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL || (n > 0 && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

/* Events the last read_everything() was given. */
static uint64_t events_read;

/* Reads everything in the file at `path`: 0 when valid, else < 0. */
static int read_everything(char *msg, size_t len)
{
    evprof_trace_reader *r = NULL;
    evprof_event ev[13];
    uint32_t thr[13];
    uint64_t events = 0;
    uint32_t max_thread = UINT32_MAX;
    int64_t n;
    size_t i;
    int rc;

    rc = evprof_trace_reader_open(path, &r);
    while (rc == 0 && (n = evprof_trace_read_events(r, ev, thr, 13)) != 0) {
        if (n < 0) {
            rc = (int)n;
            break;
        }
        if (n > 13)
            abort(); /* more than asked for */
        for (i = 0; i < (size_t)n; i++)
            if (thr[i] != UINT32_MAX && (max_thread == UINT32_MAX ||
                                         thr[i] > max_thread))
                max_thread = thr[i];
        events += (uint64_t)n;
    }
    events_read = events;
    if (rc == 0 || rc == -ENODATA) {
        evprof_thread_info ti;
        evprof_trace_name nm;
        evprof_trace_line ln;

        if (evprof_trace_reader_events(r) != events)
            abort();
        /* The THREADS section may follow the events: checked at the end
         * (a file cut off may never have had it). */
        if (rc == 0 && max_thread != UINT32_MAX &&
            max_thread >= evprof_trace_reader_thread_count(r))
            abort(); /* a thread the file does not list */
        for (i = 0; i < evprof_trace_reader_thread_count(r); i++)
            if (evprof_trace_reader_thread(r, i, &ti) != 0)
                abort();
        for (i = 0; i < evprof_trace_reader_name_count(r); i++) {
            if (evprof_trace_reader_name(r, i, &nm) != 0)
                abort();
            if (strlen(nm.name) + strlen(nm.module) + strlen(nm.file) >
                (size_t)1 << 30)
                abort();
            if (evprof_trace_reader_find_name(r, nm.key, &nm) != 0)
                abort();
        }
        for (i = 0; i < evprof_trace_reader_line_count(r); i++) {
            if (evprof_trace_reader_line(r, i, &ln) != 0)
                abort();
            (void)evprof_trace_reader_find_line(r, ln.key, ln.offset);
        }
        (void)evprof_trace_reader_meta(r, "clock");
        (void)evprof_trace_reader_lost(r);
    }
    if (msg != NULL)
        snprintf(msg, len, "%s", r != NULL ? evprof_trace_reader_error(r)
                                           : "");
    evprof_trace_reader_close(r);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[256];

    make_path();
    spit(data, size);
    if (read_everything(msg, sizeof(msg)) < 0 && msg[0] == '\0')
        abort(); /* refused without saying why */
    return 0;
}

#ifndef EVPROF_LIBFUZZER

/* ---- the TAP test: seeded mutations of a valid trace ------------------ */

static uint64_t seed = 0x9E3779B97F4A7C15u;

static uint32_t next_random(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return (uint32_t)(seed >> 16);
}

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    size_t i;
    int k;

    for (i = 0; i < n; i++) {
        c ^= p[i];
        for (k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* A valid trace: events from two threads, names, lines, meta. */
static uint8_t *make_trace(size_t *len)
{
    static const evprof_trace_name names[] = {
        {0x10, EVPROF_NAME_CODE, 3, "outer", "m.py", "m.py"},
        {0x20, EVPROF_NAME_BUILTIN, 0, "len", "builtins", ""},
        {0x30, EVPROF_NAME_NATIVE, 9, "fib", "/bin/x", "x.c"},
    };
    static const evprof_trace_line lines[] = {{0x10, 4, 5}, {0x30, 8, 11}};
    evprof_trace_writer *w;
    evprof_buffer *b = evprof_buffer_new(3, EVPROF_GROW);
    uint8_t *data;
    FILE *f;
    long n;
    int i;

    if (b == NULL)
        bail("evprof_buffer_new failed");
    for (i = 0; i < 10; i++) {
        if (evprof_log(b, 0x10, 0, EVPROF_CALL, i, 0) < 0 ||
            evprof_log(b, 0x20, 0x10, EVPROF_C_CALL, 4, 0) < 0 ||
            evprof_log(b, 0x10, 0, EVPROF_MALLOC, 0x1000 + i, 32) < 0 ||
            evprof_log(b, 0x20, 0x10, EVPROF_C_RETURN, 4, 0) < 0 ||
            evprof_log(b, 0x10, 0, EVPROF_RETURN, i, 0) < 0)
            bail("evprof_log failed");
    }
    make_path();
    if (evprof_trace_writer_open(path, &w) != 0)
        bail("cannot write %s", path);
    if (evprof_trace_write_meta(w, "source", "t/fuzz-trace") != 0 ||
        evprof_trace_write_buffer(w, b) != 50 ||
        evprof_trace_write_names(w, names, 3) != 0 ||
        evprof_trace_write_lines(w, lines, 2) != 0 ||
        evprof_trace_writer_close(w) != 0)
        bail("cannot write the trace");
    evprof_buffer_free(b);
    f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0)
        bail("cannot read %s back", path);
    rewind(f);
    data = malloc((size_t)n);
    if (data == NULL || fread(data, 1, (size_t)n, f) != (size_t)n)
        bail("cannot read %s back", path);
    fclose(f);
    *len = (size_t)n;
    return data;
}

/* Offsets of the section headers of a valid trace. */
static size_t sections(const uint8_t *p, size_t len, size_t *at, size_t max)
{
    size_t pos = 64, k = 0;

    while (pos + 24 <= len && k < max) {
        at[k++] = pos;
        pos += 24 + (size_t)get_u64(p + pos + 8);
    }
    return k;
}

/* The trace of version 1.0 kept in t/data (48-byte EVENTS sections),
 * which readers read forever. */
static uint8_t *old_trace(size_t *len)
{
    const char *srcdir = getenv("srcdir");
    char name[512];
    uint8_t *data;
    FILE *f;
    long n;

    snprintf(name, sizeof(name), "%s/t/data/trace-v1.0.evt",
             srcdir != NULL ? srcdir : ".");
    f = fopen(name, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0)
        bail("cannot read %s", name);
    rewind(f);
    data = malloc((size_t)n);
    if (data == NULL || fread(data, 1, (size_t)n, f) != (size_t)n)
        bail("cannot read %s", name);
    fclose(f);
    *len = (size_t)n;
    return data;
}

static void fuzz(uint8_t *good, size_t len, const char *what)
{
    enum { MUTATIONS = 4000 };
    size_t nsec, at[64], i;
    uint8_t *bad = malloc(len);
    char msg[256];
    int refused = 0, accepted = 0, silent = 0, plain_refused = 0;
    int m;

    if (bad == NULL)
        bail("out of memory");
    diag("%s", what);
    spit(good, len);
    is_int(0, read_everything(msg, sizeof(msg)), "the valid trace reads");
    nsec = sections(good, len, at, 64);

    /* Bytes changed, the section checksums made right again: the
     * parsers behind the checksums see lying counts and lengths. */
    for (m = 0; m < MUTATIONS; m++) {
        size_t s = at[next_random() % nsec];
        size_t plen = (size_t)get_u64(good + s + 8);
        int k, changes = 1 + (int)(next_random() % 4);

        memcpy(bad, good, len);
        for (k = 0; k < changes && plen > 0; k++) {
            size_t off = next_random() % 3 == 0 ? next_random() % plen
                                                : next_random() % (plen < 40
                                                                   ? plen : 40);
            bad[s + 24 + off] = (uint8_t)next_random();
        }
        put_u32(bad + s + 16, crc32_of(bad + s + 24, plen));
        put_u32(bad + s + 20, crc32_of(bad + s, 20));
        LLVMFuzzerTestOneInput(bad, len);
        spit(bad, len);
        if (read_everything(msg, sizeof(msg)) == 0)
            accepted++;
        else if (msg[0] != '\0')
            refused++;
        else
            silent++;
    }
    ok(accepted > 0 && refused > 0 && silent == 0,
       "%d mutations behind valid checksums: %d read, %d refused with a "
       "message, %d refused silently", MUTATIONS, accepted, refused, silent);

    /* Bytes changed, checksums left alone: every one is refused, and not
     * taken for a file cut off. */
    for (m = 0; m < MUTATIONS; m++) {
        int rc;

        memcpy(bad, good, len);
        i = next_random() % len;
        bad[i] ^= (uint8_t)(1u + next_random() % 255);
        spit(bad, len);
        rc = read_everything(msg, sizeof(msg));
        if (rc < 0 && rc != -ENODATA && msg[0] != '\0')
            plain_refused++;
    }
    is_int(MUTATIONS, plain_refused, "every changed byte is refused");

    /* Every truncation gives the events of the complete sections before
     * the cut, then -ENODATA (short of the magic number: -EBADMSG). */
    plain_refused = 0;
    for (i = 0; i < len; i++) {
        uint64_t want = 0;
        size_t k;
        int rc;

        for (k = 0; k < nsec; k++)
            if ((good[at[k]] == 3 || good[at[k]] == 6)
                && at[k] + 24 + (size_t)get_u64(good + at[k] + 8) <= i)
                want += good[at[k] + 24] | (uint64_t)good[at[k] + 25] << 8;
        spit(good, i);
        rc = read_everything(msg, sizeof(msg));
        if (rc == (i < 8 ? -EBADMSG : -ENODATA) && msg[0] != '\0'
            && events_read == want)
            plain_refused++;
    }
    is_int((int64_t)len, plain_refused, "every truncation: the events "
           "before the cut, then -ENODATA");

    /* Random garbage after a valid header. */
    plain_refused = 0;
    for (m = 0; m < 500; m++) {
        size_t n = 64 + next_random() % 300;

        memcpy(bad, good, 64);
        for (i = 64; i < n && i < len; i++)
            bad[i] = (uint8_t)next_random();
        LLVMFuzzerTestOneInput(bad, n < len ? n : len);
        spit(bad, n < len ? n : len);
        if (read_everything(msg, sizeof(msg)) < 0)
            plain_refused++;
    }
    is_int(500, plain_refused, "garbage after the header is refused");
    free(good);
    free(bad);
}

int main(void)
{
    size_t len;
    uint8_t *good = make_trace(&len);

    plan(10);
    if (getenv("EVPROF_FUZZ_SEED") != NULL) {
        /* `make fuzz-trace`: the valid trace seeds libFuzzer's corpus. */
        FILE *f = fopen(getenv("EVPROF_FUZZ_SEED"), "wb");

        if (f == NULL || fwrite(good, 1, len, f) != len || fclose(f) != 0)
            bail("cannot write %s", getenv("EVPROF_FUZZ_SEED"));
    }
    fuzz(good, len, "a trace of this version (EVENTS_PACKED)");
    good = old_trace(&len);
    fuzz(good, len, "a trace of version 1.0 (EVENTS), t/data/trace-v1.0.evt");
    unlink(path);
    return 0;
}
#endif /* !EVPROF_LIBFUZZER */
