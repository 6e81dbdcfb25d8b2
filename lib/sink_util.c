/*
 * sink_util.c: what every sink needs: a small int64 map, the names of
 * keys as the Python package resolves them (python/evprof/tracefile.py,
 * _NameTable), thread idents and names, and string output (JSON, UTF-8).
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sink-private.h"

/* ---- int64 -> uint32 map ---------------------------------------------- */

static size_t hash64(int64_t key)
{
    uint64_t h = (uint64_t)key * UINT64_C(0x9E3779B97F4A7C15);

    return (size_t)(h ^ (h >> 29));
}

int64_t evprof__imap_get(const evprof__imap *m, int64_t key)
{
    size_t i;

    if (m->cap == 0)
        return -1;
    for (i = hash64(key) & (m->cap - 1); m->slot[i].used;
         i = (i + 1) & (m->cap - 1))
        if (m->slot[i].key == key)
            return m->slot[i].val;
    return -1;
}

static void put_slot(struct evprof__islot *slot, size_t cap, int64_t key,
                     uint32_t val)
{
    size_t i;

    for (i = hash64(key) & (cap - 1); slot[i].used && slot[i].key != key;
         i = (i + 1) & (cap - 1))
        ;
    slot[i].key = key;
    slot[i].val = val;
    slot[i].used = 1;
}

int evprof__imap_put(evprof__imap *m, int64_t key, uint32_t val)
{
    if (evprof__imap_get(m, key) < 0 && (m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64, i;
        struct evprof__islot *s = calloc(cap, sizeof(*s));

        if (s == NULL)
            return -ENOMEM;
        for (i = 0; i < m->cap; i++)
            if (m->slot[i].used)
                put_slot(s, cap, m->slot[i].key, m->slot[i].val);
        free(m->slot);
        m->slot = s;
        m->cap = cap;
    }
    if (evprof__imap_get(m, key) < 0)
        m->n++;
    put_slot(m->slot, m->cap, key, val);
    return 0;
}

void evprof__imap_free(evprof__imap *m)
{
    free(m->slot);
    m->slot = NULL;
    m->cap = m->n = 0;
}

/* ---- names ----------------------------------------------------------- */

int evprof__names_init(evprof__names *n, const evprof_trace_reader *r)
{
    size_t i, count = evprof_trace_reader_name_count(r);
    evprof_trace_name e;
    int rc;

    n->r = r;
    memset(&n->index, 0, sizeof(n->index));
    /* In file order, so that the last entry of a key wins, as in Python
     * (drop_duplicates(keep='last')). */
    for (i = 0; i < count; i++) {
        if (evprof_trace_reader_name(r, i, &e) < 0)
            continue;
        if ((rc = evprof__imap_put(&n->index, e.key, (uint32_t)i)) < 0) {
            evprof__names_free(n);
            return rc;
        }
    }
    return 0;
}

void evprof__names_free(evprof__names *n)
{
    evprof__imap_free(&n->index);
}

void evprof__names_desc(const evprof__names *n, int64_t key, int builtin,
                        evprof__desc *d)
{
    int64_t i = evprof__imap_get(&n->index, key);
    evprof_trace_name e;

    d->name = "";
    d->mod = "";
    d->lineno = -1;
    if (i < 0 || evprof_trace_reader_name(n->r, (size_t)i, &e) < 0)
        return;
    d->name = e.name ? e.name : "";
    d->mod = e.module ? e.module : "";
    if (e.kind == EVPROF_NAME_NATIVE && e.file && e.file[0])
        d->mod = e.file; /* a C function: its source file */
    if (e.kind == EVPROF_NAME_CODE
        || (e.kind == EVPROF_NAME_NATIVE && e.first_line > 0))
        d->lineno = e.first_line;
    if (builtin)
        d->lineno = -1;
}

/* ---- threads --------------------------------------------------------- */

size_t evprof__nslots(const evprof_trace_reader *r)
{
    size_t n = evprof_trace_reader_thread_count(r);

    return n > 0 ? n : 1;
}

uint64_t evprof__thread_ident(const evprof_trace_reader *r, size_t i)
{
    evprof_thread_info info;

    if (evprof_trace_reader_thread_count(r) == 0)
        return 0;
    if (i >= evprof_trace_reader_thread_count(r))
        i = 0; /* events without a thread index: the first thread */
    return evprof_trace_reader_thread(r, i, &info) == 0 ? info.ident : 0;
}

int64_t evprof__thread_native(const evprof_trace_reader *r, size_t i)
{
    evprof_thread_info info;

    if (i >= evprof_trace_reader_thread_count(r))
        i = 0;
    return evprof_trace_reader_thread(r, i, &info) == 0 ? info.native_id
                                                        : 0;
}

/* ---- strings ----------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (strict: no overlong form, no
 * surrogate, nothing past U+10FFFF), 0 when there is none. */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned c = s[0];

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;

        return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;

        return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80
               && (s[3] & 0xC0) == 0x80 ? 4 : 0;
    }
    return 0;
}

void evprof__json_str(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;

    while (*s) {
        size_t n = utf8_seq(s);

        if (n == 0) {
            fprintf(f, "\\udc%02x", *s++);
            continue;
        }
        if (n > 1) {
            fwrite(s, 1, n, f);
            s += n;
            continue;
        }
        switch (*s) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default:
            if (*s < 0x20)
                fprintf(f, "\\u%04x", *s);
            else
                putc(*s, f);
        }
        s++;
    }
}

size_t evprof__utf8_len(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t len = 0, n;

    for (; *s; s += n ? n : 1, len++)
        n = utf8_seq(s);
    return len;
}

const char *evprof__utf8_tail(const char *str, size_t want)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t len = evprof__utf8_len(str), n;

    for (; *s && len > want; s += n ? n : 1, len--)
        n = utf8_seq(s);
    return (const char *)s;
}

void evprof__print_str(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;

    while (*s) {
        size_t n = utf8_seq(s);

        if (n == 0)
            fprintf(f, "\\x%02x", *s++);
        else {
            fwrite(s, 1, n, f);
            s += n;
        }
    }
}
