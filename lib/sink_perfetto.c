/*
 * sink_perfetto.c: a Perfetto protobuf trace (.pftrace) of TrackEvents,
 * for ui.perfetto.dev and trace_processor.  Field numbers are those of
 * Perfetto's protos/perfetto/trace/perfetto_trace.proto; t/sinks.proto
 * holds the subset written here.
 *
 * Layout.  A process track; for each thread of the THREADS table with
 * events, a thread track (TrackDescriptor with ThreadDescriptor pid/tid:
 * threads whose ident was reused stay apart) and, when it allocates, a
 * counter track "bytes in use" below it (what the thread allocated minus
 * what it freed).  Each track is written on a packet sequence of its own,
 * so that TracePacketDefaults give every event its track (no track_uuid
 * an event) and timestamps are deltas from the sequence's previous event:
 * a sequence-scoped incremental clock (id 64) anchored to CLOCK_MONOTONIC
 * by a ClockSnapshot, re-anchored by another snapshot if time ever goes
 * back on a sequence.  Names are interned (InternedData event_names, with
 * a SourceLocation for file and line) the first time a sequence uses
 * them.  A call is a SLICE_BEGIN and its return a SLICE_END, in the order
 * of the trace; frames open before a thread's first event begin just
 * before it (below),
 * frames left open end at its last event; profiler start/stop are
 * instants on their thread's track.  Every state is a thread's own: a
 * file of one thread a section (META order = thread) gives the packets of
 * each sequence that the time-ordered file gives.  The tables are read
 * before the events (EVPROF__SINK_TABLES); the events are read once.
 *
 * A frame open before the thread's first event (a close without its
 * open) is only known when it closes, after packets of later times: its
 * SLICE_BEGIN is written then, k ns before the thread's first event for
 * the k-th such frame of the thread.  trace_processor sorts events by
 * time, so it begins before everything of its thread and outside the
 * ones of its kind closed before it (which it encloses), and its
 * SLICE_END closes it, the stack holding nothing else then.  Equal
 * times would leave the nesting to the order of the file.
 *
 * An event packet is 11 to 16 bytes: no sequence_flags on it (the
 * sequence's first packet clears the incremental state; trace_processor
 * only reads SEQ_NEEDS_INCREMENTAL_STATE to drop packets after a loss).
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sink-private.h"
#include "sink_out.h"
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

/* Track uuids and sequence ids of slot i; the process is track 1. */
#define THREAD_UUID(i) (2 + 2 * (uint64_t)(i))
#define COUNTER_UUID(i) (3 + 2 * (uint64_t)(i))
#define THREAD_SEQ(i) (1 + 2 * (uint32_t)(i))
#define COUNTER_SEQ(i) (2 + 2 * (uint32_t)(i))

typedef struct pname {
    evprof__desc d;
} pname;

typedef struct pseq {
    uint32_t id;
    int64_t last;          /* timestamp of the previous packet */
    uint8_t *interned;     /* bit per iid already sent on this sequence */
    size_t ninterned;      /* bytes */
} pseq;

typedef struct pthread {
    pseq slices, counter;
    size_t depth;          /* slices begun and not ended */
    int64_t first, last;   /* times of its first and last events */
    int64_t early;         /* frames found open before its first event */
    int64_t bytes, pend_t;
    int seen, have_pend, has_counter;
} pthread;

typedef struct perfetto {
    const evprof__sink_ctx *ctx;
    evprof__out o;
    evprof__names names;
    evprof__imap iid[2];   /* key -> iid, per builtin */
    int64_t last_key;      /* the last key looked up, and its iid */
    int last_builtin;
    uint64_t last_iid;
    pname *name;           /* by iid - IID_FIRST */
    size_t nname, capname;
    pthread *thread;       /* by slot */
    size_t nslots;
    evprof__pb pkt, sub, sub2, sub3;
} perfetto;

static size_t varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;

    for (; v >= 0x80; v >>= 7)
        p[n++] = (uint8_t)(v | 0x80);
    p[n++] = (uint8_t)v;
    return n;
}

/* Trace.packet = 1, around the n bytes of body. */
static void put_packet_bytes(perfetto *p, const uint8_t *body, size_t n)
{
    uint8_t head[11];
    size_t h;

    head[0] = (1 << 3) | EVPROF__PB_LEN;
    h = 1 + varint(head + 1, n);
    if (n + h <= EVPROF__OUT_SLACK) {
        char *q = evprof__out_room(&p->o);

        memcpy(q, head, h);
        memcpy(q + h, body, n);
        evprof__out_done(&p->o, q + h + n);
    } else {
        evprof__out_write(&p->o, head, h);
        evprof__out_write(&p->o, body, n);
    }
}

static int put_packet(perfetto *p, evprof__pb *pkt)
{
    int rc = pkt->oom ? -ENOMEM : 0;

    if (rc == 0)
        put_packet_bytes(p, pkt->p, pkt->n);
    pkt->n = 0;
    return rc != 0 ? rc : p->o.error;
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
static int start_seq(perfetto *p, pseq *s, uint32_t id, uint64_t track,
                     int64_t t)
{
    evprof__pb *pk = &p->pkt, *d = &p->sub, *te = &p->sub2;
    int rc;

    s->id = id;
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

static int descriptor(perfetto *p, uint64_t uuid, uint64_t parent,
                      const char *name, const evprof__pb *what,
                      uint32_t field)
{
    evprof__pb *pk = &p->pkt, *td = &p->sub;

    td->n = 0;
    evprof__pb_uint(td, T_UUID, uuid);
    if (parent != 0)
        evprof__pb_uint(td, T_PARENT, parent);
    if (name != NULL)
        evprof__pb_str(td, T_NAME, name);
    evprof__pb_msg(td, field, what);
    evprof__pb_msg(pk, F_TRACK_DESCRIPTOR, td);
    return put_packet(p, pk);
}

/* The iid of a function's name, made on first use; -ENOMEM. */
static int64_t iid_of(perfetto *p, int64_t key, int builtin)
{
    int64_t i;

    if (p->nname > 0 && key == p->last_key && builtin == p->last_builtin)
        return (int64_t)p->last_iid;
    if ((i = evprof__imap_get(&p->iid[builtin], key)) < 0) {
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
    }
    p->last_key = key;
    p->last_builtin = builtin;
    p->last_iid = (uint64_t)i;
    return i;
}

/* Has s the InternedData of iid already?  Marks it sent. */
static int interned(pseq *s, uint64_t iid, int *have)
{
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
    *have = (s->interned[byte] >> (iid % 8)) & 1;
    s->interned[byte] |= (uint8_t)(1u << (iid % 8));
    return 0;
}

/* Appends the InternedData of iid to pk. */
static void intern(perfetto *p, uint64_t iid, evprof__pb *pk)
{
    evprof__pb *in = &p->sub2, *e = &p->sub3;

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
}

/* One TrackEvent packet on sequence s at time t, encoded in place in the
 * output (a packet without interned data is < 128 bytes: one byte of
 * length). */
static int event(perfetto *p, pseq *s, int64_t t, int type, uint64_t iid,
                 int64_t value)
{
    uint8_t local[80], *q = NULL, *b;
    size_t n = 0, te;
    int have = 1, rc;

    if (t < s->last && (rc = snapshot(p, s, t)) < 0)
        return rc;
    if (iid != 0 && (rc = interned(s, iid, &have)) < 0)
        return rc;
    if (have) {
        q = (uint8_t *)evprof__out_room(&p->o);
        b = q + 2;
    } else
        b = local;
    b[n++] = (F_TIMESTAMP << 3) | EVPROF__PB_VARINT;
    n += varint(b + n, (uint64_t)(t - s->last));
    b[n++] = (F_SEQ_ID << 3) | EVPROF__PB_VARINT;
    n += varint(b + n, s->id);
    b[n++] = (F_TRACK_EVENT << 3) | EVPROF__PB_LEN;
    te = n++;
    b[n++] = (E_TYPE << 3) | EVPROF__PB_VARINT;
    b[n++] = (uint8_t)type;
    if (iid != 0) {
        b[n++] = (E_NAME_IID << 3) | EVPROF__PB_VARINT;
        n += varint(b + n, iid);
        if (iid >= IID_FIRST && p->name[iid - IID_FIRST].d.mod[0]) {
            n += varint(b + n, (E_SOURCE_IID << 3) | EVPROF__PB_VARINT);
            n += varint(b + n, iid);
        }
    }
    if (type == TYPE_COUNTER) {
        n += varint(b + n, (E_COUNTER << 3) | EVPROF__PB_VARINT);
        n += varint(b + n, (uint64_t)value);
    }
    b[te] = (uint8_t)(n - te - 1);
    s->last = t;
    if (have) {
        q[0] = (1 << 3) | EVPROF__PB_LEN; /* Trace.packet = 1 */
        q[1] = (uint8_t)n;
        evprof__out_done(&p->o, (char *)(b + n));
        return p->o.error;
    }
    p->pkt.n = 0;
    evprof__pb_raw(&p->pkt, b, n);
    intern(p, iid, &p->pkt);
    return put_packet(p, &p->pkt);
}

static int begin_slice(perfetto *p, pthread *t, int64_t time, int64_t key,
                       int builtin)
{
    int64_t iid = iid_of(p, key, builtin);

    if (iid < 0)
        return (int)iid;
    t->depth++;
    return event(p, &t->slices, time, TYPE_BEGIN, (uint64_t)iid, 0);
}

static void perfetto_free(void *state)
{
    perfetto *p = state;
    size_t i;

    for (i = 0; p->thread != NULL && i < p->nslots; i++) {
        free(p->thread[i].slices.interned);
        free(p->thread[i].counter.interned);
    }
    free(p->thread);
    free(p->name);
    evprof__imap_free(&p->iid[0]);
    evprof__imap_free(&p->iid[1]);
    evprof__names_free(&p->names);
    evprof__pb_free(&p->pkt);
    evprof__pb_free(&p->sub);
    evprof__pb_free(&p->sub2);
    evprof__pb_free(&p->sub3);
    evprof__out_free(&p->o);
    free(p);
}

/* A thread's track and sequence, at its first event. */
static int thread_track(perfetto *p, pthread *t, size_t i, int64_t time)
{
    const evprof__sink_ctx *ctx = p->ctx;
    int64_t tid = evprof__thread_native(ctx->r, i);
    int64_t pid = evprof_trace_reader_thread_pid(ctx->r, i);
    evprof__pb *what = &p->sub3;
    char buf[40];
    int rc;

    what->n = 0;
    evprof__pb_uint(what, 1, (uint64_t)(pid > 0 ? pid : ctx->pid));
    evprof__pb_uint(what, 2, (uint64_t)(tid > 0 ? tid : (int64_t)i + 1));
    evprof__pb_str(what, 5, evprof__thread_label(ctx->r, i, (int)p->nslots,
                                                 buf, sizeof(buf)));
    if ((rc = descriptor(p, THREAD_UUID(i), 1, NULL, what, T_THREAD)) < 0)
        return rc;
    t->seen = 1;
    t->first = time;
    return start_seq(p, &t->slices, THREAD_SEQ(i), THREAD_UUID(i), time);
}

/* Its counter track "bytes in use", at its first allocation event. */
static int counter_track(perfetto *p, pthread *t, size_t i, int64_t time)
{
    evprof__pb *what = &p->sub3;
    int rc;

    what->n = 0;
    evprof__pb_uint(what, 3, UNIT_SIZE_BYTES);
    if ((rc = descriptor(p, COUNTER_UUID(i), THREAD_UUID(i), "bytes in use",
                         what, T_COUNTER)) < 0)
        return rc;
    t->has_counter = 1;
    return start_seq(p, &t->counter, COUNTER_SEQ(i), COUNTER_UUID(i), time);
}

static int perfetto_begin(void **state, const evprof__sink_ctx *ctx)
{
    perfetto *p = calloc(1, sizeof(*p));
    int rc;

    if (p == NULL)
        return -ENOMEM;
    *state = p;
    p->ctx = ctx;
    if ((rc = evprof__out_init(&p->o, ctx->out)) < 0)
        return rc;
    if ((rc = evprof__names_init(&p->names, ctx->r)) < 0)
        return rc;
    p->nslots = evprof__nslots(ctx->r);
    if ((p->thread = calloc(p->nslots, sizeof(*p->thread))) == NULL)
        return -ENOMEM;
    p->sub3.n = 0;
    evprof__pb_uint(&p->sub3, 1, (uint64_t)ctx->pid);
    evprof__pb_str(&p->sub3, 6, ctx->process_name);
    return descriptor(p, 1, 0, NULL, &p->sub3, T_PROCESS);
}

static int counter(perfetto *p, pthread *t)
{
    t->have_pend = 0;
    return event(p, &t->counter, t->pend_t, TYPE_COUNTER, 0, t->bytes);
}

/* A close without its open: the frame was open before the first event. */
static int early_frame(perfetto *p, pthread *t, const evprof_event *e)
{
    int64_t iid = iid_of(p, e->id_frame, evprof__is_builtin(e->event));
    int rc;

    if (iid < 0)
        return (int)iid;
    t->early++;
    if ((rc = event(p, &t->slices, t->first - t->early, TYPE_BEGIN,
                    (uint64_t)iid, 0)) < 0)
        return rc;
    return event(p, &t->slices, e->time, TYPE_END, 0, 0);
}

static int perfetto_events(void *state, const evprof_event *ev,
                           const uint32_t *thread, size_t n)
{
    perfetto *p = state;
    size_t i;
    int rc = 0;

    for (i = 0; i < n && rc == 0; i++) {
        const evprof_event *e = &ev[i];
        size_t slot = evprof__slot(p->nslots, thread[i]);
        pthread *t = &p->thread[slot];
        int64_t code = e->event;

        if (!t->seen && (rc = thread_track(p, t, slot, e->time)) < 0)
            break;
        t->last = e->time;
        if (evprof__is_open(code))
            rc = begin_slice(p, t, e->time, e->id_frame,
                             code == EVPROF_C_CALL);
        else if (evprof__is_close(code)) {
            if (t->depth > 0) {
                t->depth--;
                rc = event(p, &t->slices, e->time, TYPE_END, 0, 0);
            } else
                rc = early_frame(p, t, e);
        } else if (evprof__is_memory(code)) {
            if (!t->has_counter
                && (rc = counter_track(p, t, slot, e->time)) < 0)
                break;
            /* The last value at each timestamp. */
            if (t->have_pend && e->time != t->pend_t)
                rc = counter(p, t);
            t->bytes += e->value2;
            t->pend_t = e->time;
            t->have_pend = 1;
        } else if (code == EVPROF_PROFILER_START)
            rc = event(p, &t->slices, e->time, TYPE_INSTANT, IID_START, 0);
        else if (code == EVPROF_PROFILER_SORT)
            rc = event(p, &t->slices, e->time, TYPE_INSTANT, IID_STOP, 0);
    }
    return rc;
}

static int perfetto_end(void *state, const evprof__sink_ctx *ctx)
{
    perfetto *p = state;
    size_t i;
    int rc = 0;

    (void)ctx;
    for (i = 0; rc == 0 && i < p->nslots; i++) {
        pthread *t = &p->thread[i];

        for (; rc == 0 && t->depth > 0; t->depth--)
            rc = event(p, &t->slices, t->last, TYPE_END, 0, 0);
        if (rc == 0 && t->have_pend)
            rc = counter(p, t);
    }
    if (rc == 0)
        rc = evprof__out_flush(&p->o);
    return rc;
}

const evprof__sink_ops evprof__sink_perfetto = {
    "perfetto", EVPROF__SINK_TABLES, perfetto_begin, perfetto_events,
    perfetto_end, perfetto_free
};
