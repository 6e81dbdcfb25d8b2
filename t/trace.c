/* The trace file: write, read back, and refuse every damaged copy. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <evprof.h>

#include "tap.h"
#include "trace-craft.h"

static char dir[] = "/tmp/evprof-trace-XXXXXX";
static char good[256], bad[256];

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *p;
    long len;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0)
        bail("cannot read %s", path);
    rewind(f);
    p = malloc((size_t)len + 1);
    if (p == NULL || fread(p, 1, (size_t)len, f) != (size_t)len)
        bail("cannot read %s", path);
    fclose(f);
    *n = (size_t)len;
    return p;
}

static void spit(const char *path, const unsigned char *p, size_t n)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
        bail("cannot write %s", path);
}

/* Reads a whole file; 0 or the first negative code.  *msg: the error. */
static int read_all(const char *path, uint64_t *nev, char *msg, size_t len)
{
    evprof_trace_reader *r;
    evprof_event ev[7];
    uint32_t thr[7];
    int64_t n;
    int rc;

    *nev = 0;
    rc = evprof_trace_reader_open(path, &r);
    while (rc == 0 && (n = evprof_trace_read_events(r, ev, thr, 7)) != 0) {
        if (n < 0)
            rc = (int)n;
        else
            *nev += (uint64_t)n;
    }
    if (msg != NULL)
        snprintf(msg, len, "%s", evprof_trace_reader_error(r));
    evprof_trace_reader_close(r);
    return rc;
}

/* Events in the EVENTS sections that end at or before `cut`. */
static uint64_t events_before(const unsigned char *p, size_t len, size_t cut)
{
    size_t pos = 64;
    uint64_t n = 0, plen;

    while (pos + 24 <= len) {
        plen = (uint64_t)p[pos + 8] | (uint64_t)p[pos + 9] << 8
            | (uint64_t)p[pos + 10] << 16 | (uint64_t)p[pos + 11] << 24;
        if (pos + 24 + plen > cut)
            break;
        if (p[pos] == 3 || p[pos] == 6)
            n += (uint64_t)p[pos + 24] | (uint64_t)p[pos + 25] << 8;
        pos += 24 + (size_t)plen;
    }
    return n;
}

/* Cut inside the second EVENTS section: the first one's events, the names
 * read before the cut, and a message saying where and how many. */
static void truncated_tables(const unsigned char *img, size_t len)
{
    evprof_trace_reader *r;
    evprof_event ev[16];
    evprof_trace_name nm;
    size_t pos = 64, cut = 0;
    int sec = 0, rc;
    int64_t n;
    char want[96];

    while (pos + 24 <= len) {
        if ((img[pos] == 3 || img[pos] == 6) && ++sec == 2) {
            cut = pos + 24 + 30;
            break;
        }
        pos += 24 + (size_t)(img[pos + 8] | img[pos + 9] << 8);
    }
    spit(bad, img, cut);
    rc = evprof_trace_reader_open(bad, &r);
    n = rc == 0 ? evprof_trace_read_events(r, ev, NULL, 16) : rc;
    is_int(6, n, "cut in the second EVENTS section: the 6 events before");
    is_int(-ENODATA, evprof_trace_read_events(r, ev, NULL, 16),
           "then -ENODATA");
    is_int(-ENODATA, evprof_trace_read_events(r, ev, NULL, 16), "and again");
    snprintf(want, sizeof(want), "truncated at offset %zu: no END section; "
             "6 events in complete sections read", pos);
    ok(strncmp(evprof_trace_reader_error(r), want, strlen(want)) == 0,
       "message: %s", evprof_trace_reader_error(r));
    ok(evprof_trace_reader_find_name(r, 100, &nm) == 0
       && strcmp(nm.name, "f") == 0, "names of the complete sections kept");
    is_string("t/trace", evprof_trace_reader_meta(r, "who"), "and meta");
    evprof_trace_reader_close(r);
    rc = evprof_trace_reader_open(bad, &r);
    is_int(-ENODATA, rc == 0 ? evprof_trace_reader_finish(r) : rc,
           "finish: -ENODATA");
    is_int(2, evprof_trace_reader_name_count(r), "names read all the same");
    evprof_trace_reader_close(r);
}

static void *logger(void *arg)
{
    evprof_buffer *b = arg;
    int i;

    for (i = 0; i < 500; i++)
        evprof_log(b, i, 2, EVPROF_CALL, 3, 4);
    return NULL;
}


/* ---- crafted files: valid checksums, wrong content ---- */

/* Reads the crafted file: the code, and whether the message has `want`. */
static void craft_check(int code, const char *want, const char *what)
{
    char msg[256];
    uint64_t nev;
    int rc;

    spit(bad, craft, craft_len);
    rc = read_all(bad, &nev, msg, sizeof(msg));
    if (!ok(rc == code && (want == NULL || strstr(msg, want) != NULL),
            "%s: %d, %s", what, rc, msg[0] ? msg : "(no message)"))
        diag("wanted %d and \"%s\"", code, want ? want : "");
}

/* META: within a section and across sections the last value of a key
 * wins; a string is cut at a NUL it holds (the API gives C strings). */
static void crafted_meta(void)
{
    static const unsigned char one[] = {
        3, 0, 0, 0, 0, 0, 0, 0,
        1, 0, 0, 0, 1, 0, 0, 0, 'k', 'a',
        2, 0, 0, 0, 3, 0, 0, 0, 'k', 0, 'y', 0, 'z',
        1, 0, 0, 0, 0, 0, 0, 0, 'e'
    };
    static const unsigned char two[] = {
        1, 0, 0, 0, 0, 0, 0, 0,
        1, 0, 0, 0, 1, 0, 0, 0, 'e', 'b'
    };
    evprof_trace_reader *r;

    craft_start(0);
    craft_section(1, 0, one, sizeof(one), sizeof(one));
    craft_section(1, 0, two, sizeof(two), sizeof(two));
    craft_end(0, 2);
    spit(bad, craft, craft_len);
    if (evprof_trace_reader_open(bad, &r) == 0
        && evprof_trace_reader_finish(r) == 0) {
        is_string("y", evprof_trace_reader_meta(r, "k"),
                  "META: the last pair of a key wins, cut at its NUL");
        is_string("b", evprof_trace_reader_meta(r, "e"),
                  "META: a later section's value wins");
        {
            const char *k[4] = {0}, *v[4] = {0};
            size_t i;
            int okp = evprof_trace_reader_meta_count(r) == 4;

            for (i = 0; okp && i < 4; i++)
                okp = evprof_trace_reader_meta_pair(r, i, &k[i], &v[i]) == 0;
            ok(okp && strcmp(k[0], "k") == 0 && strcmp(v[0], "a") == 0
               && strcmp(k[1], "k") == 0 && strcmp(v[1], "y") == 0
               && strcmp(k[2], "e") == 0 && strcmp(v[2], "") == 0
               && strcmp(k[3], "e") == 0 && strcmp(v[3], "b") == 0,
               "META pairs listed in file order");
            is_int(-ERANGE, evprof_trace_reader_meta_pair(r, 4, &k[0],
                                                          &v[0]),
                   "META pair 4 of 4: -ERANGE");
            is_int(-EINVAL, evprof_trace_reader_meta_pair(r, 0, NULL,
                                                          &v[0]),
                   "META pair into NULL: -EINVAL");
        }
    } else {
        ok(0, "META crafted: %s", evprof_trace_reader_error(r));
        skip("unreadable");
        skip("unreadable");
        skip("unreadable");
    }
    evprof_trace_reader_close(r);
}

/* Names are bytes: a Latin-1 file name, not UTF-8, comes back as it went. */
static void raw_names(void)
{
    evprof_trace_name nm = { 7, EVPROF_NAME_NATIVE, 3, "f\xe9", "lib\xff.so",
                             "/tmp/caf\xe9.c" }, got;
    evprof_trace_writer *w;
    evprof_trace_reader *r;

    if (evprof_trace_writer_open(bad, &w) != 0)
        bail("cannot write %s", bad);
    (void)evprof_trace_write_names(w, &nm, 1);
    if (evprof_trace_writer_close(w) != 0)
        bail("cannot write %s", bad);
    if (evprof_trace_reader_open(bad, &r) == 0
        && evprof_trace_reader_finish(r) == 0
        && evprof_trace_reader_find_name(r, 7, &got) == 0)
        ok(strcmp(got.name, nm.name) == 0 && strcmp(got.module, nm.module) == 0
           && strcmp(got.file, nm.file) == 0,
           "names that are not UTF-8 are read back byte for byte");
    else
        ok(0, "non-UTF-8 names: %s", evprof_trace_reader_error(r));
    evprof_trace_reader_close(r);
}

static void crafted(void)
{
    unsigned char p[256];

    crafted_meta();
    raw_names();
    memset(p, 0, sizeof(p));
    memset(p, 0, sizeof(p));
    craft_start(0);
    craft_end(0, 0);
    craft_check(0, NULL, "the smallest file: header and END");

    memset(p, 0, sizeof(p));
    craft_start(0);
    le(p, 2, 4); /* 2 events, 1 present */
    craft_section(3, 1, p, 8 + 48, 8 + 48);
    craft_end(2, 1);
    craft_check(-EBADMSG, "does not match", "EVENTS count and length differ");

    memset(p, 0, sizeof(p));
    craft_start(0);
    le(p, 1, 4);
    le(p + 4, 4, 4); /* unknown flag */
    craft_section(3, 1, p, 8 + 48, 8 + 48);
    craft_end(1, 1);
    craft_check(-EPROTO, "unknown flags", "EVENTS with unknown flags");

    memset(p, 0, sizeof(p));
    craft_start(0);
    le(p, 1, 4);
    le(p + 4, 1, 4); /* with thread indices: thread 3, none listed */
    le(p + 8 + 48, 3, 4);
    craft_section(3, 1, p, 8 + 52, 8 + 52);
    craft_end(1, 1);
    craft_check(-EBADMSG, "thread 3", "an event of an unlisted thread");

    memset(p, 0, sizeof(p));
    craft_start(0);
    le(p, 1, 4);
    le(p + 8 + 16, 1000, 4); /* name length past the end */
    craft_section(4, 0, p, 8 + 32 + 4, 8 + 32 + 4);
    craft_end(0, 1);
    craft_check(-EBADMSG, "past its end", "NAMES string past the end");

    memset(p, 0, sizeof(p));
    craft_start(0);
    le(p, 1, 4);
    le(p + 8, 0xFFFFFFFF, 4); /* key length */
    craft_section(1, 0, p, 16, 16);
    craft_end(0, 1);
    craft_check(-EBADMSG, "past its end", "META string past the end");

    memset(p, 0, sizeof(p));
    craft_start(0);
    le(p, 3, 4); /* 3 lines, room for 1 */
    craft_section(5, 0, p, 8 + 24, 8 + 24);
    craft_end(0, 1);
    craft_check(-EBADMSG, "does not match", "LINES count and length differ");

    memset(p, 0, sizeof(p));
    craft_start(0);
    craft_section(77, 1, p, 8, 8);
    craft_end(0, 1);
    craft_check(-EPROTO, "unknown required section type 77",
                "an unknown required section");

    memset(p, 0, sizeof(p));
    craft_start(0);
    craft_section(78, 0, p, 8, 8);
    craft_end(0, 1);
    craft_check(0, NULL, "an unknown optional section is skipped");

    memset(p, 0, sizeof(p));
    craft_start(0);
    craft_section(1, 0, p, 0, (uint64_t)1 << 40);
    craft_end(0, 1);
    craft_check(-EBADMSG, "too long", "a section claiming 1 TiB");

    memset(p, 0, sizeof(p));
    craft_start(0);
    craft_end(5, 0);
    craft_check(-EBADMSG, "END section says 5 events", "END counts wrong");

    memset(p, 0, sizeof(p));
    craft_start(0);
    le(p, 1, 4);
    craft_section(3, 1, p, 8 + 48, 8 + 48);
    craft_check(-ENODATA, "no END section", "no END section: -ENODATA");

    memset(p, 0, sizeof(p));
    craft_start(0);
    le(craft + 12, 32, 4); /* header size below 64 */
    le(craft + 60, evprof__crc32(0, craft, 60), 4);
    craft_end(0, 0);
    craft_check(-EBADMSG, "header size", "a header size of 32");

    /* A later minor version may lengthen the header: any length, the rest
     * skipped (its bytes are not under the header's checksum). */
    craft_start(0);
    le(craft + 10, 7, 2);
    le(craft + 12, 64 + 8192, 4);
    le(craft + 60, evprof__crc32(0, craft, 60), 4);
    memset(craft + 64, 0xAB, 8192);
    craft_len += 8192;
    craft_end(0, 0);
    craft_check(0, NULL, "version 1.7, a header of 8256 bytes: read");
    craft_len -= 24 + 24 + 100;
    craft_check(-ENODATA, "truncated header", "a long header cut short");

    memset(p, 0, sizeof(p));
    craft_start(0);
    le(craft + 20, 7, 4); /* 7 columns */
    le(craft + 60, evprof__crc32(0, craft, 60), 4);
    craft_end(0, 0);
    craft_check(-EPROTO, "7 columns", "7 columns");
}

int main(void)
{
    evprof_trace_writer *w;
    evprof_trace_reader *r;
    evprof_event ev[10], in[16];
    uint32_t thr[10] = { 0, 1, 0, 1, 0, 1, 0, 1, 0, 1 }, tin[16];
    evprof_thread_info ti[2] = { { 11, 12 }, { 21, 22 } }, t;
    evprof_trace_name names[2] = {
        { 100, EVPROF_NAME_CODE, 7, "f", "mod", "mod.py" },
        { 200, EVPROF_NAME_NATIVE, 0, "g", NULL, NULL } }, nm;
    evprof_trace_line lines[2] = { { 100, 4, 8 }, { 100, 10, 9 } };
    const evprof_trace_info *info;
    unsigned char *img, *copy;
    size_t len, i, undetected, wrong;
    uint64_t nev;
    char msg[256];
    int64_t n;
    int rc, same;
    pthread_t th[3];
    evprof_buffer *b;

    plan(93);
    if (mkdtemp(dir) == NULL)
        bail("mkdtemp");
    snprintf(good, sizeof(good), "%s/good.evt", dir);
    snprintf(bad, sizeof(bad), "%s/bad.evt", dir);

    /* The checksum is zlib's CRC-32 (Python: zlib.crc32). */
    {
        static const char big[] = "The quick brown fox jumps over the lazy dog";

        is_int(0xCBF43926, evprof__crc32(0, "123456789", 9),
               "crc32(\"123456789\")");
        is_int(0x414FA339, evprof__crc32(0, big, sizeof(big) - 1),
               "crc32 of 43 bytes (the 8-byte steps)");
    }

    /* Argument errors. */
    is_int(-EINVAL, evprof_trace_writer_open(NULL, &w), "open NULL path");
    is_int(-EINVAL, evprof_trace_writer_open("", &w), "open empty path");
    is_int(-ENOENT, evprof_trace_writer_open("/nonexistent/dir/x.evt", &w),
           "open in a missing directory: -ENOENT");
    ok(w == NULL, "no writer on failure");
    is_int(-EINVAL, evprof_trace_writer_close(NULL), "close NULL");
    is_int(-EINVAL, evprof_trace_write_events(NULL, ev, NULL, 1),
           "events into NULL");
    is_int(-ENOENT, evprof_trace_reader_open("/nonexistent.evt", &r),
           "read a missing file: -ENOENT");
    ok(strstr(evprof_trace_reader_error(r), "/nonexistent.evt") != NULL,
       "the message names the file: %s", evprof_trace_reader_error(r));
    evprof_trace_reader_close(r);
    evprof_trace_reader_close(NULL);

    /* A full disk: the error comes out of close. */
    if (access("/dev/full", W_OK) == 0) {
        rc = evprof_trace_writer_open("/dev/full", &w);
        if (rc == 0) {
            evprof_trace_write_events(w, ev, NULL, 0);
            rc = evprof_trace_writer_close(w);
        }
        is_int(-ENOSPC, rc, "writing to /dev/full: -ENOSPC at close");
    } else {
        skip("no /dev/full");
    }

    /* Round trip. */
    for (i = 0; i < 10; i++) {
        ev[i].id_frame = (int64_t)i * 3 - 5;
        ev[i].id_arg = INT64_MIN + (int64_t)i;
        ev[i].event = i % 2 ? EVPROF_RETURN : EVPROF_CALL;
        ev[i].time = 1000 + (int64_t)i;
        ev[i].value1 = -(int64_t)i;
        ev[i].value2 = INT64_MAX - (int64_t)i;
    }
    rc = evprof_trace_writer_open(good, &w);
    is_int(0, rc, "writer open");
    if (rc != 0)
        bail("cannot write %s", good);
    is_int(0, evprof_trace_write_meta(w, "who", "t/trace"), "meta");
    is_int(0, evprof_trace_write_events(w, ev, thr, 6), "6 events");
    is_int(0, evprof_trace_write_names(w, names, 2), "names");
    is_int(0, evprof_trace_write_events(w, ev + 6, thr + 6, 4), "4 more");
    is_int(0, evprof_trace_write_threads(w, ti, 2), "threads");
    is_int(0, evprof_trace_write_lines(w, lines, 2), "lines");
    is_int(0, evprof_trace_writer_add_lost(w, 3), "lost");
    is_int(-EINVAL, evprof_trace_write_meta(w, NULL, "x"), "meta NULL key");
    is_int(-EINVAL, evprof_trace_writer_close(w),
           "the first error sticks to close");
    /* Again, without the error. */
    rc = evprof_trace_writer_open(good, &w);
    if (rc != 0)
        bail("cannot write %s", good);
    evprof_trace_write_meta(w, "who", "t/trace");
    evprof_trace_write_events(w, ev, thr, 6);
    evprof_trace_write_names(w, names, 2);
    evprof_trace_write_events(w, ev + 6, thr + 6, 4);
    evprof_trace_write_threads(w, ti, 2);
    evprof_trace_write_lines(w, lines, 2);
    evprof_trace_writer_add_lost(w, 3);
    is_int(0, evprof_trace_writer_close(w), "written and closed");

    rc = evprof_trace_reader_open(good, &r);
    is_int(0, rc, "reader open");
    if (rc != 0)
        bail("%s", evprof_trace_reader_error(r));
    info = evprof_trace_reader_info(r);
    ok(info != NULL && info->version_major == 1 && info->n_columns == 6
       && info->pid == getpid() && info->clock == evprof_clock_init(),
       "header: version 1, 6 columns, our pid, our clock");
    n = evprof_trace_read_events(r, in, tin, 16);
    is_int(10, n, "10 events read across two sections");
    same = n == 10;
    for (i = 0; same && i < 10; i++)
        same = memcmp(&in[i], &ev[i], sizeof(ev[i])) == 0 && tin[i] == thr[i];
    ok(same, "events and threads identical");
    is_int(0, evprof_trace_read_events(r, in, tin, 16), "then 0: the end");
    is_int(0, evprof_trace_read_events(r, in, tin, 16), "and 0 again");
    is_string("t/trace", evprof_trace_reader_meta(r, "who"), "meta read");
    is_string("id_frame,id_arg,event,time,value1,value2",
              evprof_trace_reader_meta(r, "columns"), "columns named");
    is_string(evprof_clock_name(), evprof_trace_reader_meta(r, "clock"),
              "clock named");
    ok(evprof_trace_reader_meta(r, "nope") == NULL, "missing meta: NULL");
    is_int(2, evprof_trace_reader_thread_count(r), "2 threads");
    ok(evprof_trace_reader_thread(r, 1, &t) == 0 && t.ident == 21
       && t.native_id == 22, "thread 1 read");
    is_int(-ERANGE, evprof_trace_reader_thread(r, 2, &t), "thread 2: ERANGE");
    is_int(getpid(), evprof_trace_reader_thread_pid(r, 1),
           "thread 1: the writer's pid");
    is_int(-ERANGE, evprof_trace_reader_thread_pid(r, 2),
           "pid of thread 2: ERANGE");
    is_int(-EINVAL, evprof_trace_reader_thread_pid(NULL, 0),
           "pid from NULL: EINVAL");
    is_int(2, evprof_trace_reader_name_count(r), "2 names");
    ok(evprof_trace_reader_find_name(r, 100, &nm) == 0
       && strcmp(nm.name, "f") == 0 && strcmp(nm.module, "mod") == 0
       && strcmp(nm.file, "mod.py") == 0 && nm.first_line == 7
       && nm.kind == EVPROF_NAME_CODE, "name 100 read");
    ok(evprof_trace_reader_find_name(r, 200, &nm) == 0
       && strcmp(nm.name, "g") == 0 && nm.module[0] == '\0',
       "name 200 read, NULL written as empty");
    is_int(-ENOENT, evprof_trace_reader_find_name(r, 300, &nm),
           "unknown key: -ENOENT");
    is_int(9, evprof_trace_reader_find_line(r, 100, 10), "line (100, 10)");
    is_int(-ENOENT, evprof_trace_reader_find_line(r, 100, 11),
           "no line (100, 11)");
    is_int(3, (int64_t)evprof_trace_reader_lost(r), "lost count kept");
    evprof_trace_reader_close(r);

    /* Every truncation: the events of the complete sections before the
     * cut, then -ENODATA (-EBADMSG while not even the magic number is
     * there: nothing says it was a trace); every corrupted byte: a clean
     * negative error. */
    img = slurp(good, &len);
    copy = malloc(len);
    if (copy == NULL)
        bail("malloc");
    diag("the file is %zu bytes", len);
    undetected = wrong = 0;
    for (i = 0; i < len; i++) {
        uint64_t want = events_before(img, len, i);
        int want_rc = i < 8 ? -EBADMSG : -ENODATA;

        spit(bad, img, i);
        rc = read_all(bad, &nev, msg, sizeof(msg));
        if (rc != want_rc || nev != want) {
            if (undetected++ == 0)
                diag("truncated to %zu: %d %s, %" PRIu64 " events (wanted %"
                     PRIu64 ")", i, rc, msg, nev, want);
        } else if (i == len / 2 && !ok(strstr(msg, "truncated at offset")
                                       != NULL, "message: %s", msg)) {
            wrong++;
        }
    }
    is_int(0, undetected, "all %zu truncations: the events of the complete "
           "sections, then -ENODATA", len);
    truncated_tables(img, len);
    for (i = 0; i < len; i++) {
        memcpy(copy, img, len);
        copy[i] ^= 0x5A;
        spit(bad, copy, len);
        rc = read_all(bad, &nev, msg, sizeof(msg));
        if (rc >= 0 || msg[0] == '\0') {
            if (undetected++ == 0)
                diag("byte %zu flipped: %d %s", i, rc, msg);
        }
    }
    is_int(0, undetected, "all %zu corrupted bytes detected", len);
    for (i = 0; i < len; i++) {
        memcpy(copy, img, len);
        copy[i] = (unsigned char)(copy[i] + 1);
        spit(bad, copy, len);
        if (read_all(bad, &nev, NULL, 0) >= 0)
            undetected++;
    }
    is_int(0, undetected, "all %zu incremented bytes detected", len);
    /* Appended garbage. */
    memcpy(copy, img, len);
    spit(bad, img, len);
    {
        FILE *f = fopen(bad, "ab");

        fputs("x", f);
        fclose(f);
    }
    rc = read_all(bad, &nev, msg, sizeof(msg));
    is_int(-EBADMSG, rc, "data after END: -EBADMSG");
    ok(strstr(msg, "after the END") != NULL, "message: %s", msg);
    /* Foreign files. */
    spit(bad, (const unsigned char *)"hello, world\n", 13);
    rc = read_all(bad, &nev, msg, sizeof(msg));
    is_int(-EBADMSG, rc, "a text file: -EBADMSG");
    ok(strstr(msg, "not an evprof trace") != NULL, "message: %s", msg);
    spit(bad, img, 0);
    rc = read_all(bad, &nev, msg, sizeof(msg));
    ok(rc == -EBADMSG && strstr(msg, "empty") != NULL,
       "an empty file: -EBADMSG, %s", msg);
    /* Another version: the header checksum fixed up, so only the version
     * is wrong. */
    {
        uint32_t c;

        memcpy(copy, img, len);
        copy[8] = 2;
        c = evprof__crc32(0, copy, 60);
        copy[60] = (unsigned char)c;
        copy[61] = (unsigned char)(c >> 8);
        copy[62] = (unsigned char)(c >> 16);
        copy[63] = (unsigned char)(c >> 24);
        spit(bad, copy, len);
        rc = read_all(bad, &nev, msg, sizeof(msg));
        is_int(-EPROTO, rc, "version 2: -EPROTO");
        ok(strstr(msg, "version 2.1") != NULL, "message: %s", msg);
    }
    free(img);
    free(copy);
    (void)wrong;

    /* A buffer, written chunk by chunk. */
    b = evprof_buffer_new(64, EVPROF_GROW);
    if (b == NULL)
        bail("buffer");
    for (i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, logger, b);
    for (i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    rc = evprof_trace_writer_open(good, &w);
    if (rc != 0)
        bail("open");
    is_int(1500, evprof_trace_write_buffer(w, b), "1500 events from a buffer");
    is_int(0, evprof_buffer_count(b), "the buffer is empty");
    is_int(0, evprof_trace_writer_close(w), "closed");
    is_int(0, read_all(good, &nev, msg, sizeof(msg)), "read back: %s", msg);
    is_int(1500, (int64_t)nev, "1500 events read");
    rc = evprof_trace_reader_open(good, &r);
    is_int(0, evprof_trace_reader_finish(r), "finish");
    is_int(3, evprof_trace_reader_thread_count(r), "3 threads listed");
    evprof_trace_reader_close(r);
    evprof_buffer_free(b);

    crafted();

    unlink(good);
    unlink(bad);
    rmdir(dir);
    return 0;
}
