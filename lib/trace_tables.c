/*
 * trace_tables.c: the tables of a trace file being read (META, THREADS,
 * NAMES, LINES; doc/trace-format.md): each section's payload checked entry
 * by entry against its length, and kept for the lookups.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "trace-read-private.h"

#define fail evprof__trace_fail

int evprof__trace_parse_meta(evprof_trace_reader *r, uint64_t at, size_t len)
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

int evprof__trace_parse_threads(evprof_trace_reader *r, uint64_t at, size_t len)
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

int evprof__trace_parse_names(evprof_trace_reader *r, uint64_t at, size_t len)
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

void evprof__trace_tables_free(evprof_trace_reader *r)
{
    size_t i;

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
}
