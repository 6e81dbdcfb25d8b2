/*
 * sink_summary.c: the per-function summary of python/evprof/summary.py,
 * in one pass: calls, inclusive and exclusive time, allocations, bytes
 * allocated (in all and by domain) and net, one row per (name, module,
 * first line), as text ("summary": format_summary's layout) or TSV
 * ("summary-tsv"), printed by sink_summary_print.c.
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
#include <stdlib.h>
#include <string.h>

#include "grow-private.h"
#include "sink-summary-private.h"

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
    if (evprof__grow(&s->stat, &s->capstat, s->nstat + 1,
                     sizeof(*s->stat), 64) < 0)
        return -ENOMEM;
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
    if (evprof__grow(&t->pend, &t->cappend, t->npend + 1,
                     sizeof(*t->pend), 16) < 0)
        return NULL;
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
    if (evprof__grow(&t->stack, &t->cap, t->depth + 1,
                     sizeof(*t->stack), 64) < 0)
        return -ENOMEM;
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
            s->stat[st].net += e->value2;
            if (e->value2 > 0) {
                uint64_t d = (uint64_t)e->id_arg;

                s->stat[st].allocs++;
                s->stat[st].bytes += e->value2;
                s->stat[st].dom[d < EVPROF_DOMAIN_COUNT
                                ? d : EVPROF_DOMAIN_COUNT] += e->value2;
            }
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

static int summary_end(void *state, const evprof__sink_ctx *ctx)
{
    summary *s = state;
    size_t i, j;
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
    return evprof__summary_print(s, ctx);
}

const evprof__sink_ops evprof__sink_summary = {
    "summary", 0, begin_text, summary_events, summary_end, summary_free
};

const evprof__sink_ops evprof__sink_summary_tsv = {
    "summary-tsv", 0, begin_tsv, summary_events, summary_end, summary_free
};
