/*
 * sink_perfetto.c: a Perfetto protobuf trace (.pftrace) of TrackEvents,
 * for ui.perfetto.dev and trace_processor.  Field numbers are those of
 * Perfetto's protos/perfetto/trace/perfetto_trace.proto; t/sinks.proto
 * holds the subset written here.
 *
 * Layout.  A process track, one thread track per thread (TrackDescriptor
 * with ThreadDescriptor pid/tid) and a "memory" counter track (bytes in
 * use).  Each thread writes on a packet sequence of its own, and the
 * counter on one more, so that TracePacketDefaults give every event its
 * track (no track_uuid an event) and timestamps are deltas from the
 * sequence's previous event: a sequence-scoped incremental clock (id 64)
 * anchored to CLOCK_MONOTONIC by a ClockSnapshot, re-anchored by another
 * snapshot if time ever goes back on a sequence.  Names are interned
 * (InternedData event_names, with a SourceLocation for file and line) the
 * first time a sequence uses them.  A call is a SLICE_BEGIN and its return
 * a SLICE_END, in the order of the trace; frames open when recording
 * started begin at the first timestamp, frames left open end at the last
 * one; profiler start/stop are instants on their thread's track.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sink-private.h"
#include "sink_pb.h"

/* TracePacket */
#define F_TIMESTAMP 8
#define F_SEQ_ID 10
#define F_TRACK_EVENT 11
#define F_INTERNED 12
#define F_SEQ_FLAGS 13
#define F_CLOCK_SNAPSHOT 6
#define F_DEFAULTS 59
#define F_TRACK_DESCRIPTOR 60
#define SEQ_CLEARED 1
#define SEQ_NEEDS_STATE 2
/* TracePacketDefaults */
#define D_CLOCK_ID 58
#define D_TRACK_EVENT 11
/* TrackEvent (and TrackEventDefaults.track_uuid) */
#define E_TYPE 9
#define E_NAME_IID 10
#define E_TRACK_UUID 11
#define E_COUNTER 30
#define E_SOURCE_IID 34
#define TYPE_BEGIN 1
#define TYPE_END 2
#define TYPE_INSTANT 3
#define TYPE_COUNTER 4
/* InternedData, EventName, SourceLocation */
#define I_EVENT_NAMES 2
#define I_SOURCE_LOCATIONS 4
/* ClockSnapshot and its Clock */
#define C_CLOCKS 1
#define C_PRIMARY 2
#define CLOCK_MONOTONIC_ID 3
#define CLOCK_SEQ 64
/* TrackDescriptor, ProcessDescriptor, ThreadDescriptor, CounterDescriptor */
#define T_UUID 1
#define T_NAME 2
#define T_PROCESS 3
#define T_THREAD 4
#define T_PARENT 5
#define T_COUNTER 8
#define UNIT_SIZE_BYTES 3

#define IID_START 1  /* marker names, then functions from IID_FIRST */
#define IID_STOP 2
#define IID_FIRST 3

typedef struct pname {
    evprof__desc d;
} pname;

typedef struct pseq {
    uint32_t id;
    int64_t last;          /* timestamp of the previous packet */
    uint8_t *interned;     /* bit per iid already sent on this sequence */
    size_t ninterned;      /* bytes */
    size_t depth;          /* slices begun and not ended */
} pseq;

typedef struct perfetto {
    const evprof__sink_ctx *ctx;
    FILE *f;
    evprof__names names;
    evprof__imap iid[2];   /* key -> iid, per builtin */
    pname *name;           /* by iid - IID_FIRST */
    size_t nname, capname;
    pseq *seq;             /* by slot of the scan, then the counter's */
    size_t nseq;
    evprof__pb pkt, ev, sub, sub2;
    int64_t bytes, pend_t, pend_b;
    int have_pend;
} perfetto;

static int put_packet(perfetto *p, evprof__pb *pkt)
{
    uint8_t head[11];
    size_t n = 1, v = pkt->n;
    int rc = 0;

    head[0] = (1 << 3) | EVPROF__PB_LEN; /* Trace.packet = 1 */
    for (; v >= 0x80; v >>= 7)
        head[n++] = (uint8_t)(v | 0x80);
    head[n++] = (uint8_t)v;
    if (pkt->oom)
        rc = -ENOMEM;
    else if (fwrite(head, 1, n, p->f) != n
             || fwrite(pkt->p, 1, pkt->n, p->f) != pkt->n)
        rc = -EIO;
    pkt->n = 0;
    return rc;
}

/* ClockSnapshot: the sequence's clock 64 is at `t` ns of CLOCK_MONOTONIC
 * (the clock of evprof traces, TSC ones being calibrated to it). */
static int snapshot(perfetto *p, pseq *s, int64_t t)
{
    evprof__pb *pk = &p->pkt, *cs = &p->sub, *c = &p->sub2;

    cs->n = 0;
    c->n = 0;
    evprof__pb_uint(c, 1, CLOCK_SEQ);
    evprof__pb_uint(c, 2, (uint64_t)t);
    evprof__pb_uint(c, 3, 1); /* is_incremental */
    evprof__pb_msg(cs, C_CLOCKS, c);
    c->n = 0;
    evprof__pb_uint(c, 1, CLOCK_MONOTONIC_ID);
    evprof__pb_uint(c, 2, (uint64_t)t);
    evprof__pb_msg(cs, C_CLOCKS, c);
    evprof__pb_uint(cs, C_PRIMARY, CLOCK_MONOTONIC_ID);
    evprof__pb_uint(pk, F_SEQ_ID, s->id);
    evprof__pb_msg(pk, F_CLOCK_SNAPSHOT, cs);
    s->last = t;
    return put_packet(p, pk);
}

/* First packets of a sequence: its defaults (clock, track), its clock. */
static int start_seq(perfetto *p, pseq *s, uint64_t track, int64_t t)
{
    evprof__pb *pk = &p->pkt, *d = &p->sub, *te = &p->sub2;
    int rc;

    d->n = 0;
    te->n = 0;
    evprof__pb_uint(te, E_TRACK_UUID, track);
    evprof__pb_uint(d, D_CLOCK_ID, CLOCK_SEQ);
    evprof__pb_msg(d, D_TRACK_EVENT, te);
    evprof__pb_uint(pk, F_SEQ_ID, s->id);
    evprof__pb_uint(pk, F_SEQ_FLAGS, SEQ_CLEARED);
    evprof__pb_msg(pk, F_DEFAULTS, d);
    if ((rc = put_packet(p, pk)) < 0)
        return rc;
    return snapshot(p, s, t);
}

static int descriptor(perfetto *p, uint64_t uuid, const char *name,
                      const evprof__pb *what, uint32_t field)
{
    evprof__pb *pk = &p->pkt, *td = &p->sub;

    td->n = 0;
    evprof__pb_uint(td, T_UUID, uuid);
    if (uuid != 1)
        evprof__pb_uint(td, T_PARENT, 1);
    if (name != NULL)
        evprof__pb_str(td, T_NAME, name);
    evprof__pb_msg(td, field, what);
    evprof__pb_msg(pk, F_TRACK_DESCRIPTOR, td);
    return put_packet(p, pk);
}

/* The iid of a function's name, made on first use. */
static int64_t iid_of(perfetto *p, int64_t key, int builtin)
{
    int64_t i = evprof__imap_get(&p->iid[builtin], key);

    if (i >= 0)
        return i;
    if (p->nname == p->capname) {
        size_t n = p->capname ? p->capname * 2 : 64;
        pname *q = realloc(p->name, n * sizeof(*q));

        if (q == NULL)
            return -ENOMEM;
        p->name = q;
        p->capname = n;
    }
    evprof__names_desc(&p->names, key, builtin, &p->name[p->nname].d);
    i = (int64_t)(IID_FIRST + p->nname);
    if (evprof__imap_put(&p->iid[builtin], key, (uint32_t)i) < 0)
        return -ENOMEM;
    p->nname++;
    return i;
}

/* Adds the InternedData of iid to pk unless s has it already. */
static int intern(perfetto *p, pseq *s, uint64_t iid, evprof__pb *pk)
{
    evprof__pb *in = &p->sub, *e = &p->sub2;
    size_t byte = (size_t)(iid / 8);

    if (byte >= s->ninterned) {
        size_t n = byte + 64;
        uint8_t *q = realloc(s->interned, n);

        if (q == NULL)
            return -ENOMEM;
        memset(q + s->ninterned, 0, n - s->ninterned);
        s->interned = q;
        s->ninterned = n;
    }
    if (s->interned[byte] & (1u << (iid % 8)))
        return 0;
    s->interned[byte] |= (uint8_t)(1u << (iid % 8));
    in->n = 0;
    e->n = 0;
    evprof__pb_uint(e, 1, iid);
    if (iid < IID_FIRST)
        evprof__pb_str(e, 2, iid == IID_START ? "profiler start"
                                              : "profiler stop");
    else
        evprof__pb_str(e, 2, p->name[iid - IID_FIRST].d.name);
    evprof__pb_msg(in, I_EVENT_NAMES, e);
    if (iid >= IID_FIRST && p->name[iid - IID_FIRST].d.mod[0]) {
        const evprof__desc *d = &p->name[iid - IID_FIRST].d;

        e->n = 0;
        evprof__pb_uint(e, 1, iid);
        evprof__pb_str(e, 2, d->mod);
        evprof__pb_str(e, 3, d->name);
        if (d->lineno >= 0)
            evprof__pb_uint(e, 4, (uint64_t)d->lineno);
        evprof__pb_msg(in, I_SOURCE_LOCATIONS, e);
    }
    evprof__pb_msg(pk, F_INTERNED, in);
    return 0;
}

/* One TrackEvent packet on sequence s at time t. */
static int event(perfetto *p, pseq *s, int64_t t, int type, uint64_t iid,
                 int64_t value)
{
    evprof__pb *pk = &p->pkt, *ev = &p->ev;
    int rc;

    if (t < s->last && (rc = snapshot(p, s, t)) < 0)
        return rc;
    ev->n = 0;
    evprof__pb_uint(ev, E_TYPE, (uint64_t)type);
    if (iid != 0) {
        evprof__pb_uint(ev, E_NAME_IID, iid);
        if (iid >= IID_FIRST && p->name[iid - IID_FIRST].d.mod[0])
            evprof__pb_uint(ev, E_SOURCE_IID, iid);
    }
    if (type == TYPE_COUNTER)
        evprof__pb_uint(ev, E_COUNTER, (uint64_t)value);
    evprof__pb_uint(pk, F_TIMESTAMP, (uint64_t)(t - s->last));
    evprof__pb_uint(pk, F_SEQ_ID, s->id);
    evprof__pb_uint(pk, F_SEQ_FLAGS, SEQ_NEEDS_STATE);
    evprof__pb_msg(pk, F_TRACK_EVENT, ev);
    if (iid != 0 && (rc = intern(p, s, iid, pk)) < 0)
        return rc;
    s->last = t;
    return put_packet(p, pk);
}

static int begin_slice(perfetto *p, pseq *s, int64_t t, int64_t key,
                       int builtin)
{
    int64_t iid = iid_of(p, key, builtin);

    if (iid < 0)
        return (int)iid;
    s->depth++;
    return event(p, s, t, TYPE_BEGIN, (uint64_t)iid, 0);
}

static void perfetto_free(void *state)
{
    perfetto *p = state;
    size_t i;

    for (i = 0; p->seq != NULL && i < p->nseq; i++)
        free(p->seq[i].interned);
    free(p->seq);
    free(p->name);
    evprof__imap_free(&p->iid[0]);
    evprof__imap_free(&p->iid[1]);
    evprof__names_free(&p->names);
    evprof__pb_free(&p->pkt);
    evprof__pb_free(&p->ev);
    evprof__pb_free(&p->sub);
    evprof__pb_free(&p->sub2);
    free(p);
}

static int tracks(perfetto *p)
{
    const evprof__sink_ctx *ctx = p->ctx;
    const evprof__scan *s = ctx->scan;
    evprof__pb what = { 0 };
    size_t i;
    int rc;

    evprof__pb_uint(&what, 1, (uint64_t)ctx->pid);
    evprof__pb_str(&what, 6, ctx->process_name);
    rc = descriptor(p, 1, NULL, &what, T_PROCESS);
    for (i = 0; rc == 0 && i <= s->nthreads; i++) {
        int64_t tid = evprof__thread_native(ctx->r, i);
        int64_t pid = evprof_trace_reader_thread_pid(ctx->r, i);
        char buf[40];
        const char *name;

        if (s->thread[i].order == 0)
            continue;
        name = evprof__thread_label(ctx->r, i, s->ntracks, buf, sizeof(buf));
        what.n = 0;
        evprof__pb_uint(&what, 1, (uint64_t)(pid > 0 ? pid : ctx->pid));
        evprof__pb_uint(&what, 2, (uint64_t)(tid > 0 ? tid
                                             : s->thread[i].order));
        evprof__pb_str(&what, 5, name);
        rc = descriptor(p, 1 + (uint64_t)s->thread[i].order, NULL, &what,
                        T_THREAD);
    }
    if (rc == 0) {
        what.n = 0;
        evprof__pb_uint(&what, 3, UNIT_SIZE_BYTES);
        rc = descriptor(p, 2 + (uint64_t)s->ntracks, "memory", &what,
                        T_COUNTER);
    }
    if (what.oom && rc == 0)
        rc = -ENOMEM;
    evprof__pb_free(&what);
    return rc;
}

static int perfetto_begin(void **state, const evprof__sink_ctx *ctx)
{
    const evprof__scan *s = ctx->scan;
    perfetto *p = calloc(1, sizeof(*p));
    size_t i, j;
    int rc;

    if (p == NULL)
        return -ENOMEM;
    *state = p;
    p->ctx = ctx;
    p->f = ctx->out;
    if ((rc = evprof__names_init(&p->names, ctx->r)) < 0)
        return rc;
    p->nseq = s->nthreads + 2;
    if ((p->seq = calloc(p->nseq, sizeof(*p->seq))) == NULL)
        return -ENOMEM;
    /* Sequence of a thread = its track number; the counter's after. */
    for (i = 0; i <= s->nthreads; i++)
        p->seq[i].id = (uint32_t)s->thread[i].order;
    p->seq[s->nthreads + 1].id = (uint32_t)s->ntracks + 1;
    if ((rc = tracks(p)) < 0)
        return rc;
    for (i = 0; i <= s->nthreads; i++) {
        if (s->thread[i].order == 0)
            continue;
        if ((rc = start_seq(p, &p->seq[i], 1 + (uint64_t)s->thread[i].order,
                            s->t_min)) < 0)
            return rc;
        /* Frames open when recording started, outermost first. */
        for (j = s->thread[i].nearly; j-- > 0;)
            if ((rc = begin_slice(p, &p->seq[i], s->t_min,
                                  s->thread[i].early[j].key,
                                  s->thread[i].early[j].builtin)) < 0)
                return rc;
    }
    return start_seq(p, &p->seq[s->nthreads + 1], 2 + (uint64_t)s->ntracks,
                     s->t_min);
}

static int counter(perfetto *p)
{
    return event(p, &p->seq[p->ctx->scan->nthreads + 1], p->pend_t,
                 TYPE_COUNTER, 0, p->pend_b);
}

static int perfetto_events(void *state, const evprof_event *ev,
                           const uint32_t *thread, size_t n)
{
    perfetto *p = state;
    const evprof__scan *s = p->ctx->scan;
    size_t i;
    int rc = 0;

    for (i = 0; i < n && rc == 0; i++) {
        const evprof_event *e = &ev[i];
        pseq *q = &p->seq[evprof__slot(s, thread[i])];

        if (evprof__is_open(e->event))
            rc = begin_slice(p, q, e->time, e->id_frame,
                             evprof__is_builtin(e->event));
        else if (evprof__is_close(e->event) && q->depth > 0) {
            q->depth--;
            rc = event(p, q, e->time, TYPE_END, 0, 0);
        } else if (evprof__is_memory(e->event)) {
            if (p->have_pend && e->time != p->pend_t)
                rc = counter(p);
            p->bytes += e->value2;
            p->pend_t = e->time;
            p->pend_b = p->bytes;
            p->have_pend = 1;
        } else if (e->event == EVPROF_PROFILER_START)
            rc = event(p, q, e->time, TYPE_INSTANT, IID_START, 0);
        else if (e->event == EVPROF_PROFILER_SORT)
            rc = event(p, q, e->time, TYPE_INSTANT, IID_STOP, 0);
    }
    return rc;
}

static int perfetto_end(void *state, const evprof__sink_ctx *ctx)
{
    perfetto *p = state;
    size_t i;
    int rc = 0;

    for (i = 0; rc == 0 && i <= ctx->scan->nthreads; i++)
        for (; rc == 0 && p->seq[i].depth > 0; p->seq[i].depth--)
            rc = event(p, &p->seq[i], ctx->scan->t_max, TYPE_END, 0, 0);
    if (rc == 0 && p->have_pend)
        rc = counter(p);
    return rc;
}

const evprof__sink_ops evprof__sink_perfetto = {
    "perfetto", EVPROF__SINK_SCAN, perfetto_begin, perfetto_events,
    perfetto_end, perfetto_free
};
