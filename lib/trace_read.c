/*
 * trace_read.c: reading a trace file (doc/trace-format.md) section by
 * section, trusting nothing: every length is checked against its section,
 * every section against its CRC-32, and the END section against what was
 * read.  Events are streamed (trace_read_events.c); only the tables are
 * kept (trace_tables.c).
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "trace-read-private.h"

int evprof__trace_fail(evprof_trace_reader *r, int code,
                       const char *format, ...)
{
    va_list ap;

    if (r->error)
        return r->error;
    r->error = code;
    va_start(ap, format);
    vsnprintf(r->msg, sizeof(r->msg), format, ap);
    va_end(ap);
    return code;
}

static const char *type_name(uint32_t type)
{
    switch (type) {
    case SEC_META: return "META";
    case SEC_THREADS: return "THREADS";
    case SEC_EVENTS: return "EVENTS";
    case SEC_NAMES: return "NAMES";
    case SEC_LINES: return "LINES";
    case SEC_EVENTS_PACKED: return "EVENTS_PACKED";
    case SEC_END: return "END";
    default: return "unknown";
    }
}

/* Reads exactly n bytes; the count read otherwise. */
static size_t get(evprof_trace_reader *r, void *p, size_t n)
{
    size_t k = fread(p, 1, n, r->f);

    r->offset += k;
    return k;
}

static int header(evprof_trace_reader *r)
{
    unsigned char h[TRACE_HEADER_SIZE];
    size_t k = get(r, h, sizeof(h)), rest;
    uint32_t hsize;

    if (ferror(r->f))
        return evprof__trace_fail(r, -EIO, "read error in the header");
    if (k == 0)
        return evprof__trace_fail(r, -EBADMSG, "empty file: not an evprof trace");
    if (k < TRACE_MAGIC_LEN || memcmp(h, TRACE_MAGIC, TRACE_MAGIC_LEN) != 0)
        return evprof__trace_fail(r, -EBADMSG,
                    "not an evprof trace file (bad magic number)");
    /* Past the magic number, a short file is a trace cut off: the
     * distinct code of every truncation (see cut_off). */
    if (k < sizeof(h))
        return evprof__trace_fail(r, -ENODATA,
                    "truncated header (%zu of %d bytes)", k,
                    TRACE_HEADER_SIZE);
    if (get_u32(h + 60) != evprof__crc32(0, h, 60))
        return evprof__trace_fail(r, -EBADMSG, "corrupted header (checksum mismatch)");
    r->info.version_major = get_u16(h + 8);
    r->info.version_minor = get_u16(h + 10);
    if (r->info.version_major != EVPROF_TRACE_VERSION_MAJOR)
        return evprof__trace_fail(r, -EPROTO,
                    "unsupported trace version %" PRIu32 ".%" PRIu32
                    " (this reader reads %d.x)", r->info.version_major,
                    r->info.version_minor, EVPROF_TRACE_VERSION_MAJOR);
    hsize = get_u32(h + 12);
    /* Any length a u32 holds: doc/trace-format.md sets no upper bound. */
    if (hsize < TRACE_HEADER_SIZE)
        return evprof__trace_fail(r, -EBADMSG, "bad header size %" PRIu32, hsize);
    if (get_u32(h + 16) != TRACE_EVENT_SIZE
        || get_u32(h + 20) != EVPROF_N_COLUMNS)
        return evprof__trace_fail(r, -EPROTO,
                    "unsupported event layout (%" PRIu32 " columns, %"
                    PRIu32 " bytes an event)", get_u32(h + 20),
                    get_u32(h + 16));
    r->info.n_columns = EVPROF_N_COLUMNS;
    r->info.clock = (int)get_u32(h + 24);
    r->info.pid = (int64_t)get_u64(h + 32);
    r->info.created_realtime_ns = (int64_t)get_u64(h + 40);
    r->info.created_clock_ns = (int64_t)get_u64(h + 48);
    /* A later minor version may have a longer header: skip the rest, read
     * through a small buffer (not seeked past: a pipe cannot seek, and a
     * seek past the end would not tell that the file is too short). */
    for (rest = hsize - TRACE_HEADER_SIZE; rest > 0; rest -= k) {
        k = get(r, h, rest < sizeof(h) ? rest : sizeof(h));
        if (k == 0)
            return evprof__trace_fail(r, ferror(r->f) ? -EIO : -ENODATA,
                                      "truncated header (%" PRIu64 " of %"
                                      PRIu32 " bytes)", r->offset, hsize);
    }
    return 0;
}

int evprof_trace_reader_open(const char *path, evprof_trace_reader **out)
{
    evprof_trace_reader *r;

    if (out != NULL)
        *out = NULL;
    if (path == NULL || out == NULL)
        return -EINVAL;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    *out = r;
    r->f = fopen(path, "rb");
    if (r->f == NULL) {
        int code = errno ? -errno : -EIO;

        return evprof__trace_fail(r, code, "cannot open %s: %s", path,
                    evprof_strerror(code));
    }
    return header(r);
}

const evprof_trace_info *evprof_trace_reader_info(const evprof_trace_reader *r)
{
    return r != NULL && r->f != NULL ? &r->info : NULL;
}

const char *evprof_trace_reader_error(const evprof_trace_reader *r)
{
    return r != NULL ? r->msg : "no reader";
}

/* ---- sections -------------------------------------------------------- */

static int parse_end(evprof_trace_reader *r, uint64_t at, size_t len)
{
    if (len != 24)
        return evprof__trace_fail(r, -EBADMSG, "END section at offset %" PRIu64
                    ": bad length %zu", at, len);
    if (get_u64(r->buf) != r->events)
        return evprof__trace_fail(r, -EBADMSG, "END section says %" PRIu64
                    " events, the file holds %" PRIu64,
                    get_u64(r->buf), r->events);
    if (get_u64(r->buf + 8) != r->sections)
        return evprof__trace_fail(r, -EBADMSG, "END section says %" PRIu64
                    " sections, the file holds %" PRIu64,
                    get_u64(r->buf + 8), r->sections);
    r->lost = get_u64(r->buf + 16);
    if (fgetc(r->f) != EOF)
        return evprof__trace_fail(r, -EBADMSG, "data after the END section (offset %"
                    PRIu64 ")", r->offset);
    if (r->max_thread > 0 && (!r->have_threads
                              || r->max_thread > r->nthreads))
        return evprof__trace_fail(r, -EBADMSG, "events refer to thread %" PRIu64
                    " but the file lists %zu threads", r->max_thread - 1,
                    r->nthreads);
    r->done = 1;
    return 0;
}

/*
 * The threads of a cut: those of events past the THREADS table get
 * unlisted entries (evprof__trace_threads_unlisted); " (then ...)" or
 * "" in more, and how many in unlisted.  0 or the error.
 */
static int cut_threads(evprof_trace_reader *r, char *unlisted, size_t n)
{
    size_t before = r->nthreads;

    if (r->skim)
        evprof__trace_skim_threads(r);
    if (evprof__trace_threads_unlisted(r))
        return r->error;
    unlisted[0] = '\0';
    if (r->nthreads > before)
        snprintf(unlisted, n, "; %zu thread%s not in the THREADS table, "
                 "unnamed", r->nthreads - before,
                 r->nthreads - before > 1 ? "s" : "");
    return 0;
}

/*
 * The file ends before its END section, at the section starting at `at`:
 * a writer killed, stopped by a full disk, or still writing.  Everything
 * before `at` was checked and delivered; what follows (`got` bytes of a
 * section of `len`, or of its header when len is 0) is never used.
 */
static int cut_off(evprof_trace_reader *r, uint64_t at, const char *what,
                   size_t got, uint64_t len)
{
    char more[80];

    if (r->error || cut_threads(r, more, sizeof(more)))
        return r->error;
    r->cut = 1;
    r->cut_at = at;
    r->cut_bytes = got;
    if (got == 0)
        return evprof__trace_fail(r, -ENODATA, "truncated at offset %" PRIu64
                    ": no END section; %" PRIu64 " events in complete "
                    "sections read%s", at, r->events, more);
    return evprof__trace_fail(r, -ENODATA, "truncated at offset %" PRIu64
                ": no END section; %" PRIu64 " events in complete sections "
                "read (then %zu of the %" PRIu64 " bytes of %s)%s", at,
                r->events, got, len, what, more);
}

/*
 * The last section of the file fails its checksum, its length intact: a
 * section whose header reached the disk before all of its payload (a
 * crash leaves the file's length with zeros or stale blocks past what
 * was written).  A cut like any other, its `len` bytes unused.  The END
 * section is not one: a file with an END section is complete, and a
 * damaged one is corrupted.
 */
static int cut_unchecked(evprof_trace_reader *r, uint64_t at,
                         const char *what, uint64_t len)
{
    char more[80];

    if (r->error || cut_threads(r, more, sizeof(more)))
        return r->error;
    r->cut = 1;
    r->cut_at = at;
    r->cut_bytes = len;
    return evprof__trace_fail(r, -ENODATA, "truncated at offset %" PRIu64
                ": no END section; %" PRIu64 " events in complete sections "
                "read (then the %" PRIu64 " bytes of %s failing its checksum, "
                "the last of the file)%s", at, r->events, len, what, more);
}

/* Is the file read to its end?  The byte read, if any, is put back. */
static int at_eof(evprof_trace_reader *r)
{
    int c = fgetc(r->f);

    if (c == EOF)
        return !ferror(r->f);
    ungetc(c, r->f);
    return 0;
}

/* "an EVENTS section", "a META section"... */
static void section_what(char *what, size_t n, uint32_t type)
{
    snprintf(what, n, "a%s %s section",
             strchr("EUu", type_name(type)[0]) ? "n" : "", type_name(type));
}

/*
 * An events section of a skimming reader: its count is read, the rest is
 * passed over unread and unchecked (the reader of the events checks it).
 * Past the end of the file, the section is cut off as when read.
 */
static int skim_events(evprof_trace_reader *r, uint64_t at, uint32_t type,
                       uint64_t len, uint32_t crc)
{
    unsigned char c[8];
    uint64_t end = at + TRACE_SECTION_HEADER + len;
    size_t k;

    k = get(r, c, sizeof(c));
    if (k == sizeof(c) && end <= r->size) {
        if (evprof__trace_skim_note(r, at, type, len, crc, c))
            return r->error;
        r->sections++;
        r->events += get_u32(c);
        if (fseek(r->f, (long)(end - r->offset), SEEK_CUR) != 0)
            return evprof__trace_fail(r, -EIO, "read error at offset %"
                                      PRIu64, r->offset);
        r->offset = end;
        return 0;
    }
    if (ferror(r->f))
        return evprof__trace_fail(r, -EIO, "read error at offset %" PRIu64,
                                  r->offset);
    return cut_off(r, at, type == SEC_EVENTS ? "an EVENTS section"
                                             : "an EVENTS_PACKED section",
                   (size_t)(r->size > at ? r->size - at : 0),
                   len + TRACE_SECTION_HEADER);
}

/* Reads the next section; parses tables, sets up EVENTS. */
int evprof__trace_next_section(evprof_trace_reader *r)
{
    unsigned char h[TRACE_SECTION_HEADER];
    uint64_t at = r->offset, len;
    uint32_t type, flags;
    size_t k;

    k = get(r, h, sizeof(h));
    if (ferror(r->f))
        return evprof__trace_fail(r, -EIO, "read error at offset %" PRIu64, r->offset);
    if (k < sizeof(h))
        return cut_off(r, at, "a section header", k, sizeof(h));
    if (get_u32(h + 20) != evprof__crc32(0, h, 20))
        return evprof__trace_fail(r, -EBADMSG, "corrupted section header at offset %"
                    PRIu64 " (checksum mismatch)", at);
    type = get_u32(h);
    flags = get_u32(h + 4);
    len = get_u64(h + 8);
    if (len > TRACE_MAX_SECTION)
        return evprof__trace_fail(r, -EBADMSG, "%s section at offset %" PRIu64
                    " too long (%" PRIu64 " bytes)", type_name(type), at, len);
    if (r->skim && (type == SEC_EVENTS || type == SEC_EVENTS_PACKED)
        && len >= 8)
        return skim_events(r, at, type, len, get_u32(h + 16));
    if (len > r->cap) {
        unsigned char *p = realloc(r->buf, (size_t)len);

        if (p == NULL)
            return evprof__trace_fail(r, -ENOMEM, "out of memory");
        r->buf = p;
        r->cap = (size_t)len;
    }
    k = get(r, r->buf, (size_t)len);
    if (ferror(r->f))
        return evprof__trace_fail(r, -EIO, "read error at offset %" PRIu64, r->offset);
    if (k < len) {
        char what[32];

        section_what(what, sizeof(what), type);
        return cut_off(r, at, what, k + sizeof(h), len + sizeof(h));
    }
    if (get_u32(h + 16) != evprof__crc32(0, r->buf, (size_t)len)) {
        char what[32];

        if (type == SEC_END || !at_eof(r))
            return evprof__trace_fail(r, -EBADMSG, "corrupted %s section at "
                        "offset %" PRIu64 " (checksum mismatch)",
                        type_name(type), at);
        section_what(what, sizeof(what), type);
        return cut_unchecked(r, at, what, len + sizeof(h));
    }
    if (type != SEC_END)
        r->sections++;
    switch (type) {
    case SEC_META: return evprof__trace_parse_meta(r, at, (size_t)len);
    case SEC_THREADS: return evprof__trace_parse_threads(r, at, (size_t)len);
    case SEC_EVENTS: return evprof__trace_parse_events(r, at, (size_t)len);
    case SEC_NAMES: return evprof__trace_parse_names(r, at, (size_t)len);
    case SEC_LINES: return evprof__trace_parse_lines(r, at, (size_t)len);
    case SEC_EVENTS_PACKED:
        return evprof__trace_parse_packed(r, at, (size_t)len);
    case SEC_END: return parse_end(r, at, (size_t)len);
    default:
        if (flags & SEC_FLAG_REQUIRED)
            return evprof__trace_fail(r, -EPROTO, "unknown required section type %" PRIu32
                        " at offset %" PRIu64, type, at);
        return 0; /* a later minor version's table: skipped */
    }
}

int evprof_trace_reader_finish(evprof_trace_reader *r)
{
    if (r == NULL)
        return -EINVAL;
    while (!r->done && !r->error) {
        /* A packed section is checked whole even when skipped. */
        if (r->pending && evprof__trace_unpack_saved(r))
            break;
        r->events += r->ev_left;
        /* The thread indices of skipped events still count. */
        if (r->thr != NULL) {
            for (; r->ev_left > 0; r->ev_left--, r->thr += 4)
                if ((uint64_t)get_u32(r->thr) + 1 > r->max_thread)
                    r->max_thread = (uint64_t)get_u32(r->thr) + 1;
        }
        r->ev_left = 0;
        evprof__trace_next_section(r);
    }
    return r->error;
}

int evprof__trace_reader_skim(evprof_trace_reader *r)
{
    struct stat st;

    if (r == NULL)
        return -EINVAL;
    if (fstat(fileno(r->f), &st) != 0)
        return evprof__trace_fail(r, -errno, "cannot stat the trace");
    r->size = (uint64_t)st.st_size;
    r->skim = 1;
    return evprof_trace_reader_finish(r);
}

uint64_t evprof_trace_reader_lost(const evprof_trace_reader *r)
{
    return r != NULL ? r->lost : 0;
}

uint64_t evprof_trace_reader_events(const evprof_trace_reader *r)
{
    return r != NULL ? r->events : 0;
}

void evprof_trace_reader_close(evprof_trace_reader *r)
{
    if (r == NULL)
        return;
    if (r->f != NULL)
        fclose(r->f);
    evprof__trace_tables_free(r);
    evprof__freed_clear(&r->freed);
    free(r->skimmed);
    free(r->dec);
    free(r->dec_thr);
    free(r->buf);
    free(r);
}
