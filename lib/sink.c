/*
 * sink.c: the driver of the sinks.  It opens the trace reader, reads the
 * events a block at a time and hands each block to the sink, then lets it
 * finish.  A sink that must know the names, the time range and the frames
 * open at the start before it writes anything (the Chrome and Perfetto
 * outputs name every slice as it goes, the names come after the events in
 * the file) asks for a first pass: the driver reads the file once for
 * that, and again for the events.  Either way, what is held is one block
 * of events, the tables and what the sink keeps.
 *
 * A new sink is a file defining an evprof__sink_ops and one line below.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sink-private.h"

static const evprof__sink_ops *const sinks[] = {
    &evprof__sink_summary,
    &evprof__sink_summary_tsv,
    &evprof__sink_chrome,
    &evprof__sink_perfetto,
};

#define NSINKS (sizeof(sinks) / sizeof(sinks[0]))
#define DEFAULT_BLOCK 65536
/* A block of events is at most this many (3 MiB of events). */
#define MAX_BLOCK (1 << 16)

void evprof_sink_options_init(evprof_sink_options *opt)
{
    if (opt == NULL)
        return;
    memset(opt, 0, sizeof(*opt));
    opt->sort = EVPROF_SORT_INCLUSIVE;
    opt->limit = 30;
    opt->block = DEFAULT_BLOCK;
}

int evprof_sink_sort_key(const char *name)
{
    static const char *const keys[] = { "inclusive", "exclusive", "calls",
                                        "bytes", "net", "name" };
    size_t i;

    for (i = 0; name != NULL && i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(name, keys[i]) == 0)
            return (int)i;
    return -EINVAL;
}

const char *evprof_sink_name(size_t index)
{
    return index < NSINKS ? sinks[index]->name : NULL;
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", msg);
}

static int reader_fail(evprof_trace_reader *r, int rc, char *err,
                       size_t errlen)
{
    const char *msg = r ? evprof_trace_reader_error(r) : "";

    set_err(err, errlen, msg && msg[0] ? msg : evprof_strerror(rc));
    return rc;
}

/* ---- the first pass ------------------------------------------------------- */

static void scan_free(evprof__scan *s)
{
    size_t i;

    if (s->thread != NULL)
        for (i = 0; i <= s->nthreads; i++)
            free(s->thread[i].early);
    free(s->thread);
}

/* The per-thread part; grows with the THREADS table, which is known only
 * once the file is read (slot nthreads holds the events without one). */
static evprof__scan_thread *scan_thread(evprof__scan_thread **t, size_t *cap,
                                        uint32_t index)
{
    size_t want = index == EVPROF__NO_THREAD ? 0 : (size_t)index + 1;

    if (want >= *cap) {
        size_t n = want + 16;
        evprof__scan_thread *p = realloc(*t, n * sizeof(*p));

        if (p == NULL)
            return NULL;
        memset(p + *cap, 0, (n - *cap) * sizeof(*p));
        *t = p;
        *cap = n;
    }
    /* Index 0 of the growing array is "no thread"; moved in scan_run. */
    return &(*t)[index == EVPROF__NO_THREAD ? 0 : (size_t)index + 1];
}

static int scan_run(evprof_trace_reader *r, evprof__scan *s,
                    evprof_event *ev, uint32_t *th, size_t block)
{
    evprof__scan_thread *t = NULL, *tt;
    size_t cap = 0, i, nth;
    int64_t n;
    uint64_t pos = 0;

    memset(s, 0, sizeof(*s));
    while ((n = evprof_trace_read_events(r, ev, th, block)) > 0) {
        for (i = 0; i < (size_t)n; i++, pos++) {
            const evprof_event *e = &ev[i];

            if ((tt = scan_thread(&t, &cap, th[i])) == NULL)
                goto nomem;
            if (s->events == 0 || e->time < s->t_min)
                s->t_min = e->time;
            if (s->events == 0 || e->time > s->t_max)
                s->t_max = e->time;
            s->events++;
            if (!tt->seen) {
                tt->seen = 1;
                tt->first = pos;
            }
            if (evprof__is_open(e->event))
                tt->depth++;
            else if (evprof__is_close(e->event)) {
                if (tt->depth > 0) {
                    tt->depth--;
                    continue;
                }
                if (tt->nearly == tt->capearly) {
                    size_t c = tt->capearly ? tt->capearly * 2 : 8;
                    evprof__early *p = realloc(tt->early, c * sizeof(*p));

                    if (p == NULL)
                        goto nomem;
                    tt->early = p;
                    tt->capearly = c;
                }
                tt->early[tt->nearly].key = e->id_frame;
                tt->early[tt->nearly++].builtin =
                    evprof__is_builtin(e->event);
            }
        }
    }
    if (n < 0) {
        if (t != NULL)
            for (i = 0; i < cap; i++)
                free(t[i].early);
        free(t);
        return (int)n;
    }
    /* Slots by thread index, then "none" (which Python gives the first
     * thread: it is folded into slot 0 when there is a table). */
    nth = evprof_trace_reader_thread_count(r);
    s->nthreads = nth;
    s->thread = calloc(nth + 1, sizeof(*s->thread));
    if (s->thread == NULL)
        goto nomem;
    for (i = 0; i < cap; i++) {
        size_t slot = i == 0 ? nth : i - 1;

        if (slot > nth) { /* refused by the reader; never here */
            free(t[i].early);
            continue;
        }
        s->thread[slot] = t[i];
    }
    free(t);
    /* Tracks numbered from 1 by first event, as Python does. */
    for (;;) {
        evprof__scan_thread *best = NULL;

        for (i = 0; i <= nth; i++)
            if (s->thread[i].seen && s->thread[i].order == 0
                && (best == NULL || s->thread[i].first < best->first))
                best = &s->thread[i];
        if (best == NULL)
            break;
        best->order = ++s->ntracks;
    }
    return 0;
nomem:
    if (t != NULL)
        for (i = 0; i < cap; i++)
            free(t[i].early);
    free(t);
    return -ENOMEM;
}

/* ---- the run ---------------------------------------------------------- */

static const evprof__sink_ops *find_sink(const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < NSINKS; i++)
        if (strcmp(sinks[i]->name, name) == 0)
            return sinks[i];
    return NULL;
}

static int open_reader(const char *path, evprof_trace_reader **r, char *err,
                       size_t errlen)
{
    int rc = evprof_trace_reader_open(path, r);

    if (rc < 0) {
        reader_fail(*r, rc, err, errlen);
        evprof_trace_reader_close(*r);
        *r = NULL;
    }
    return rc;
}

int evprof_sink_run(const char *trace_path, const char *sink, FILE *out,
                    const evprof_sink_options *opt, char *err, size_t errlen)
{
    const evprof__sink_ops *ops = find_sink(sink);
    evprof_sink_options defaults;
    evprof__sink_ctx ctx;
    evprof__scan scan;
    evprof_trace_reader *r = NULL;
    evprof_event *ev = NULL;
    uint32_t *th = NULL;
    void *state = NULL;
    size_t block;
    int64_t n;
    int rc, have_scan = 0;

    set_err(err, errlen, "");
    if (trace_path == NULL || out == NULL) {
        set_err(err, errlen, evprof_strerror(-EINVAL));
        return -EINVAL;
    }
    if (ops == NULL) {
        set_err(err, errlen, "no such sink");
        return -ENOENT;
    }
    if (opt == NULL) {
        evprof_sink_options_init(&defaults);
        opt = &defaults;
    }
    block = opt->block == 0 ? DEFAULT_BLOCK
            : opt->block > MAX_BLOCK ? MAX_BLOCK : opt->block;
    ev = malloc(block * sizeof(*ev));
    th = malloc(block * sizeof(*th));
    if (ev == NULL || th == NULL) {
        rc = -ENOMEM;
        set_err(err, errlen, evprof_strerror(rc));
        goto done;
    }
    memset(&ctx, 0, sizeof(ctx));
    if ((rc = open_reader(trace_path, &r, err, errlen)) < 0)
        goto done;
    if (ops->flags & EVPROF__SINK_SCAN) {
        if ((rc = scan_run(r, &scan, ev, th, block)) < 0) {
            reader_fail(r, rc, err, errlen);
            goto done;
        }
        have_scan = 1;
        ctx.scan = &scan;
    }
    ctx.r = r;
    ctx.out = out;
    ctx.opt = opt;
    ctx.pid = opt->pid ? opt->pid : evprof_trace_reader_info(r)->pid;
    ctx.process_name = opt->process_name;
    if (ctx.process_name == NULL)
        ctx.process_name = evprof_trace_reader_meta(r, "program");
    if (ctx.process_name == NULL)
        ctx.process_name = "evprof";
    if (have_scan) {
        /* The events again, from a reader of their own; the tables of the
         * first one stay valid for the sink. */
        evprof_trace_reader *r2 = NULL;

        if ((rc = open_reader(trace_path, &r2, err, errlen)) < 0)
            goto done;
        if ((rc = ops->begin(&state, &ctx)) == 0) {
            while ((n = evprof_trace_read_events(r2, ev, th, block)) > 0)
                if ((rc = ops->events(state, ev, th, (size_t)n)) < 0)
                    break;
            if (rc == 0 && n < 0)
                rc = reader_fail(r2, (int)n, err, errlen);
        }
        evprof_trace_reader_close(r2);
    } else if ((rc = ops->begin(&state, &ctx)) == 0) {
        while ((n = evprof_trace_read_events(r, ev, th, block)) > 0)
            if ((rc = ops->events(state, ev, th, (size_t)n)) < 0)
                break;
        if (rc == 0 && n < 0)
            rc = reader_fail(r, (int)n, err, errlen);
    }
    if (rc == 0)
        rc = ops->end(state, &ctx);
    if (rc == 0 && (fflush(out) != 0 || ferror(out)))
        rc = -EIO;
    if (rc == 0 && opt->stats != NULL) {
        opt->stats->events = evprof_trace_reader_events(r);
        opt->stats->lost = evprof_trace_reader_lost(r);
        opt->stats->threads = evprof_trace_reader_thread_count(r);
        opt->stats->clock = evprof_trace_reader_info(r)->clock;
        opt->stats->pid = evprof_trace_reader_info(r)->pid;
    }
    if (rc < 0 && err != NULL && errlen > 0 && err[0] == '\0')
        set_err(err, errlen, evprof_strerror(rc));
done:
    if (state != NULL)
        ops->free(state);
    if (have_scan)
        scan_free(&scan);
    evprof_trace_reader_close(r);
    free(ev);
    free(th);
    return rc;
}

int evprof_sink_run_path(const char *trace_path, const char *sink,
                         const char *out_path, const evprof_sink_options *opt,
                         char *err, size_t errlen)
{
    FILE *f;
    int rc;

    if (out_path == NULL) {
        set_err(err, errlen, evprof_strerror(-EINVAL));
        return -EINVAL;
    }
    if (find_sink(sink) == NULL) {
        set_err(err, errlen, "no such sink");
        return -ENOENT;
    }
    if ((f = fopen(out_path, "wb")) == NULL) {
        rc = -errno;
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: %s", out_path, evprof_strerror(rc));
        return rc;
    }
    rc = evprof_sink_run(trace_path, sink, f, opt, err, errlen);
    if (fclose(f) != 0 && rc == 0) {
        rc = errno ? -errno : -EIO;
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: %s", out_path, evprof_strerror(rc));
    }
    return rc;
}
