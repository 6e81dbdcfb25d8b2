/*
 * trace_tables.c: the tables of a trace file being read (META, THREADS,
 * NAMES, LINES; doc/trace-format.md): each section's payload checked entry
 * by entry against its length, and kept for the lookups.
 *
 * What a reader keeps is bounded by the file: a small factor of each
 * section's bytes, however many (empty) entries it holds.  So the strings
 * of a section go into one block of its own, not a malloc each (whose
 * overhead, 32 bytes or more, is 4 times an empty META entry), and arrays
 * grow by half, not by one.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "trace-read-private.h"

#define fail evprof__trace_fail

/*
 * Room for `more` items after the `used` of *v (of *cap): grows by half,
 * so that many small sections cost O(1) an item, or exactly as needed for
 * one large section.  0 or -ENOMEM.
 */
static int grow(void *v, size_t *cap, size_t used, size_t more, size_t size)
{
    void *p, **pv = v;
    size_t n;

    if (more <= *cap - used)
        return 0;
    n = *cap + *cap / 2;
    if (n < used + more)
        n = used + more;
    if (n > SIZE_MAX / size)
        return -ENOMEM;
    p = realloc(*pv, n * size);
    if (p == NULL)
        return -ENOMEM;
    *pv = p;
    *cap = n;
    return 0;
}

/* The length of s[0..n) up to its first NUL. */
static size_t cut(const unsigned char *s, size_t n)
{
    const unsigned char *z = memchr(s, '\0', n);

    return z != NULL ? (size_t)(z - s) : n;
}

int evprof__trace_parse_meta(evprof_trace_reader *r, uint64_t at, size_t len)
{
    const unsigned char *p = r->buf;
    uint32_t count, i;
    size_t pos = 8, size = 0;
    char *s;

    if (len < 8)
        return fail(r, -EBADMSG, "META section at offset %" PRIu64
                    " too short", at);
    count = get_u32(p);
    /* Checked first, then copied: the block is made to measure. */
    for (i = 0; i < count; i++) {
        uint32_t kl, vl;

        if (len - pos < 8)
            return fail(r, -EBADMSG, "META section at offset %" PRIu64
                        ": entry %" PRIu32 " past its end", at, i);
        kl = get_u32(p + pos);
        vl = get_u32(p + pos + 4);
        pos += 8;
        if (kl > len - pos || vl > len - pos - kl)
            return fail(r, -EBADMSG, "META section at offset %" PRIu64
                        ": string past its end", at);
        size += cut(p + pos, kl) + cut(p + pos + kl, vl) + 2;
        pos += kl + vl;
    }
    if (pos != len)
        return fail(r, -EBADMSG, "META section at offset %" PRIu64
                    ": %zu stray bytes", at, len - pos);
    if (count == 0)
        return 0;
    if (grow(&r->meta, &r->meta_cap, r->nmeta, 1, sizeof(*r->meta)) != 0
        || (s = malloc(size)) == NULL)
        return fail(r, -ENOMEM, "out of memory");
    r->meta[r->nmeta].pairs = s;
    r->meta[r->nmeta].count = count;
    r->nmeta++;
    for (i = 0, pos = 8; i < count; i++) {
        uint32_t kl = get_u32(p + pos), vl = get_u32(p + pos + 4);
        size_t k = cut(p + pos + 8, kl), v = cut(p + pos + 8 + kl, vl);

        memcpy(s, p + pos + 8, k);
        s[k] = '\0';
        s += k + 1;
        memcpy(s, p + pos + 8 + kl, v);
        s[v] = '\0';
        s += v + 1;
        pos += 8 + (size_t)kl + vl;
    }
    return 0;
}

int evprof__trace_parse_threads(evprof_trace_reader *r, uint64_t at, size_t len)
{
    const unsigned char *p = r->buf;
    evprof_thread_info *t;
    int64_t *pid;
    uint64_t count;
    size_t i;

    if (len < 8 || (count = get_u32(p)) != (len - 8) / THREAD_RECORD
        || (len - 8) % THREAD_RECORD != 0)
        return fail(r, -EBADMSG, "THREADS section at offset %" PRIu64
                    ": length does not match its count", at);
    t = calloc(count ? count : 1, sizeof(*t));
    pid = calloc(count ? count : 1, sizeof(*pid));
    if (t == NULL || pid == NULL) {
        free(t);
        free(pid);
        return fail(r, -ENOMEM, "out of memory");
    }
    for (i = 0, p += 8; i < count; i++, p += THREAD_RECORD) {
        if (get_u32(p) != i) {
            free(t);
            free(pid);
            return fail(r, -EBADMSG, "THREADS section at offset %" PRIu64
                        ": thread %zu out of order", at, i);
        }
        t[i].ident = get_u64(p + 8);
        t[i].native_id = (int64_t)get_u64(p + 16);
        pid[i] = (int64_t)get_u64(p + 24);
    }
    /* A later THREADS section supersedes an earlier one. */
    free(r->threads);
    free(r->thread_pids);
    r->threads = t;
    r->thread_pids = pid;
    r->nthreads = r->listed = (size_t)count;
    r->have_threads = 1;
    return 0;
}

int evprof__trace_threads_unlisted(evprof_trace_reader *r)
{
    evprof_thread_info *t;
    int64_t *pid;
    size_t n, i;

    if (r->max_thread <= r->nthreads)
        return 0;
    if (r->max_thread - r->nthreads > TRACE_MAX_UNLISTED)
        return fail(r, -EBADMSG, "events refer to thread %" PRIu64
                    " but the file lists %zu threads", r->max_thread - 1,
                    r->nthreads);
    n = (size_t)r->max_thread;
    t = realloc(r->threads, n * sizeof(*t));
    if (t == NULL)
        return fail(r, -ENOMEM, "out of memory");
    r->threads = t;
    pid = realloc(r->thread_pids, n * sizeof(*pid));
    if (pid == NULL)
        return fail(r, -ENOMEM, "out of memory");
    r->thread_pids = pid;
    for (i = r->nthreads; i < n; i++) {
        t[i].ident = 0;
        t[i].native_id = 0;
        pid[i] = r->info.pid;
    }
    r->nthreads = n;
    return 0;
}

/* Copies n bytes to *s as a C string; where it went. */
static const char *take(char **s, const unsigned char *src, size_t n)
{
    char *start = *s;

    memcpy(start, src, n);
    start[n] = '\0';
    *s += n + 1;
    return start;
}

int evprof__trace_parse_names(evprof_trace_reader *r, uint64_t at,
                              size_t len)
{
    const unsigned char *p = r->buf;
    uint32_t count, i;
    size_t pos = 8, size = 0;
    char *s;

    if (len < 8)
        return fail(r, -EBADMSG, "NAMES section at offset %" PRIu64
                    " too short", at);
    count = get_u32(p);
    if (count > (len - 8) / NAME_RECORD)
        return fail(r, -EBADMSG, "NAMES section at offset %" PRIu64
                    ": count %" PRIu32 " past its end", at, count);
    for (i = 0; i < count; i++) {
        uint64_t strings;

        if (len - pos < NAME_RECORD)
            return fail(r, -EBADMSG, "NAMES section at offset %" PRIu64
                        ": entry %" PRIu32 " past its end", at, i);
        strings = (uint64_t)get_u32(p + pos + 16) + get_u32(p + pos + 20)
            + get_u32(p + pos + 24);
        if (strings > len - pos - NAME_RECORD)
            return fail(r, -EBADMSG, "NAMES section at offset %" PRIu64
                        ": strings of entry %" PRIu32 " past its end", at, i);
        pos += NAME_RECORD + (size_t)strings;
        size += (size_t)strings + 3;
    }
    if (pos != len)
        return fail(r, -EBADMSG, "NAMES section at offset %" PRIu64
                    ": %zu stray bytes", at, len - pos);
    if (count == 0)
        return 0;
    if (grow(&r->names, &r->names_cap, r->nnames, count, sizeof(*r->names))
        != 0
        || grow(&r->strings, &r->strings_cap, r->nstrings, 1,
                sizeof(*r->strings)) != 0
        || (s = malloc(size)) == NULL)
        return fail(r, -ENOMEM, "out of memory");
    r->strings[r->nstrings++] = s;
    for (i = 0, pos = 8; i < count; i++) {
        evprof_trace_name *e = &r->names[r->nnames++];
        size_t nl = get_u32(p + pos + 16), ml = get_u32(p + pos + 20);
        size_t fl = get_u32(p + pos + 24);

        e->key = (int64_t)get_u64(p + pos);
        e->kind = (int32_t)get_u32(p + pos + 8);
        e->first_line = (int32_t)get_u32(p + pos + 12);
        pos += NAME_RECORD;
        e->name = take(&s, p + pos, nl);
        e->module = take(&s, p + pos + nl, ml);
        e->file = take(&s, p + pos + nl + ml, fl);
        pos += nl + ml + fl;
    }
    r->names_sorted = 0;
    return 0;
}

int evprof__trace_parse_lines(evprof_trace_reader *r, uint64_t at, size_t len)
{
    const unsigned char *p = r->buf;
    evprof_trace_line *v;
    uint64_t count;
    size_t i;

    if (len < 8 || (count = get_u32(p)) != (len - 8) / LINE_RECORD
        || (len - 8) % LINE_RECORD != 0)
        return fail(r, -EBADMSG, "LINES section at offset %" PRIu64
                    ": length does not match its count", at);
    if (grow(&r->lines, &r->lines_cap, r->nlines, (size_t)count,
             sizeof(*r->lines)) != 0)
        return fail(r, -ENOMEM, "out of memory");
    v = r->lines;
    for (i = 0, p += 8; i < count; i++, p += LINE_RECORD) {
        v[r->nlines].key = (int64_t)get_u64(p);
        v[r->nlines].offset = (int64_t)get_u64(p + 8);
        v[r->nlines].line = (int32_t)get_u32(p + 16);
        r->nlines++;
    }
    r->lines_sorted = 0;
    return 0;
}

/* ---- tables ---------------------------------------------------------- */

const char *evprof_trace_reader_meta(const evprof_trace_reader *r,
                                     const char *key)
{
    const char *s, *value;
    size_t i;
    uint32_t k;

    if (r == NULL || key == NULL)
        return NULL;
    /* The last value of a key wins: the last section that has it, and the
     * last pair of that section. */
    for (i = r->nmeta; i-- > 0;) {
        value = NULL;
        for (k = 0, s = r->meta[i].pairs; k < r->meta[i].count; k++) {
            const char *v = s + strlen(s) + 1;

            if (strcmp(s, key) == 0)
                value = v;
            s = v + strlen(v) + 1;
        }
        if (value != NULL)
            return value;
    }
    return NULL;
}

size_t evprof_trace_reader_meta_count(const evprof_trace_reader *r)
{
    size_t i, n = 0;

    if (r == NULL)
        return 0;
    for (i = 0; i < r->nmeta; i++)
        n += r->meta[i].count;
    return n;
}

int evprof_trace_reader_meta_pair(const evprof_trace_reader *r, size_t index,
                                  const char **key, const char **value)
{
    size_t i;

    if (r == NULL || key == NULL || value == NULL)
        return -EINVAL;
    for (i = 0; i < r->nmeta; i++) {
        const char *s = r->meta[i].pairs;
        uint32_t k;

        if (index >= r->meta[i].count) {
            index -= r->meta[i].count;
            continue;
        }
        for (k = 0; k < index; k++) {
            s += strlen(s) + 1;
            s += strlen(s) + 1;
        }
        *key = s;
        *value = s + strlen(s) + 1;
        return 0;
    }
    return -ERANGE;
}

int64_t evprof_trace_reader_thread_pid(const evprof_trace_reader *r,
                                       size_t index)
{
    if (r == NULL)
        return -EINVAL;
    if (index >= r->nthreads)
        return -ERANGE;
    return r->thread_pids[index];
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
    *out = r->names[index];
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    int64_t x = ((const evprof_trace_name *)a)->key;
    int64_t y = ((const evprof_trace_name *)b)->key;

    return (x > y) - (x < y);
}

int evprof_trace_reader_find_name(const evprof_trace_reader *r, int64_t key,
                                  evprof_trace_name *out)
{
    evprof_trace_name probe, *hit;

    if (r == NULL || out == NULL)
        return -EINVAL;
    if (!r->names_sorted) {
        /* Sorting is not a visible change: a logically const cache. */
        evprof_trace_reader *w = (evprof_trace_reader *)r;

        if (w->nnames > 0)
            qsort(w->names, w->nnames, sizeof(*w->names), cmp_name);
        w->names_sorted = 1;
    }
    probe.key = key;
    hit = r->nnames ? bsearch(&probe, r->names, r->nnames, sizeof(probe),
                              cmp_name) : NULL;
    if (hit == NULL)
        return -ENOENT;
    *out = *hit;
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

void evprof__trace_tables_free(evprof_trace_reader *r)
{
    size_t i;

    for (i = 0; i < r->nmeta; i++)
        free(r->meta[i].pairs);
    free(r->meta);
    for (i = 0; i < r->nstrings; i++)
        free(r->strings[i]);
    free(r->strings);
    free(r->names);
    free(r->lines);
    free(r->threads);
    free(r->thread_pids);
}
