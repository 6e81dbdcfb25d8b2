/*
 * The sinks on a trace cut off: a trace laid out as a stream writes one
 * (t/cut-trace.c: META, THREADS and NAMES before the events that use
 * them, more names and events after) is cut at every section boundary
 * and inside each section (its header, its payload).  Without `partial` each run is
 * -ENODATA naming the offset; with it, EVPROF_SINK_TRUNCATED, the stats
 * saying where, and an output identical to that of the same sections
 * closed by an END section: Chrome JSON that parses, a Perfetto trace
 * that protoc decodes, every slice named, one a call of the complete
 * sections.  A last section failing its checksum (or zeros) is a cut; a
 * damaged section followed by more data, or a damaged END, stays an
 * error with partial too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <evprof.h>

#include "cut-trace.h"
#include "json-check.h"
#include "sink-fixture.h"
#include "tap.h"
#include "trace-craft.h"

#define TRACE "t/sinks-cut.evt"
#define CUT "t/sinks-cut-c.evt"
#define REF "t/sinks-cut-r.evt"
#define OUT "t/sinks-cut.out"
#define ROUT "t/sinks-cut-r.out"
#define MAXCUT 256

static const char *const sinks[] = { "summary", "summary-tsv", "chrome",
                                     "perfetto" };
#define NSINKS 4

static struct section sec[MAXSEC];
static int nsec;
static unsigned char *file;
static size_t file_len;

static void put(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
        bail("write %s", path);
}

/* ---- the runs ----------------------------------------------------------- */

static int run(const char *sink, const char *trace, const char *out,
               int partial, evprof_sink_stats *st, char *err, size_t errlen)
{
    evprof_sink_options opt;

    evprof_sink_options_init(&opt);
    opt.partial = partial;
    opt.limit = 0;
    memset(st, 0xff, sizeof(*st));
    opt.stats = st;
    return evprof_sink_run_path(trace, sink, out, &opt, err, errlen);
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;

    for (; (s = strstr(s, what)) != NULL; s += strlen(what))
        n++;
    return n;
}

/* The calls column (the fifth) of a summary-tsv output, summed. */
static int64_t tsv_calls(const char *s)
{
    int64_t total = 0;
    const char *line = strchr(s, '\n');

    while (line != NULL && line[1] != '\0') {
        const char *f = line + 1;
        int k;

        for (k = 0; k < 4 && f != NULL; k++)
            if ((f = strchr(f, '\t')) != NULL)
                f++;
        if (f != NULL)
            total += strtoll(f, NULL, 10);
        line = strchr(line + 1, '\n');
    }
    return total;
}

/* What the output of `sink` shows of its calls, and that it is whole and
 * named; 1 when it is, else 0 with a diagnostic. */
static int output_checks(const char *sink, const unsigned char *out,
                         size_t len, int64_t calls)
{
    const char *s = (const char *)out;
    size_t where = 0;
    int decoded = 0;

    if (strcmp(sink, "chrome") == 0) {
        if (!json_valid(s, len, &where)) {
            diag("chrome: not JSON at byte %zu of %zu", where, len);
            return 0;
        }
        if ((int64_t)count(s, "\"ph\":\"X\"") != calls
            || count(s, "\"name\":\"\"") != 0) {
            diag("chrome: %zu slices (%lld calls), %zu unnamed",
                 count(s, "\"ph\":\"X\""), (long long)calls,
                 count(s, "\"name\":\"\""));
            return 0;
        }
    } else if (strcmp(sink, "summary-tsv") == 0) {
        if (tsv_calls(s) != calls || strstr(s, "\n\t") != NULL) {
            diag("summary-tsv: %lld calls (%lld), or a row unnamed",
                 (long long)tsv_calls(s), (long long)calls);
            return 0;
        }
    } else if (strcmp(sink, "perfetto") == 0) {
        char *dec = fixture_replay(OUT, &decoded);
        size_t b;

        if (dec == NULL)
            return 1; /* no protoc: the bytes were compared */
        b = count(dec, " B ") + count(dec, " B\n");
        if ((int64_t)b != calls || count(dec, " B\n") != 0) {
            diag("perfetto: %zu slices (%lld calls), %zu unnamed", b,
                 (long long)calls, count(dec, " B\n"));
            free(dec);
            return 0;
        }
        free(dec);
    } else if (calls > 0 && strstr(s, "fib (cut.py:3)") == NULL) {
        diag("summary: fib not named");
        return 0;
    }
    return 1;
}

/* The trace cut after `len` bytes, each sink with and without partial. */
static void cut_at(size_t len)
{
    uint64_t good = get_le(file + 12, 4), events = 0;
    int64_t calls = 0;
    int k, i, j;
    char want[64];

    for (k = 0; k < nsec && sec[k].end <= len; k++) {
        good = sec[k].end;
        events += sec[k].events;
    }
    for (i = 0; i < k; i++)
        calls += sec[i].calls;
    put(CUT, file, len);
    /* The same sections closed by an END section. */
    if (good + 48 > sizeof(craft))
        bail("the trace is larger than the crafting buffer");
    memcpy(craft, file, (size_t)good);
    craft_len = (size_t)good;
    craft_end(events, (uint64_t)k);
    put(REF, craft, craft_len);
    snprintf(want, sizeof(want), "truncated at offset %llu:",
             (unsigned long long)good);
    for (j = 0; j < NSINKS; j++) {
        evprof_sink_stats st, rst;
        char err[512], rerr[512];
        unsigned char *out, *ref;
        size_t olen, rlen;
        int rc;

        rc = run(sinks[j], CUT, OUT, 0, &st, err, sizeof(err));
        ok(rc == -ENODATA && strstr(err, want) != NULL,
           "cut at %zu, %s: -ENODATA (%d: %s)", len, sinks[j], rc, err);
        if (run(sinks[j], REF, ROUT, 0, &rst, rerr, sizeof(rerr)) != 0)
            bail("%s on the same sections closed: %s", sinks[j], rerr);
        rc = run(sinks[j], CUT, OUT, 1, &st, err, sizeof(err));
        out = slurp(OUT, &olen);
        ref = slurp(ROUT, &rlen);
        ok(rc == EVPROF_SINK_TRUNCATED && strstr(err, want) != NULL
           && st.truncated == 1 && st.cut_offset == good
           && st.cut_bytes == len - good && st.events == events
           && st.events == rst.events && st.threads == rst.threads
           && olen == rlen && memcmp(out, ref, olen) == 0
           && output_checks(sinks[j], out, olen, calls),
           "cut at %zu, %s, partial: the output of the %d sections before "
           "%llu (%llu events, %lld calls; rc %d, stats %d %llu %llu "
           "%llu: %s)", len, sinks[j], k, (unsigned long long)good,
           (unsigned long long)events, (long long)calls, rc, st.truncated,
           (unsigned long long)st.cut_offset,
           (unsigned long long)st.cut_bytes,
           (unsigned long long)st.events, err);
        free(out);
        free(ref);
    }
}

/* Every boundary, inside each section header and payload. */
static size_t cuts(size_t *at)
{
    size_t n = 0;
    int i;

    for (i = 0; i < nsec; i++) {
        uint64_t s = sec[i].start, e = sec[i].end;
        uint64_t c[] = { s, s + 1, s + 12, s + 24, (s + 24 + e) / 2,
                         e - 1 };
        size_t k;

        for (k = 0; k < sizeof(c) / sizeof(c[0]); k++)
            if (c[k] < file_len && (n == 0 || c[k] > at[n - 1])
                && n < MAXCUT)
                at[n++] = (size_t)c[k];
    }
    return n;
}

/* The trace up to the end of section `last`, section `bad` damaged
 * (a byte flipped, or its payload zeroed). */
static void damaged(int last, int bad, int zero)
{
    unsigned char *p = malloc(file_len);
    uint64_t len = last < nsec ? sec[last].end : file_len;

    if (p == NULL)
        bail("out of memory");
    memcpy(p, file, file_len);
    if (zero)
        memset(p + sec[bad].start + 24, 0,
               (size_t)(sec[bad].end - sec[bad].start - 24));
    else
        p[(sec[bad].start + 24 + sec[bad].end) / 2] ^= 0x10;
    put(CUT, p, (size_t)len);
    free(p);
}

/* The index of the k-th section (0, 1...) of a type. */
static int nth(uint32_t type, int k)
{
    int i;

    for (i = 0; i < nsec; i++)
        if (sec[i].type == type && k-- == 0)
            return i;
    bail("no section %d of type %u", k, (unsigned)type);
}

static void damage(void)
{
    evprof_sink_stats st;
    char err[512], want[64];
    int j, ev_sec = nth(6, 0), names_sec = nth(4, 1), rc;
    uint64_t before = sec[ev_sec].events + sec[nth(6, 1)].events;

    /* The last section failing its checksum, or zeros. */
    snprintf(want, sizeof(want), "truncated at offset %llu:",
             (unsigned long long)sec[names_sec].start);
    for (j = 0; j < 2; j++) {
        damaged(names_sec, names_sec, j);
        rc = run("chrome", CUT, OUT, 0, &st, err, sizeof(err));
        ok(rc == -ENODATA && strstr(err, want) != NULL
           && strstr(err, "failing its checksum") != NULL,
           "the last section %s: -ENODATA (%s)",
           j ? "zeroed" : "failing its checksum", err);
        rc = run("chrome", CUT, OUT, 1, &st, err, sizeof(err));
        ok(rc == EVPROF_SINK_TRUNCATED && st.events == before
           && st.cut_offset == sec[names_sec].start
           && st.cut_bytes == sec[names_sec].end - sec[names_sec].start,
           "and read partially up to it (%d, %llu events: %s)", rc,
           (unsigned long long)st.events, err);
    }
    /* The same for an events section, which the Chrome and Perfetto
     * sinks only check on their second pass. */
    damaged(ev_sec, ev_sec, 0);
    for (j = 0; j < NSINKS; j++) {
        rc = run(sinks[j], CUT, OUT, 1, &st, err, sizeof(err));
        ok(rc == EVPROF_SINK_TRUNCATED && st.events == 0
           && st.cut_offset == sec[ev_sec].start,
           "%s: a last events section failing its checksum is a cut (%d, "
           "%llu events at %llu: %s)", sinks[j], rc,
           (unsigned long long)st.events,
           (unsigned long long)st.cut_offset, err);
    }
    /* Damage followed by more sections: an error, partial or not. */
    snprintf(want, sizeof(want), "offset %llu",
             (unsigned long long)sec[ev_sec].start);
    damaged(ev_sec + 2, ev_sec, 0);
    for (j = 0; j < NSINKS; j++) {
        rc = run(sinks[j], CUT, OUT, 1, &st, err, sizeof(err));
        ok(rc == -EBADMSG && strstr(err, want) != NULL
           && strstr(err, "checksum mismatch") != NULL,
           "%s, partial: damage in the middle is an error (%d: %s)",
           sinks[j], rc, err);
    }
    /* A complete file with a damaged END. */
    damaged(nsec, nsec - 1, 0);
    rc = run("summary", CUT, OUT, 1, &st, err, sizeof(err));
    ok(rc == -EBADMSG && strstr(err, "END") != NULL,
       "a damaged END section is an error with partial (%d: %s)", rc, err);
    /* Cut in the header: nothing to read. */
    put(CUT, file, 40);
    rc = run("chrome", CUT, OUT, 1, &st, err, sizeof(err));
    ok(rc == -ENODATA && strstr(err, "truncated header") != NULL,
       "cut in the header: -ENODATA with partial (%s)", err);
}

static void json_self_check(void)
{
    static const char *const good[] = { "{}", "[1,-2.5e+3,\"a\\u00e9\\n\"]",
                                        " {\"a\":[true,false,null]} \n" };
    static const char *const bad[] = { "", "[1,]", "{\"a\":1", "{} x",
                                       "[01]", "\"\\x\"", "{\"a\" 1}",
                                       "[\"\t\"]" };
    size_t i;
    int all = 1;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        all &= json_valid(good[i], strlen(good[i]), NULL);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        all &= !json_valid(bad[i], strlen(bad[i]), NULL);
    ok(all, "the JSON check tells good from bad");
}

int main(void)
{
    static size_t at[MAXCUT];
    evprof_sink_stats st;
    char err[512];
    size_t n, i;
    int j;

    file = cut_trace(TRACE, &file_len, sec, &nsec);
    n = cuts(at);
    plan(n * NSINKS * 2 + 4 * NSINKS + 8);
    json_self_check();
    ok(strcmp(evprof_strerror(EVPROF_SINK_TRUNCATED), "unknown error") != 0,
       "EVPROF_SINK_TRUNCATED has a message: %s",
       evprof_strerror(EVPROF_SINK_TRUNCATED));
    for (j = 0; j < NSINKS; j++) {
        int rc = run(sinks[j], TRACE, OUT, 1, &st, err, sizeof(err));

        ok(rc == 0 && st.truncated == 0 && st.cut_offset == 0
           && st.cut_bytes == 0 && err[0] == '\0',
           "%s: a complete trace with partial: 0, not truncated", sinks[j]);
    }
    for (i = 0; i < n; i++)
        cut_at(at[i]);
    damage();
    for (j = 0; j < NSINKS; j++) {
        /* To a stream of the caller's too. */
        FILE *f = fopen(OUT, "w");
        evprof_sink_options opt;
        int rc;

        put(CUT, file, (size_t)sec[nth(6, 1)].end + 30);
        evprof_sink_options_init(&opt);
        opt.partial = 1;
        rc = evprof_sink_run(CUT, sinks[j], f, &opt, err, sizeof(err));
        fclose(f);
        is_int(EVPROF_SINK_TRUNCATED, rc, "evprof_sink_run %s, partial: "
               "EVPROF_SINK_TRUNCATED", sinks[j]);
    }
    unlink(TRACE);
    unlink(CUT);
    unlink(REF);
    unlink(OUT);
    unlink(ROUT);
    free(file);
    return 0;
}
