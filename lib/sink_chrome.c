/*
 * sink_chrome.c: Chrome Trace Event JSON, the events python/evprof/chrome.py
 * writes, written as the trace is read: one complete event (ph X) per call
 * when it closes, a "memory" counter (ph C) with the bytes in use, instant
 * markers (ph i) where the profiler started and stopped, and the track
 * metadata (ph M) at the end.  The order of the events differs from
 * Python's (which sorts slices by thread and start); viewers sort them.
 *
 * Times are microseconds with three decimals, exact to the ns, relative
 * to the first timestamp (otherData.t0_ns): no float rounds two events
 * out of order, so nesting survives.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sink-private.h"

typedef struct cframe {
    int64_t key, start;
    int builtin;
} cframe;

typedef struct cthread {
    cframe *stack;
    size_t depth, cap;
} cthread;

typedef struct chrome {
    const evprof__sink_ctx *ctx;
    FILE *f;
    evprof__names names;
    evprof__imap prefix_idx[2];   /* key -> prefix, per builtin */
    char **prefix;
    size_t nprefix, capprefix;
    cthread *thread;              /* by slot of the scan */
    int64_t t0, bytes, pend_t, pend_b;
    int have_pend, first;
} chrome;

static void us(FILE *f, int64_t ns)
{
    uint64_t a = ns < 0 ? -(uint64_t)ns : (uint64_t)ns;

    fprintf(f, "%s%" PRIu64 ".%03u", ns < 0 ? "-" : "", a / 1000,
            (unsigned)(a % 1000));
}

static void item(chrome *c)
{
    if (!c->first)
        fputs(",\n", c->f);
    c->first = 0;
}

/* '{"ph":"X","cat":...,"name":...,"args":{...},' of a function, made once. */
static const char *prefix_of(chrome *c, int64_t key, int builtin)
{
    int64_t i = evprof__imap_get(&c->prefix_idx[builtin], key);
    evprof__desc d;
    char *buf = NULL;
    size_t len = 0;
    FILE *m;

    if (i >= 0)
        return c->prefix[i];
    if (c->nprefix == c->capprefix) {
        size_t n = c->capprefix ? c->capprefix * 2 : 64;
        char **p = realloc(c->prefix, n * sizeof(*p));

        if (p == NULL)
            return NULL;
        c->prefix = p;
        c->capprefix = n;
    }
    evprof__names_desc(&c->names, key, builtin, &d);
    if ((m = open_memstream(&buf, &len)) == NULL)
        return NULL;
    fprintf(m, "{\"ph\":\"X\",\"cat\":\"%s\",\"name\":\"",
            builtin ? "builtin" : "python");
    evprof__json_str(m, d.name);
    fputs("\",\"args\":{\"module\": \"", m);
    evprof__json_str(m, d.mod);
    putc('"', m);
    if (d.lineno >= 0)
        fprintf(m, ", \"line\": %" PRId64, d.lineno);
    fputs("},", m);
    if (fclose(m) != 0 || buf == NULL) {
        free(buf);
        return NULL;
    }
    if (evprof__imap_put(&c->prefix_idx[builtin], key,
                         (uint32_t)c->nprefix) < 0) {
        free(buf);
        return NULL;
    }
    c->prefix[c->nprefix++] = buf;
    return buf;
}

static int push(cthread *t, int64_t key, int builtin, int64_t start)
{
    if (t->depth == t->cap) {
        size_t n = t->cap ? t->cap * 2 : 64;
        cframe *p = realloc(t->stack, n * sizeof(*p));

        if (p == NULL)
            return -ENOMEM;
        t->stack = p;
        t->cap = n;
    }
    t->stack[t->depth].key = key;
    t->stack[t->depth].builtin = builtin;
    t->stack[t->depth++].start = start;
    return 0;
}

static int slice(chrome *c, int track, const cframe *fr, int64_t end)
{
    const char *p = prefix_of(c, fr->key, fr->builtin);

    if (p == NULL)
        return -ENOMEM;
    item(c);
    fputs(p, c->f);
    fprintf(c->f, "\"pid\":%" PRId64 ",\"tid\":%d,\"ts\":", c->ctx->pid,
            track);
    us(c->f, fr->start - c->t0);
    fputs(",\"dur\":", c->f);
    us(c->f, end - fr->start);
    putc('}', c->f);
    return 0;
}

static void counter(chrome *c)
{
    item(c);
    fprintf(c->f, "{\"ph\":\"C\",\"name\":\"memory\",\"pid\":%" PRId64
            ",\"tid\":0,\"ts\":", c->ctx->pid);
    us(c->f, c->pend_t - c->t0);
    fprintf(c->f, ",\"args\":{\"bytes in use\":%" PRId64 "}}", c->pend_b);
}

static void chrome_free(void *state)
{
    chrome *c = state;
    size_t i;

    if (c->thread != NULL)
        for (i = 0; i <= c->ctx->scan->nthreads; i++)
            free(c->thread[i].stack);
    free(c->thread);
    for (i = 0; i < c->nprefix; i++)
        free(c->prefix[i]);
    free(c->prefix);
    evprof__imap_free(&c->prefix_idx[0]);
    evprof__imap_free(&c->prefix_idx[1]);
    evprof__names_free(&c->names);
    free(c);
}

static int chrome_begin(void **state, const evprof__sink_ctx *ctx)
{
    const evprof__scan *s = ctx->scan;
    chrome *c = calloc(1, sizeof(*c));
    size_t i, j;
    int rc;

    if (c == NULL)
        return -ENOMEM;
    c->ctx = ctx;
    c->f = ctx->out;
    c->t0 = s->t_min;
    c->first = 1;
    *state = c;
    if ((rc = evprof__names_init(&c->names, ctx->r)) < 0)
        return rc;
    if ((c->thread = calloc(s->nthreads + 1, sizeof(*c->thread))) == NULL)
        return -ENOMEM;
    /* Frames open when the recording started, outermost first. */
    for (i = 0; i <= s->nthreads; i++)
        for (j = s->thread[i].nearly; j-- > 0;)
            if ((rc = push(&c->thread[i], s->thread[i].early[j].key,
                           s->thread[i].early[j].builtin, s->t_min)) < 0)
                return rc;
    fprintf(c->f, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"producer\": "
            "\"evprof\", \"t0_ns\": %" PRId64 ", \"version\": 1},"
            "\"traceEvents\":[\n", c->t0);
    return 0;
}

static const char *marker(int64_t code)
{
    return code == EVPROF_PROFILER_START ? "profiler start"
           : code == EVPROF_PROFILER_SORT ? "profiler stop" : NULL;
}

static int chrome_events(void *state, const evprof_event *ev,
                         const uint32_t *thread, size_t n)
{
    chrome *c = state;
    const evprof__scan *s = c->ctx->scan;
    size_t i;
    int rc;

    for (i = 0; i < n; i++) {
        const evprof_event *e = &ev[i];
        size_t slot = evprof__slot(s, thread[i]);
        cthread *t = &c->thread[slot];
        const char *mark;

        if (evprof__is_open(e->event)) {
            if ((rc = push(t, e->id_frame, evprof__is_builtin(e->event),
                           e->time)) < 0)
                return rc;
        } else if (evprof__is_close(e->event) && t->depth > 0) {
            t->depth--;
            if ((rc = slice(c, s->thread[slot].order, &t->stack[t->depth],
                            e->time)) < 0)
                return rc;
        } else if (evprof__is_memory(e->event)) {
            /* The last value at each timestamp. */
            if (c->have_pend && e->time != c->pend_t)
                counter(c);
            c->bytes += e->value2;
            c->pend_t = e->time;
            c->pend_b = c->bytes;
            c->have_pend = 1;
        } else if ((mark = marker(e->event)) != NULL) {
            item(c);
            fprintf(c->f, "{\"ph\": \"i\", \"s\": \"t\", \"name\": \"%s\", "
                    "\"cat\": \"evprof\", \"pid\": %" PRId64 ", \"tid\": %d,"
                    "\"ts\":", mark, c->ctx->pid, s->thread[slot].order);
            us(c->f, e->time - c->t0);
            putc('}', c->f);
        }
    }
    return ferror(c->f) ? -EIO : 0;
}

static void meta(chrome *c, const char *what, int tid, const char *name,
                 int sort_index)
{
    item(c);
    fprintf(c->f, "{\"ph\": \"M\", \"name\": \"%s\", \"pid\": %" PRId64
            ", \"tid\": %d, \"args\": {", what, c->ctx->pid, tid);
    if (name != NULL) {
        fputs("\"name\": \"", c->f);
        evprof__json_str(c->f, name);
        fputs("\"}}", c->f);
    } else
        fprintf(c->f, "\"sort_index\": %d}}", sort_index);
}

static int chrome_end(void *state, const evprof__sink_ctx *ctx)
{
    chrome *c = state;
    const evprof__scan *s = ctx->scan;
    size_t i;
    int track, rc;

    for (i = 0; i <= s->nthreads; i++)
        while (c->thread[i].depth > 0) {
            cthread *t = &c->thread[i];

            t->depth--;
            if ((rc = slice(c, s->thread[i].order, &t->stack[t->depth],
                            s->t_max)) < 0)
                return rc;
        }
    if (c->have_pend)
        counter(c);
    meta(c, "process_name", 0, ctx->process_name, 0);
    for (track = 1; track <= s->ntracks; track++)
        for (i = 0; i <= s->nthreads; i++) {
            char buf[40];
            const char *name;

            if (s->thread[i].order != track)
                continue;
            name = evprof__thread_label(ctx->r, i, s->ntracks, buf,
                                        sizeof(buf));
            meta(c, "thread_name", track, name, 0);
            meta(c, "thread_sort_index", track, NULL, track);
        }
    fputs("\n]}\n", c->f);
    return ferror(c->f) ? -EIO : 0;
}

const evprof__sink_ops evprof__sink_chrome = {
    "chrome", EVPROF__SINK_SCAN, chrome_begin, chrome_events, chrome_end,
    chrome_free
};
