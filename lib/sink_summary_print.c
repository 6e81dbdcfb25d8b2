/*
 * sink_summary_print.c: the rows of the summary sink (sink_summary.c),
 * merged by (name, module, first line) and sorted as summary.py's
 * summary() sorts them, as text (format_summary's layout, then the bytes
 * allocated by domain) or TSV (a column of bytes a domain).
 */
#include <config.h>

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sink-summary-private.h"


static int cmp_triple(const stat_entry *a, const stat_entry *b)
{
    int c = strcmp(a->d.name, b->d.name);

    if (c == 0)
        c = strcmp(a->d.mod, b->d.mod);
    if (c == 0)
        c = (a->d.lineno > b->d.lineno) - (a->d.lineno < b->d.lineno);
    return c;
}

static int cmp_by_triple(const void *pa, const void *pb)
{
    return cmp_triple(pa, pb);
}

static int sort_key; /* qsort has no context argument in C11 */

static int64_t key_value(const stat_entry *e)
{
    switch (sort_key) {
    case EVPROF_SORT_EXCLUSIVE: return e->excl;
    case EVPROF_SORT_CALLS: return e->calls;
    case EVPROF_SORT_BYTES: return e->bytes;
    case EVPROF_SORT_NET: return e->net;
    default: return e->incl;
    }
}

/* summary()'s order: the key, largest first (names A to Z), then the
 * name, then the order of the join: name, module, line. */
static int cmp_rows(const void *pa, const void *pb)
{
    const stat_entry *a = pa, *b = pb;

    if (sort_key != EVPROF_SORT_NAME) {
        int64_t x = key_value(a), y = key_value(b);

        if (x != y)
            return x > y ? -1 : 1;
    }
    return cmp_triple(a, b);
}

/* Merges the entries of one (name, module, line): returns the rows. */
static size_t make_rows(summary *s, const evprof__sink_ctx *ctx,
                        const evprof__names *names)
{
    size_t i, j, k, n = 0;

    for (i = 0; i < s->nstat; i++) {
        stat_entry *e = &s->stat[i];

        evprof__names_desc(names, e->key, e->builtin, &e->d);
        e->incl += e->incl_c * s->t_min;
        e->excl += e->excl_c * s->t_min;
    }
    if (s->nstat == 0)
        return 0; /* no events (a trace cut before its first): no rows,
                   * and qsort must not be given a NULL array */
    qsort(s->stat, s->nstat, sizeof(*s->stat), cmp_by_triple);
    for (i = 0; i < s->nstat; i = j) {
        stat_entry row = s->stat[i];

        for (j = i + 1; j < s->nstat && cmp_triple(&s->stat[j], &row) == 0;
             j++) {
            stat_entry *e = &s->stat[j];

            if (e->first_slot != SIZE_MAX
                && (row.first_slot == SIZE_MAX || e->first_slot < row.first_slot
                    || (e->first_slot == row.first_slot
                        && e->first_start < row.first_start))) {
                row.builtin = e->builtin;
                row.first_slot = e->first_slot;
                row.first_start = e->first_start;
            }
            row.calls += e->calls;
            row.incl += e->incl;
            row.excl += e->excl;
            row.allocs += e->allocs;
            row.bytes += e->bytes;
            row.net += e->net;
            for (k = 0; k < EVPROF__NDOMAINS; k++)
                row.dom[k] += e->dom[k];
        }
        if (row.first_slot == SIZE_MAX)
            row.builtin = 0; /* allocations only */
        s->stat[n++] = row;
    }
    sort_key = ctx->opt->sort;
    qsort(s->stat, n, sizeof(*s->stat), cmp_rows);
    return n;
}

/* _size(): bytes, then KiB, MiB, GiB past 10240 of a unit. */
static void size_str(char *buf, size_t len, int64_t n)
{
    static const char *const unit[] = { "KiB", "MiB", "GiB" };
    double d;
    int u;

    if (n > -10240 && n < 10240) {
        snprintf(buf, len, "%" PRId64 " B", n);
        return;
    }
    d = (double)n / 1024.0;
    for (u = 0; u < 2 && fabs(d) >= 10240; u++)
        d /= 1024.0;
    snprintf(buf, len, "%.1f %s", d, unit[u]);
}

static void tsv_str(FILE *f, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '\t': fputs("\\t", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\\': fputs("\\\\", f); break;
        default: putc(*s, f);
        }
}

static const char *domain_name(size_t d)
{
    const char *s = evprof_domain_name((int64_t)d);

    return s != NULL ? s : "other";
}

/* "allocated by domain: obj 12.3 MiB, numpy 400.0 MiB, ...": the bytes of
 * every row, largest first, the domains that allocated nothing left out;
 * no line when nothing was allocated. */
static void by_domain(FILE *f, const stat_entry *row, size_t n)
{
    int64_t total[EVPROF__NDOMAINS] = { 0 };
    size_t order[EVPROF__NDOMAINS], i, k, shown = 0;

    for (i = 0; i < n; i++)
        for (k = 0; k < EVPROF__NDOMAINS; k++)
            total[k] += row[i].dom[k];
    for (k = 0; k < EVPROF__NDOMAINS; k++) {
        size_t j = k;

        /* Insertion by bytes, largest first; ties in the domains' order. */
        for (; j > 0 && total[order[j - 1]] < total[k]; j--)
            order[j] = order[j - 1];
        order[j] = k;
    }
    for (k = 0; k < EVPROF__NDOMAINS; k++) {
        char a[32];

        if (total[order[k]] <= 0)
            continue;
        size_str(a, sizeof(a), total[order[k]]);
        fprintf(f, "%s%s %s", shown++ ? ", " : "allocated by domain: ",
                domain_name(order[k]), a);
    }
    if (shown > 0)
        putc('\n', f);
}

static void write_text(FILE *f, const stat_entry *row, size_t n, long limit)
{
    size_t i, shown = limit > 0 && (size_t)limit < n ? (size_t)limit : n;
    char a[32], b[32];

    fprintf(f, "%8s %12s %12s %10s %11s %11s  %s\n", "calls", "incl (ms)",
            "excl (ms)", "allocs", "allocated", "net", "function");
    for (i = 0; i < shown; i++) {
        const stat_entry *r = &row[i];
        const char *mod = r->d.mod;

        size_str(a, sizeof(a), r->bytes);
        size_str(b, sizeof(b), r->net);
        fprintf(f, "%8" PRId64 " %12.3f %12.3f %10" PRId64 " %11s %11s  ",
                r->calls, (double)r->incl / 1e6, (double)r->excl / 1e6,
                r->allocs, a, b);
        evprof__print_str(f, r->d.name);
        fputs(" (", f);
        if (evprof__utf8_len(mod) > 40) {
            fputs("...", f);
            mod = evprof__utf8_tail(mod, 37);
        }
        if (r->d.lineno >= 0) {
            evprof__print_str(f, mod);
            fprintf(f, ":%" PRId64, r->d.lineno);
        } else
            evprof__print_str(f, mod[0] ? mod : "builtin");
        fputs(")\n", f);
    }
    if (shown < n)
        fprintf(f, "... %zu more functions\n", n - shown);
    by_domain(f, row, n);
}

static void write_tsv(FILE *f, const stat_entry *row, size_t n)
{
    size_t i, k;

    fputs("name\tmod\tlineno\tbuiltin\tcalls\tinclusive_ns\texclusive_ns"
          "\tallocations\tbytes_allocated\tbytes_net", f);
    for (k = 0; k < EVPROF__NDOMAINS; k++)
        fprintf(f, "\tbytes_%s", domain_name(k));
    putc('\n', f);
    for (i = 0; i < n; i++) {
        const stat_entry *r = &row[i];

        tsv_str(f, r->d.name);
        putc('\t', f);
        tsv_str(f, r->d.mod);
        fprintf(f, "\t%" PRId64 "\t%d\t%" PRId64 "\t%" PRId64 "\t%" PRId64
                "\t%" PRId64 "\t%" PRId64 "\t%" PRId64, r->d.lineno,
                r->builtin, r->calls, r->incl, r->excl, r->allocs, r->bytes,
                r->net);
        for (k = 0; k < EVPROF__NDOMAINS; k++)
            fprintf(f, "\t%" PRId64, r->dom[k]);
        putc('\n', f);
    }
}

int evprof__summary_print(summary *s, const evprof__sink_ctx *ctx)
{
    evprof__names names;
    size_t n;
    int rc;

    if ((rc = evprof__names_init(&names, ctx->r)) < 0)
        return rc;
    n = make_rows(s, ctx, &names);
    if (s->tsv)
        write_tsv(ctx->out, s->stat, n);
    else
        write_text(ctx->out, s->stat, n, ctx->opt->limit);
    evprof__names_free(&names);
    return 0;
}

