/*
 * sink_chrome.c: Chrome Trace Event JSON, for ui.perfetto.dev and
 * chrome://tracing, written as the trace is read: one complete event
 * (ph X) per call when it closes, a counter (ph C) of the bytes in use,
 * instant markers (ph i) where the profiler started and stopped, and the
 * track metadata (ph M) at the end.  Slices come in the order they close;
 * viewers sort them.
 *
 * Times are in microseconds with three decimals from an origin written
 * once in the header, otherData.t0_ns (ns on the trace's clock): exact to
 * the ns (no float rounds a child out of its parent; ts * 1000 + t0_ns is
 * the trace's time), a few digits shorter than the trace's own.  The
 * origin is known before the first record: the earlier of the file's
 * creation (its header) and of its first event (head()), no later than
 * any event in the files this library writes, so no "ts" is negative
 * (trace_processor drops such events); a time before it is negative,
 * exact all the same.  Every state is a thread's own, so a file
 * of one thread a section (META order = thread) gives the events of the
 * time-ordered file (from the same origin when the file was made before
 * its events, as a stream makes it): a track per thread of the THREADS
 * table (tid = its index + 1: threads whose ident was reused stay apart,
 * each named as sink_threads.c says), frames open before a thread's
 * first event start at that event, frames left open end at its last
 * one, and the bytes in use are counted per thread (what the
 * thread allocated minus what it freed: one counter, "memory", in a trace
 * of one thread).  The names come from the tables, read before the events
 * (EVPROF__SINK_TABLES); every number is formatted by hand.
 *
 * A record is written from ready bytes: the leading part of a function's
 * slices (ph, cat, name, pid, "tid": escaped once, padded so that it is
 * copied in fixed-size moves), its thread's tid and "ts", then the two
 * times, formatted by hand (no printf, no memcpy of a variable length).
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "grow-private.h"
#include "sink-private.h"
#include "sink_out.h"

typedef struct cframe {
    int64_t start;
    uint32_t prefix;    /* index in chrome.prefix */
} cframe;

typedef struct cthread {
    cframe *stack;
    size_t depth, cap;
    int64_t first, last, bytes, pend_t;
    int seen, have_pend;
    char *cprefix;      /* '{"ph":"C","name":...,"ts":' of its counter */
    size_t cprefixlen;
    char tid[32];       /* 'N,"ts":', copied as 32 bytes */
    size_t tidlen;
} cthread;

/* A prefix is padded to whole chunks of this (the copy of a record). */
#define PFX_CHUNK 32

typedef struct pfx {
    char *s;            /* n bytes, then at least PFX_CHUNK of padding */
    size_t n;
} pfx;

typedef struct chrome {
    const evprof__sink_ctx *ctx;
    evprof__out o;
    evprof__names names;
    evprof__imap prefix_idx[2];   /* key -> prefix, per builtin */
    pfx *prefix;
    size_t nprefix, capprefix;
    int64_t last_key;             /* the last key looked up, and its */
    int last_builtin;             /* prefix: recursion asks again */
    uint32_t last_prefix;
    cthread *thread;              /* by slot */
    size_t nslots;
    evprof__us_cache us;
    char **label;                 /* the name of each slot's track */
    int64_t t0;                   /* the origin of "ts" */
    int have_t0;                  /* t0 known, the header written */
} chrome;

/* Text of any length (a prefix holds names, which may be long). */
static char *put_text(evprof__out *o, char *p, const char *s, size_t n)
{
    if (n <= EVPROF__OUT_SLACK / 2)
        return evprof__put(p, s, n);
    evprof__out_done(o, p);
    evprof__out_write(o, s, n);
    return evprof__out_room(o);
}

/* A prefix, in whole chunks: what goes past its end lies in the slack
 * and is overwritten by the fields after it. */
static inline char *put_prefix(evprof__out *o, char *p, const pfx *x)
{
    const char *s = x->s, *end = s + x->n;
    char *d = p;

    if (x->n > EVPROF__OUT_SLACK / 2)
        return put_text(o, p, x->s, x->n);
    do {
        memcpy(d, s, PFX_CHUNK);
        d += PFX_CHUNK;
        s += PFX_CHUNK;
    } while (s < end);
    return p + x->n;
}

/* Where a function is, as its slices' category: FILE:LINE for Python
 * (and native) functions, the module of a builtin, else "builtin". */
static void put_where(FILE *m, const evprof__desc *d, int builtin)
{
    if (d->mod[0] == '\0') {
        fputs(builtin ? "builtin" : "python", m);
        return;
    }
    evprof__json_str(m, d->mod);
    if (d->lineno >= 0)
        fprintf(m, ":%" PRId64, d->lineno);
}

/* '{"ph":"X","cat":WHERE,"name":NAME,"pid":P,"tid":', made once a
 * function.  No args: viewers that key frames by name and args
 * (speedscope) then label a slice with its function's name alone, and
 * where it is shows as the category in the details of the others.  -1
 * when out of memory. */
static int64_t make_prefix(chrome *c, int64_t key, int builtin)
{
    static const char pad[PFX_CHUNK];
    evprof__desc d;
    char *buf = NULL;
    size_t len = 0;
    FILE *m;

    if (evprof__grow(&c->prefix, &c->capprefix, c->nprefix + 1,
                     sizeof(*c->prefix), 64) < 0)
        return -1;
    evprof__names_desc(&c->names, key, builtin, &d);
    if ((m = open_memstream(&buf, &len)) == NULL)
        return -1;
    fputs("{\"ph\":\"X\",\"cat\":\"", m);
    put_where(m, &d, builtin);
    fputs("\",\"name\":\"", m);
    evprof__json_str(m, d.name);
    fprintf(m, "\",\"pid\":%" PRId64 ",\"tid\":", c->ctx->pid);
    fwrite(pad, 1, sizeof(pad), m);
    if (fclose(m) != 0 || buf == NULL || len < sizeof(pad)) {
        free(buf);
        return -1;
    }
    if (evprof__imap_put(&c->prefix_idx[builtin], key,
                         (uint32_t)c->nprefix) < 0) {
        free(buf);
        return -1;
    }
    c->prefix[c->nprefix].s = buf;
    c->prefix[c->nprefix].n = len - sizeof(pad);
    return (int64_t)c->nprefix++;
}

static int64_t prefix_of(chrome *c, int64_t key, int builtin)
{
    int64_t i;

    if (key == c->last_key && builtin == c->last_builtin)
        return c->last_prefix;
    if ((i = evprof__imap_get(&c->prefix_idx[builtin], key)) < 0
        && (i = make_prefix(c, key, builtin)) < 0)
        return -1;
    c->last_key = key;
    c->last_builtin = builtin;
    c->last_prefix = (uint32_t)i;
    return i;
}

static inline int push(cthread *t, uint32_t prefix, int64_t start)
{
    if (t->depth == t->cap
        && evprof__grow(&t->stack, &t->cap, t->depth + 1,
                        sizeof(*t->stack), 64) < 0)
        return -ENOMEM;
    t->stack[t->depth].prefix = prefix;
    t->stack[t->depth++].start = start;
    return 0;
}

/* A duration, end - start of any two int64: most are under a
 * microsecond, or under a millisecond. */
static inline char *put_dur(char *p, int64_t start, int64_t end)
{
    uint64_t ns = (uint64_t)end - (uint64_t)start;

    if (__builtin_expect(end < start, 0)) {
        *p++ = '-';
        return evprof__put_us_u(p, (uint64_t)start - (uint64_t)end);
    }
    if (ns < 1000) {
        memcpy(p, "0.", 2);
        return evprof__put_3(p + 2, (unsigned)ns);
    }
    if (ns < 1000000) {
        unsigned us = (unsigned)ns / 1000;

        p = evprof__put_1to3(p, us);
        *p = '.';
        return evprof__put_3(p + 1, (unsigned)ns - us * 1000);
    }
    return evprof__put_us_u(p, ns);
}

/* The literals of a record end with a NUL that the next field writes
 * over: whole 8- and 4-byte stores. */
static inline __attribute__((always_inline)) void
slice(chrome *c, const cthread *t, uint32_t prefix, int64_t start,
      int64_t end)
{
    char *p = evprof__out_room(&c->o);

    p = put_prefix(&c->o, p, &c->prefix[prefix]);
    memcpy(p, t->tid, sizeof(t->tid));
    p = evprof__put_ts(p + t->tidlen, start, c->t0, &c->us);
    memcpy(p, ",\"dur\":", 8);
    p = put_dur(p + 7, start, end);
    memcpy(p, "},\n", 4);
    evprof__out_done(&c->o, p + 3);
}

static void counter(chrome *c, cthread *t)
{
    char *p = evprof__out_room(&c->o);

    p = put_text(&c->o, p, t->cprefix, t->cprefixlen);
    p = evprof__put_ts(p, t->pend_t, c->t0, &c->us);
    p = EVPROF__PUTS(p, ",\"args\":{\"bytes in use\":");
    p = evprof__put_i64(p, t->bytes);
    p = EVPROF__PUTS(p, "}},\n");
    evprof__out_done(&c->o, p);
    t->have_pend = 0;
}

static void chrome_free(void *state)
{
    chrome *c = state;
    size_t i;

    for (i = 0; c->thread != NULL && i < c->nslots; i++) {
        free(c->thread[i].stack);
        free(c->thread[i].cprefix);
    }
    free(c->thread);
    evprof__thread_labels_free(c->label, c->nslots);
    for (i = 0; i < c->nprefix; i++)
        free(c->prefix[i].s);
    free(c->prefix);
    evprof__imap_free(&c->prefix_idx[0]);
    evprof__imap_free(&c->prefix_idx[1]);
    evprof__names_free(&c->names);
    evprof__out_free(&c->o);
    free(c);
}

/* The counter of slot i: "memory" alone, "memory (LABEL)" among threads. */
static int counter_prefix(chrome *c, size_t i)
{
    char *s = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&s, &len);

    if (m == NULL)
        return -ENOMEM;
    fputs("{\"ph\":\"C\",\"name\":\"memory", m);
    if (c->nslots > 1) {
        fputs(" (", m);
        evprof__json_str(m, c->label[i]);
        putc(')', m);
    }
    fprintf(m, "\",\"pid\":%" PRId64 ",\"ts\":", c->ctx->pid);
    if (fclose(m) != 0 || s == NULL) {
        free(s);
        return -ENOMEM;
    }
    c->thread[i].cprefix = s;
    c->thread[i].cprefixlen = len;
    return 0;
}

/* The header, once the origin of the times is known: the earlier of the
 * file's creation (its header's clock, on the events' time base) and of
 * its first event.  A stream makes its file before its first event; a
 * saved buffer's first event is its earliest: either way no time is
 * before the origin, which viewers need (trace_processor drops events
 * of negative ts).  Another order would give negative times, exact all
 * the same. */
static void head(chrome *c, int have_first, int64_t first)
{
    static const char a[] = "{\"displayTimeUnit\":\"ns\",\"otherData\":"
                            "{\"producer\":\"evprof\",\"t0_ns\":";
    static const char b[] = ",\"version\":3},\"traceEvents\":[\n";
    int64_t made = evprof_trace_reader_info(c->ctx->r)->created_clock_ns;
    char *p;

    c->t0 = made > 0 ? made : 0;
    if (have_first && (made <= 0 || first < made))
        c->t0 = first;
    c->have_t0 = 1;
    p = evprof__out_room(&c->o);
    p = EVPROF__PUTS(p, a);
    p = evprof__put_i64(p, c->t0);
    p = EVPROF__PUTS(p, b);
    evprof__out_done(&c->o, p);
}

static int chrome_begin(void **state, const evprof__sink_ctx *ctx)
{
    chrome *c = calloc(1, sizeof(*c));
    size_t i;
    int rc;

    if (c == NULL)
        return -ENOMEM;
    c->ctx = ctx;
    c->last_builtin = -1; /* no key looked up yet */
    *state = c;
    if ((rc = evprof__out_init(&c->o, ctx->out)) < 0)
        return rc;
    if ((rc = evprof__names_init(&c->names, ctx->r)) < 0)
        return rc;
    c->nslots = evprof__nslots(ctx->r);
    if ((c->thread = calloc(c->nslots, sizeof(*c->thread))) == NULL)
        return -ENOMEM;
    if ((rc = evprof__thread_labels(ctx->r, &c->label)) < 0)
        return rc;
    for (i = 0; i < c->nslots; i++) {
        cthread *t = &c->thread[i];
        char *p = evprof__put_u64(t->tid, (uint64_t)i + 1);

        p = EVPROF__PUTS(p, ",\"ts\":");
        t->tidlen = (size_t)(p - t->tid);
        if ((rc = counter_prefix(c, i)) < 0)
            return rc;
    }
    return 0;
}

static void marker(chrome *c, const cthread *t, const char *what,
                   int64_t time)
{
    char *p = evprof__out_room(&c->o);

    p = EVPROF__PUTS(p, "{\"ph\":\"i\",\"s\":\"t\",\"name\":\"profiler ");
    p = evprof__put(p, what, strlen(what));
    p = EVPROF__PUTS(p, "\",\"cat\":\"evprof\",\"pid\":");
    p = evprof__put_i64(p, c->ctx->pid);
    p = EVPROF__PUTS(p, ",\"tid\":");
    p = evprof__put(p, t->tid, t->tidlen);
    p = evprof__put_ts(p, time, c->t0, &c->us);
    p = EVPROF__PUTS(p, "},\n");
    evprof__out_done(&c->o, p);
}

/* An event other than the call of a Python function whose prefix is the
 * last one looked up, and than the return of an open frame. */
static int other(chrome *c, cthread *t, const evprof_event *e)
{
    int64_t code = e->event;

    if (evprof__is_open(code)) {
        int64_t x = prefix_of(c, e->id_frame, code == EVPROF_C_CALL);

        if (x < 0 || push(t, (uint32_t)x, e->time) < 0)
            return -ENOMEM;
    } else if (evprof__is_close(code)) {
        if (t->depth > 0) {
            const cframe *f = &t->stack[--t->depth];

            slice(c, t, f->prefix, f->start, e->time);
        } else { /* open before the thread's first event */
            int64_t x = prefix_of(c, e->id_frame, evprof__is_builtin(code));

            if (x < 0)
                return -ENOMEM;
            slice(c, t, (uint32_t)x, t->first, e->time);
        }
    } else if (evprof__is_memory(code)) {
        /* The last value at each timestamp. */
        if (t->have_pend && e->time != t->pend_t)
            counter(c, t);
        t->bytes += e->value2;
        t->pend_t = e->time;
        t->have_pend = 1;
    } else if (code == EVPROF_PROFILER_START)
        marker(c, t, "start", e->time);
    else if (code == EVPROF_PROFILER_SORT)
        marker(c, t, "stop", e->time);
    return 0;
}

/* The two events of nearly every call, a Python call (recursion and
 * loops call the function looked up last) and a return, are handled
 * inline; the rest in other(). */
static int chrome_events(void *state, const evprof_event *ev,
                         const uint32_t *thread, size_t n)
{
    chrome *c = state;
    cthread *t = NULL;
    uint32_t at = 0;
    size_t i;

    if (!c->have_t0 && n > 0)
        head(c, 1, ev[0].time);
    for (i = 0; i < n; i++) {
        const evprof_event *e = &ev[i];

        /* A thread's first event comes after another thread's, or
         * first in its block. */
        if (thread[i] != at || i == 0) {
            at = thread[i];
            t = &c->thread[evprof__slot(c->nslots, at)];
            if (!t->seen) {
                t->seen = 1;
                t->first = e->time;
            }
        }
        t->last = e->time;
        if (e->event == EVPROF_CALL && e->id_frame == c->last_key
            && c->last_builtin == 0 && t->depth < t->cap) {
            t->stack[t->depth].prefix = c->last_prefix;
            t->stack[t->depth++].start = e->time;
        } else if (e->event == EVPROF_RETURN && t->depth > 0) {
            const cframe *f = &t->stack[--t->depth];

            slice(c, t, f->prefix, f->start, e->time);
        } else if (other(c, t, e) < 0)
            return -ENOMEM;
    }
    return c->o.error;
}

static void meta(FILE *f, int64_t pid, const char *what, size_t tid,
                 const char *name, size_t sort_index)
{
    fprintf(f, ",\n{\"ph\":\"M\",\"name\":\"%s\",\"pid\":%" PRId64
            ",\"tid\":%zu,\"args\":{", what, pid, tid);
    if (name != NULL) {
        fputs("\"name\":\"", f);
        evprof__json_str(f, name);
        fputs("\"}}", f);
    } else
        fprintf(f, "\"sort_index\":%zu}}", sort_index);
}

static int chrome_end(void *state, const evprof__sink_ctx *ctx)
{
    chrome *c = state;
    size_t i;
    int rc;

    if (!c->have_t0)
        head(c, 0, 0);
    for (i = 0; i < c->nslots; i++) {
        cthread *t = &c->thread[i];

        while (t->depth > 0) {
            const cframe *f = &t->stack[--t->depth];

            slice(c, t, f->prefix, f->start, t->last);
        }
        if (t->have_pend)
            counter(c, t);
    }
    if ((rc = evprof__out_flush(&c->o)) < 0)
        return rc;
    /* The metadata last: the one item without a comma after it. */
    fprintf(ctx->out, "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%"
            PRId64 ",\"tid\":0,\"args\":{\"name\":\"", ctx->pid);
    evprof__json_str(ctx->out, ctx->process_name);
    fputs("\"}}", ctx->out);
    for (i = 0; i < c->nslots; i++) {
        if (!c->thread[i].seen)
            continue;
        meta(ctx->out, ctx->pid, "thread_name", i + 1, c->label[i], 0);
        meta(ctx->out, ctx->pid, "thread_sort_index", i + 1, NULL, i + 1);
    }
    fputs("\n]}\n", ctx->out);
    return ferror(ctx->out) ? -EIO : 0;
}

const evprof__sink_ops evprof__sink_chrome = {
    "chrome", EVPROF__SINK_TABLES, chrome_begin, chrome_events, chrome_end,
    chrome_free
};
