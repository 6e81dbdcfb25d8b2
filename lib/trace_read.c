/*
 * trace_read.c: reading a trace file (doc/trace-format.md) section by
 * section, trusting nothing: every length is checked against its section,
 * every section against its CRC-32, and the END section against what was
 * read.  Events are streamed; only the tables are kept.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace-private.h"

struct meta {
    char *key, *value;
};

struct name {
    evprof_trace_name n;
    char *storage;
};

struct evprof_trace_reader {
    FILE *f;
    uint64_t offset;          /* of the next byte to read */
    evprof_trace_info info;
    int error;
    int done;
    char msg[256];
    unsigned char *buf;       /* the payload of the current section */
    size_t cap;
    /* the EVENTS section being read */
    const unsigned char *ev, *thr;
    uint64_t ev_left;
    uint64_t events, sections, lost;
    uint64_t max_thread;      /* 1 + the largest thread index seen */
    struct meta *meta;
    size_t nmeta;
    evprof_thread_info *threads;
    size_t nthreads;
    int have_threads;
    struct name *names;
    size_t nnames;
    int names_sorted;
    evprof_trace_line *lines;
    size_t nlines;
    int lines_sorted;
};

static int fail(evprof_trace_reader *r, int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(evprof_trace_reader *r, int code, const char *format, ...)
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
    size_t k = get(r, h, sizeof(h));
    uint32_t hsize;

    if (ferror(r->f))
        return fail(r, -EIO, "read error in the header");
    if (k == 0)
        return fail(r, -EBADMSG, "empty file: not an evprof trace");
    if (k < TRACE_MAGIC_LEN || memcmp(h, TRACE_MAGIC, TRACE_MAGIC_LEN) != 0)
        return fail(r, -EBADMSG,
                    "not an evprof trace file (bad magic number)");
    if (k < sizeof(h))
        return fail(r, -EBADMSG,
                    "truncated header (%zu of %d bytes)", k,
                    TRACE_HEADER_SIZE);
    if (get_u32(h + 60) != evprof__crc32(0, h, 60))
        return fail(r, -EBADMSG, "corrupted header (checksum mismatch)");
    r->info.version_major = get_u16(h + 8);
    r->info.version_minor = get_u16(h + 10);
    if (r->info.version_major != EVPROF_TRACE_VERSION_MAJOR)
        return fail(r, -EPROTO,
                    "unsupported trace version %" PRIu32 ".%" PRIu32
                    " (this reader reads %d.x)", r->info.version_major,
                    r->info.version_minor, EVPROF_TRACE_VERSION_MAJOR);
    hsize = get_u32(h + 12);
    if (hsize < TRACE_HEADER_SIZE || hsize > 4096)
        return fail(r, -EBADMSG, "bad header size %" PRIu32, hsize);
    if (get_u32(h + 16) != TRACE_EVENT_SIZE
        || get_u32(h + 20) != EVPROF_N_COLUMNS)
        return fail(r, -EPROTO,
                    "unsupported event layout (%" PRIu32 " columns, %"
                    PRIu32 " bytes an event)", get_u32(h + 20),
                    get_u32(h + 16));
    r->info.n_columns = EVPROF_N_COLUMNS;
    r->info.clock = (int)get_u32(h + 24);
    r->info.pid = (int64_t)get_u64(h + 32);
    r->info.created_realtime_ns = (int64_t)get_u64(h + 40);
    r->info.created_clock_ns = (int64_t)get_u64(h + 48);
    /* A later minor version may have a longer header: skip the rest. */
    for (; hsize > TRACE_HEADER_SIZE; hsize--)
        if (fgetc(r->f) == EOF)
            return fail(r, -EBADMSG, "truncated header");
        else
            r->offset++;
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

        return fail(r, code, "cannot open %s: %s", path,
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

static int parse_meta(evprof_trace_reader *r, uint64_t at, size_t len)
{
    const unsigned char *p = r->buf;
    uint32_t count, i;
    size_t pos = 8;

    if (len < 8)
        return fail(r, -EBADMSG, "META section at offset %" PRIu64
                    " too short", at);
    count = get_u32(p);
    for (i = 0; i < count; i++) {
        uint32_t kl, vl;
        struct meta *m;

        if (len - pos < 8)
            return fail(r, -EBADMSG, "META section at offset %" PRIu64
                        ": entry %" PRIu32 " past its end", at, i);
        kl = get_u32(p + pos);
        vl = get_u32(p + pos + 4);
        pos += 8;
        if (kl > len - pos || vl > len - pos - kl)
            return fail(r, -EBADMSG, "META section at offset %" PRIu64
                        ": string past its end", at);
        m = realloc(r->meta, (r->nmeta + 1) * sizeof(*m));
        if (m == NULL)
            return fail(r, -ENOMEM, "out of memory");
        r->meta = m;
        m += r->nmeta;
        m->key = malloc(kl + 1);
        m->value = malloc(vl + 1);
        if (m->key == NULL || m->value == NULL) {
            free(m->key);
            free(m->value);
            return fail(r, -ENOMEM, "out of memory");
        }
        memcpy(m->key, p + pos, kl);
        m->key[kl] = '\0';
        memcpy(m->value, p + pos + kl, vl);
        m->value[vl] = '\0';
        r->nmeta++;
        pos += kl + vl;
    }
    if (pos != len)
        return fail(r, -EBADMSG, "META section at offset %" PRIu64
                    ": %zu stray bytes", at, len - pos);
    return 0;
}

static int parse_threads(evprof_trace_reader *r, uint64_t at, size_t len)
{
    const unsigned char *p = r->buf;
    evprof_thread_info *t;
    uint64_t count;
    size_t i;

    if (len < 8 || (count = get_u32(p)) != (len - 8) / THREAD_RECORD
        || (len - 8) % THREAD_RECORD != 0)
        return fail(r, -EBADMSG, "THREADS section at offset %" PRIu64
                    ": length does not match its count", at);
    t = calloc(count ? count : 1, sizeof(*t));
    if (t == NULL)
        return fail(r, -ENOMEM, "out of memory");
    for (i = 0, p += 8; i < count; i++, p += THREAD_RECORD) {
        if (get_u32(p) != i) {
            free(t);
            return fail(r, -EBADMSG, "THREADS section at offset %" PRIu64
                        ": thread %zu out of order", at, i);
        }
        t[i].ident = get_u64(p + 8);
        t[i].native_id = (int64_t)get_u64(p + 16);
    }
    /* A later THREADS section supersedes an earlier one. */
    free(r->threads);
    r->threads = t;
    r->nthreads = (size_t)count;
    r->have_threads = 1;
    return 0;
}

static int parse_names(evprof_trace_reader *r, uint64_t at, size_t len)
{
    const unsigned char *p = r->buf;
    uint32_t count, i;
    size_t pos = 8;
    struct name *v;

    if (len < 8)
        return fail(r, -EBADMSG, "NAMES section at offset %" PRIu64
                    " too short", at);
    count = get_u32(p);
    if (count > (len - 8) / NAME_RECORD)
        return fail(r, -EBADMSG, "NAMES section at offset %" PRIu64
                    ": count %" PRIu32 " past its end", at, count);
    v = realloc(r->names, (r->nnames + count + 1) * sizeof(*v));
    if (v == NULL)
        return fail(r, -ENOMEM, "out of memory");
    r->names = v;
    for (i = 0; i < count; i++) {
        uint32_t nl, ml, fl;
        struct name *e = &r->names[r->nnames];
        char *s;

        if (len - pos < NAME_RECORD)
            return fail(r, -EBADMSG, "NAMES section at offset %" PRIu64
                        ": entry %" PRIu32 " past its end", at, i);
        nl = get_u32(p + pos + 16);
        ml = get_u32(p + pos + 20);
        fl = get_u32(p + pos + 24);
        if ((uint64_t)nl + ml + fl > len - pos - NAME_RECORD)
            return fail(r, -EBADMSG, "NAMES section at offset %" PRIu64
                        ": strings of entry %" PRIu32 " past its end", at, i);
        s = malloc((size_t)nl + ml + fl + 3);
        if (s == NULL)
            return fail(r, -ENOMEM, "out of memory");
        e->storage = s;
        e->n.key = (int64_t)get_u64(p + pos);
        e->n.kind = (int32_t)get_u32(p + pos + 8);
        e->n.first_line = (int32_t)get_u32(p + pos + 12);
        pos += NAME_RECORD;
        e->n.name = s;
        memcpy(s, p + pos, nl);
        s[nl] = '\0';
        s += nl + 1;
        pos += nl;
        e->n.module = s;
        memcpy(s, p + pos, ml);
        s[ml] = '\0';
        s += ml + 1;
        pos += ml;
        e->n.file = s;
        memcpy(s, p + pos, fl);
        s[fl] = '\0';
        pos += fl;
        r->nnames++;
    }
    if (pos != len)
        return fail(r, -EBADMSG, "NAMES section at offset %" PRIu64
                    ": %zu stray bytes", at, len - pos);
    r->names_sorted = 0;
    return 0;
}

static int parse_lines(evprof_trace_reader *r, uint64_t at, size_t len)
{
    const unsigned char *p = r->buf;
    evprof_trace_line *v;
    uint64_t count;
    size_t i;

    if (len < 8 || (count = get_u32(p)) != (len - 8) / LINE_RECORD
        || (len - 8) % LINE_RECORD != 0)
        return fail(r, -EBADMSG, "LINES section at offset %" PRIu64
                    ": length does not match its count", at);
    v = realloc(r->lines, (r->nlines + count + 1) * sizeof(*v));
    if (v == NULL)
        return fail(r, -ENOMEM, "out of memory");
    r->lines = v;
    for (i = 0, p += 8; i < count; i++, p += LINE_RECORD) {
        v[r->nlines].key = (int64_t)get_u64(p);
        v[r->nlines].offset = (int64_t)get_u64(p + 8);
        v[r->nlines].line = (int32_t)get_u32(p + 16);
        r->nlines++;
    }
    r->lines_sorted = 0;
    return 0;
}

static int parse_events(evprof_trace_reader *r, uint64_t at, size_t len)
{
    uint64_t count;
    uint32_t flags;

    if (len < 8)
        return fail(r, -EBADMSG, "EVENTS section at offset %" PRIu64
                    " too short", at);
    count = get_u32(r->buf);
    flags = get_u32(r->buf + 4);
    if (flags & ~EVENTS_FLAG_THREAD)
        return fail(r, -EPROTO, "EVENTS section at offset %" PRIu64
                    ": unknown flags 0x%" PRIx32, at, flags);
    if (len - 8 != count * (TRACE_EVENT_SIZE
                            + (flags & EVENTS_FLAG_THREAD ? 4 : 0)))
        return fail(r, -EBADMSG, "EVENTS section at offset %" PRIu64
                    ": length does not match its %" PRIu64 " events",
                    at, count);
    r->ev = r->buf + 8;
    r->thr = flags & EVENTS_FLAG_THREAD
        ? r->ev + count * TRACE_EVENT_SIZE : NULL;
    r->ev_left = count;
    return 0;
}

static int parse_end(evprof_trace_reader *r, uint64_t at, size_t len)
{
    if (len != 24)
        return fail(r, -EBADMSG, "END section at offset %" PRIu64
                    ": bad length %zu", at, len);
    if (get_u64(r->buf) != r->events)
        return fail(r, -EBADMSG, "END section says %" PRIu64
                    " events, the file holds %" PRIu64,
                    get_u64(r->buf), r->events);
    if (get_u64(r->buf + 8) != r->sections)
        return fail(r, -EBADMSG, "END section says %" PRIu64
                    " sections, the file holds %" PRIu64,
                    get_u64(r->buf + 8), r->sections);
    r->lost = get_u64(r->buf + 16);
    if (fgetc(r->f) != EOF)
        return fail(r, -EBADMSG, "data after the END section (offset %"
                    PRIu64 ")", r->offset);
    if (r->max_thread > 0 && (!r->have_threads
                              || r->max_thread > r->nthreads))
        return fail(r, -EBADMSG, "events refer to thread %" PRIu64
                    " but the file lists %zu threads", r->max_thread - 1,
                    r->nthreads);
    r->done = 1;
    return 0;
}

/* Reads the next section; parses tables, sets up EVENTS. */
static int next_section(evprof_trace_reader *r)
{
    unsigned char h[TRACE_SECTION_HEADER];
    uint64_t at = r->offset, len;
    uint32_t type, flags;
    size_t k;

    k = get(r, h, sizeof(h));
    if (ferror(r->f))
        return fail(r, -EIO, "read error at offset %" PRIu64, r->offset);
    if (k == 0)
        return fail(r, -EBADMSG, "truncated file: no END section "
                    "(the file ends at offset %" PRIu64 ")", at);
    if (k < sizeof(h))
        return fail(r, -EBADMSG, "truncated section header at offset %"
                    PRIu64, at);
    if (get_u32(h + 20) != evprof__crc32(0, h, 20))
        return fail(r, -EBADMSG, "corrupted section header at offset %"
                    PRIu64 " (checksum mismatch)", at);
    type = get_u32(h);
    flags = get_u32(h + 4);
    len = get_u64(h + 8);
    if (len > TRACE_MAX_SECTION)
        return fail(r, -EBADMSG, "%s section at offset %" PRIu64
                    " too long (%" PRIu64 " bytes)", type_name(type), at, len);
    if (len > r->cap) {
        unsigned char *p = realloc(r->buf, (size_t)len);

        if (p == NULL)
            return fail(r, -ENOMEM, "out of memory");
        r->buf = p;
        r->cap = (size_t)len;
    }
    k = get(r, r->buf, (size_t)len);
    if (ferror(r->f))
        return fail(r, -EIO, "read error at offset %" PRIu64, r->offset);
    if (k < len)
        return fail(r, -EBADMSG, "truncated %s section at offset %" PRIu64
                    " (%zu of %" PRIu64 " bytes)", type_name(type), at, k,
                    len);
    if (get_u32(h + 16) != evprof__crc32(0, r->buf, (size_t)len))
        return fail(r, -EBADMSG, "corrupted %s section at offset %" PRIu64
                    " (checksum mismatch)", type_name(type), at);
    if (type != SEC_END)
        r->sections++;
    switch (type) {
    case SEC_META: return parse_meta(r, at, (size_t)len);
    case SEC_THREADS: return parse_threads(r, at, (size_t)len);
    case SEC_EVENTS: return parse_events(r, at, (size_t)len);
    case SEC_NAMES: return parse_names(r, at, (size_t)len);
    case SEC_LINES: return parse_lines(r, at, (size_t)len);
    case SEC_END: return parse_end(r, at, (size_t)len);
    default:
        if (flags & SEC_FLAG_REQUIRED)
            return fail(r, -EPROTO, "unknown required section type %" PRIu32
                        " at offset %" PRIu64, type, at);
        return 0; /* a later minor version's table: skipped */
    }
}

int64_t evprof_trace_read_events(evprof_trace_reader *r, evprof_event *out,
                                 uint32_t *thread, size_t max)
{
    size_t n = 0;

    if (r == NULL || (out == NULL && max > 0))
        return -EINVAL;
    if (r->error)
        return r->error;
    while (n < max && !r->done) {
        if (r->ev_left == 0) {
            if (next_section(r))
                return r->error;
            continue;
        }
        out[n].id_frame = (int64_t)get_u64(r->ev);
        out[n].id_arg = (int64_t)get_u64(r->ev + 8);
        out[n].event = (int64_t)get_u64(r->ev + 16);
        out[n].time = (int64_t)get_u64(r->ev + 24);
        out[n].value1 = (int64_t)get_u64(r->ev + 32);
        out[n].value2 = (int64_t)get_u64(r->ev + 40);
        r->ev += TRACE_EVENT_SIZE;
        if (r->thr != NULL) {
            uint32_t t = get_u32(r->thr);

            r->thr += 4;
            if ((uint64_t)t + 1 > r->max_thread)
                r->max_thread = (uint64_t)t + 1;
            if (thread != NULL)
                thread[n] = t;
        } else if (thread != NULL) {
            thread[n] = UINT32_MAX;
        }
        r->ev_left--;
        r->events++;
        n++;
    }
    return (int64_t)n;
}

int evprof_trace_reader_finish(evprof_trace_reader *r)
{
    if (r == NULL)
        return -EINVAL;
    while (!r->done && !r->error) {
        r->events += r->ev_left;
        /* The thread indices of skipped events still count. */
        if (r->thr != NULL) {
            for (; r->ev_left > 0; r->ev_left--, r->thr += 4)
                if ((uint64_t)get_u32(r->thr) + 1 > r->max_thread)
                    r->max_thread = (uint64_t)get_u32(r->thr) + 1;
        }
        r->ev_left = 0;
        next_section(r);
    }
    return r->error;
}

/* ---- tables ---------------------------------------------------------- */

const char *evprof_trace_reader_meta(const evprof_trace_reader *r,
                                     const char *key)
{
    size_t i;

    if (r == NULL || key == NULL)
        return NULL;
    /* The last value of a key wins. */
    for (i = r->nmeta; i-- > 0;)
        if (strcmp(r->meta[i].key, key) == 0)
            return r->meta[i].value;
    return NULL;
}

size_t evprof_trace_reader_thread_count(const evprof_trace_reader *r)
{
    return r != NULL ? r->nthreads : 0;
}

int evprof_trace_reader_thread(const evprof_trace_reader *r, size_t index,
                               evprof_thread_info *info)
{
    if (r == NULL || info == NULL)
        return -EINVAL;
    if (index >= r->nthreads)
        return -ERANGE;
    *info = r->threads[index];
    return 0;
}

size_t evprof_trace_reader_name_count(const evprof_trace_reader *r)
{
    return r != NULL ? r->nnames : 0;
}

int evprof_trace_reader_name(const evprof_trace_reader *r, size_t index,
                             evprof_trace_name *out)
{
    if (r == NULL || out == NULL)
        return -EINVAL;
    if (index >= r->nnames)
        return -ERANGE;
    *out = r->names[index].n;
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    int64_t x = ((const struct name *)a)->n.key;
    int64_t y = ((const struct name *)b)->n.key;

    return (x > y) - (x < y);
}

int evprof_trace_reader_find_name(const evprof_trace_reader *r, int64_t key,
                                  evprof_trace_name *out)
{
    struct name probe, *hit;

    if (r == NULL || out == NULL)
        return -EINVAL;
    if (!r->names_sorted) {
        /* Sorting is not a visible change: a logically const cache. */
        evprof_trace_reader *w = (evprof_trace_reader *)r;

        if (w->nnames > 0)
            qsort(w->names, w->nnames, sizeof(*w->names), cmp_name);
        w->names_sorted = 1;
    }
    probe.n.key = key;
    hit = r->nnames ? bsearch(&probe, r->names, r->nnames, sizeof(probe),
                              cmp_name) : NULL;
    if (hit == NULL)
        return -ENOENT;
    *out = hit->n;
    return 0;
}

size_t evprof_trace_reader_line_count(const evprof_trace_reader *r)
{
    return r != NULL ? r->nlines : 0;
}

int evprof_trace_reader_line(const evprof_trace_reader *r, size_t index,
                             evprof_trace_line *out)
{
    if (r == NULL || out == NULL)
        return -EINVAL;
    if (index >= r->nlines)
        return -ERANGE;
    *out = r->lines[index];
    return 0;
}

static int cmp_line(const void *a, const void *b)
{
    const evprof_trace_line *x = a, *y = b;

    if (x->key != y->key)
        return (x->key > y->key) - (x->key < y->key);
    return (x->offset > y->offset) - (x->offset < y->offset);
}

int evprof_trace_reader_find_line(const evprof_trace_reader *r, int64_t key,
                                  int64_t offset)
{
    evprof_trace_line probe, *hit;

    if (r == NULL)
        return -EINVAL;
    if (!r->lines_sorted) {
        evprof_trace_reader *w = (evprof_trace_reader *)r;

        if (w->nlines > 0)
            qsort(w->lines, w->nlines, sizeof(*w->lines), cmp_line);
        w->lines_sorted = 1;
    }
    probe.key = key;
    probe.offset = offset;
    hit = r->nlines ? bsearch(&probe, r->lines, r->nlines, sizeof(probe),
                              cmp_line) : NULL;
    return hit != NULL ? hit->line : -ENOENT;
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
    size_t i;

    if (r == NULL)
        return;
    if (r->f != NULL)
        fclose(r->f);
    for (i = 0; i < r->nmeta; i++) {
        free(r->meta[i].key);
        free(r->meta[i].value);
    }
    free(r->meta);
    for (i = 0; i < r->nnames; i++)
        free(r->names[i].storage);
    free(r->names);
    free(r->lines);
    free(r->threads);
    free(r->buf);
    free(r);
}
