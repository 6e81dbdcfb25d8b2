/*
 * sink_summary.c: the per-function summary of python/evprof/summary.py,
 * in one pass: calls, inclusive and exclusive time, allocations, bytes
 * allocated and net, one row per (name, module, first line), as text
 * ("summary": format_summary's layout) or TSV ("summary-tsv").
 *
 * Frames are followed per thread on a stack, as timeline.slices() pairs
 * them: a close pops the latest open frame of its thread; a close with
 * no open frame belongs to a frame open before the recording, which
 * starts at the first timestamp of the trace; frames still open at the
 * end close at the last one.  The first timestamp is only known at the
 * end when events are not in time order, so the durations of frames open
 * at the start are kept as (value - t_min): a value and a count of t_min.
 *
 * Inclusive time counts a recursive function once (its outermost frames,
 * as summary() does): a frame adds its time unless a frame of the same
 * function is open below it on its thread.  A frame open at the start
 * encloses every earlier frame of its thread, so it replaces what the
 * earlier frames of its function added there.  Functions are told apart
 * by key here (by name, module and line in Python: two keys of one name
 * only differ in how their recursion is counted).
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sink-private.h"

typedef struct stat_entry {
    int64_t key;
    int builtin;
    int64_t calls, incl, incl_c, excl, excl_c, allocs, bytes, net;
    size_t first_slot;   /* the first slice, as summary()'s sort meets it */
    int64_t first_start;
    evprof__desc d;
} stat_entry;

typedef struct frame {
    uint32_t stat, pend;        /* its stat_entry, its thread's pending */
    int64_t start, child;
} frame;

typedef struct pending {
    int64_t v, c;        /* inclusive time so far: v + c * t_min */
    uint32_t onstack;
} pending;

typedef struct sthread {
    frame *stack;
    size_t depth, cap;
    int64_t bottom_v, bottom_c; /* time of the frames closed at the bottom */
    evprof__imap pidx;          /* stat -> pend */
    pending *pend;
    size_t npend, cappend;
} sthread;

typedef struct summary {
    int tsv;
    stat_entry *stat;
    size_t nstat, capstat;
    evprof__imap idx[2];        /* key -> stat, per builtin */
    sthread *thread;            /* slot 0: events without a thread */
    size_t nthread;
    int64_t last_key;           /* the last key looked up, and its stat */
    int last_builtin;           /* (recursion and allocation loops ask */
    uint32_t last_stat;         /* for the same one again) */
    int64_t t_min, t_max;
    uint64_t events;
} summary;

static int stat_of(summary *s, int64_t key, int builtin, uint32_t *out)
{
    int64_t i;
    stat_entry *e;
    int rc;

    if (s->nstat > 0 && key == s->last_key && builtin == s->last_builtin) {
        *out = s->last_stat;
        return 0;
    }
    if ((i = evprof__imap_get(&s->idx[builtin], key)) >= 0) {
        s->last_key = key;
        s->last_builtin = builtin;
        *out = s->last_stat = (uint32_t)i;
        return 0;
    }
    if (s->nstat == s->capstat) {
        size_t c = s->capstat ? s->capstat * 2 : 64;
        stat_entry *p = realloc(s->stat, c * sizeof(*p));

        if (p == NULL)
            return -ENOMEM;
        s->stat = p;
        s->capstat = c;
    }
    if ((rc = evprof__imap_put(&s->idx[builtin], key,
                               (uint32_t)s->nstat)) < 0)
        return rc;
    e = &s->stat[s->nstat];
    memset(e, 0, sizeof(*e));
    e->key = key;
    e->builtin = builtin;
    e->first_slot = SIZE_MAX;
    *out = (uint32_t)s->nstat++;
    return 0;
}

static sthread *thread_of(summary *s, uint32_t index)
{
    size_t slot = index == EVPROF__NO_THREAD ? 0 : (size_t)index + 1;

    if (slot >= s->nthread) {
        size_t n = slot + 8;
        sthread *p = realloc(s->thread, n * sizeof(*p));

        if (p == NULL)
            return NULL;
        memset(p + s->nthread, 0, (n - s->nthread) * sizeof(*p));
        s->thread = p;
        s->nthread = n;
    }
    return &s->thread[slot];
}

static pending *pend_of(sthread *t, uint32_t stat)
{
    int64_t i = evprof__imap_get(&t->pidx, stat);

    if (i >= 0)
        return &t->pend[i];
    if (t->npend == t->cappend) {
        size_t c = t->cappend ? t->cappend * 2 : 16;
        pending *p = realloc(t->pend, c * sizeof(*p));

        if (p == NULL)
            return NULL;
        t->pend = p;
        t->cappend = c;
    }
    if (evprof__imap_put(&t->pidx, stat, (uint32_t)t->npend) < 0)
        return NULL;
    memset(&t->pend[t->npend], 0, sizeof(*t->pend));
    return &t->pend[t->npend++];
}

static void first_slice(stat_entry *e, size_t slot, int64_t start)
{
    if (e->first_slot == SIZE_MAX || slot < e->first_slot
        || (slot == e->first_slot && start < e->first_start)) {
        e->first_slot = slot;
        e->first_start = start;
    }
}

static int open_frame(summary *s, sthread *t, size_t slot,
                      const evprof_event *e)
{
    uint32_t st;
    pending *p;
    int rc;

    (void)slot;
    if ((rc = stat_of(s, e->id_frame, evprof__is_builtin(e->event), &st)) < 0)
        return rc;
    if (t->depth == t->cap) {
        size_t c = t->cap ? t->cap * 2 : 64;
        frame *f = realloc(t->stack, c * sizeof(*f));

        if (f == NULL)
            return -ENOMEM;
        t->stack = f;
        t->cap = c;
    }
    if ((p = pend_of(t, st)) == NULL)
        return -ENOMEM;
    p->onstack++;
    t->stack[t->depth].stat = st;
    t->stack[t->depth].pend = (uint32_t)(p - t->pend);
    t->stack[t->depth].start = e->time;
    t->stack[t->depth++].child = 0;
    return 0;
}

/* Pops the top frame of t at time `end`. */
static int close_top(summary *s, sthread *t, size_t slot, int64_t end)
{
    frame f = t->stack[--t->depth];
    stat_entry *e = &s->stat[f.stat];
    int64_t dur = end - f.start;
    pending *p = &t->pend[f.pend];

    e->calls++;
    e->excl += dur - f.child;
    first_slice(e, slot, f.start);
    if (--p->onstack == 0)
        p->v += dur;
    if (t->depth > 0)
        t->stack[t->depth - 1].child += dur;
    else
        t->bottom_v += dur;
    return 0;
}

/* A close without its open: a frame from t_min to e->time. */
static int close_early(summary *s, sthread *t, size_t slot,
                       const evprof_event *e)
{
    uint32_t st;
    pending *p;
    int rc;

    if ((rc = stat_of(s, e->id_frame, evprof__is_builtin(e->event), &st)) < 0)
        return rc;
    if ((p = pend_of(t, st)) == NULL)
        return -ENOMEM;
    s->stat[st].calls++;
    s->stat[st].excl += e->time - t->bottom_v;
    s->stat[st].excl_c += -1 - t->bottom_c;
    first_slice(&s->stat[st], slot, INT64_MIN);
    p->v = e->time;
    p->c = -1;
    t->bottom_v = e->time;
    t->bottom_c = -1;
    return 0;
}

static int summary_events(void *state, const evprof_event *ev,
                          const uint32_t *thread, size_t n)
{
    summary *s = state;
    size_t i;
    int rc = 0;

    for (i = 0; i < n && rc == 0; i++) {
        const evprof_event *e = &ev[i];
        size_t slot = thread[i] == EVPROF__NO_THREAD ? 0 : thread[i] + 1;
        sthread *t;

        if (s->events++ == 0 || e->time < s->t_min)
            s->t_min = e->time;
        if (e->time > s->t_max || s->events == 1)
            s->t_max = e->time;
        if (evprof__is_memory(e->event)) {
            uint32_t st;

            if ((rc = stat_of(s, e->id_frame, 0, &st)) < 0)
                break;
            s->stat[st].allocs += e->value2 > 0;
            s->stat[st].bytes += e->value2 > 0 ? e->value2 : 0;
            s->stat[st].net += e->value2;
            continue;
        }
        if (!evprof__is_open(e->event) && !evprof__is_close(e->event))
            continue;
        if ((t = thread_of(s, thread[i])) == NULL)
            return -ENOMEM;
        if (evprof__is_open(e->event))
            rc = open_frame(s, t, slot, e);
        else if (t->depth > 0)
            rc = close_top(s, t, slot, e->time);
        else
            rc = close_early(s, t, slot, e);
    }
    return rc;
}

static int summary_begin(void **state, const evprof__sink_ctx *ctx,
                         int tsv)
{
    summary *s = calloc(1, sizeof(*s));

    (void)ctx;
    if (s == NULL)
        return -ENOMEM;
    s->tsv = tsv;
    *state = s;
    return 0;
}

static int begin_text(void **state, const evprof__sink_ctx *ctx)
{
    return summary_begin(state, ctx, 0);
}

static int begin_tsv(void **state, const evprof__sink_ctx *ctx)
{
    return summary_begin(state, ctx, 1);
}

static void summary_free(void *state)
{
    summary *s = state;
    size_t i;

    for (i = 0; i < s->nthread; i++) {
        free(s->thread[i].stack);
        free(s->thread[i].pend);
        evprof__imap_free(&s->thread[i].pidx);
    }
    free(s->thread);
    evprof__imap_free(&s->idx[0]);
    evprof__imap_free(&s->idx[1]);
    free(s->stat);
    free(s);
}

/* ---- rows ------------------------------------------------------------- */

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
    size_t i, j, n = 0;

    for (i = 0; i < s->nstat; i++) {
        stat_entry *e = &s->stat[i];

        evprof__names_desc(names, e->key, e->builtin, &e->d);
        e->incl += e->incl_c * s->t_min;
        e->excl += e->excl_c * s->t_min;
    }
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
}

static void write_tsv(FILE *f, const stat_entry *row, size_t n)
{
    size_t i;

    fputs("name\tmod\tlineno\tbuiltin\tcalls\tinclusive_ns\texclusive_ns"
          "\tallocations\tbytes_allocated\tbytes_net\n", f);
    for (i = 0; i < n; i++) {
        const stat_entry *r = &row[i];

        tsv_str(f, r->d.name);
        putc('\t', f);
        tsv_str(f, r->d.mod);
        fprintf(f, "\t%" PRId64 "\t%d\t%" PRId64 "\t%" PRId64 "\t%" PRId64
                "\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\n", r->d.lineno,
                r->builtin, r->calls, r->incl, r->excl, r->allocs, r->bytes,
                r->net);
    }
}

static int summary_end(void *state, const evprof__sink_ctx *ctx)
{
    summary *s = state;
    evprof__names names;
    size_t i, j, n;
    int rc;

    /* Frames still open close at the last timestamp, innermost first. */
    for (i = 0; i < s->nthread; i++)
        while (s->thread[i].depth > 0)
            if ((rc = close_top(s, &s->thread[i], i, s->t_max)) < 0)
                return rc;
    for (i = 0; i < s->nthread; i++)
        for (j = 0; j < s->thread[i].pidx.cap; j++) {
            const struct evprof__islot *sl = &s->thread[i].pidx.slot[j];

            if (sl->used) {
                const pending *p = &s->thread[i].pend[sl->val];

                s->stat[sl->key].incl += p->v;
                s->stat[sl->key].incl_c += p->c;
            }
        }
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

const evprof__sink_ops evprof__sink_summary = {
    "summary", 0, begin_text, summary_events, summary_end, summary_free
};

const evprof__sink_ops evprof__sink_summary_tsv = {
    "summary-tsv", 0, begin_tsv, summary_events, summary_end, summary_free
};
