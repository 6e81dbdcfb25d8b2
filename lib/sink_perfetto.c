/*
 * sink_perfetto.c: a Perfetto protobuf trace (.pftrace) of TrackEvents,
 * for ui.perfetto.dev and trace_processor: the tracks, sequences and
 * names of the trace here, its packets in sink_perfetto_packet.c, the
 * field numbers in sink-perfetto-private.h.
 *
 * Layout.  A process track; for each thread of the THREADS table with
 * events, a thread track (TrackDescriptor with ThreadDescriptor pid/tid:
 * threads whose ident was reused stay apart, each with its own name, see
 * sink_threads.c) and, when it allocates, a
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

#include "grow-private.h"
#include "sink-perfetto-private.h"

/* The iid of a function's name, made on first use; -ENOMEM. */
static int64_t iid_of(perfetto *p, int64_t key, int builtin)
{
    int64_t i;

    if (p->nname > 0 && key == p->last_key && builtin == p->last_builtin)
        return (int64_t)p->last_iid;
    if ((i = evprof__imap_get(&p->iid[builtin], key)) < 0) {
        if (evprof__grow(&p->name, &p->capname, p->nname + 1,
                         sizeof(*p->name), 64) < 0)
            return -ENOMEM;
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

static int begin_slice(perfetto *p, pthread *t, int64_t time, int64_t key,
                       int builtin)
{
    int64_t iid = iid_of(p, key, builtin);

    if (iid < 0)
        return (int)iid;
    t->depth++;
    return evprof__pf_event(p, &t->slices, time, TYPE_BEGIN, (uint64_t)iid, 0);
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
    evprof__thread_labels_free(p->label, p->nslots);
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
    int rc;

    what->n = 0;
    evprof__pb_uint(what, 1, (uint64_t)(pid > 0 ? pid : ctx->pid));
    evprof__pb_uint(what, 2, (uint64_t)(tid > 0 ? tid : (int64_t)i + 1));
    evprof__pb_str(what, 5, p->label[i]);
    if ((rc = evprof__pf_descriptor(p, THREAD_UUID(i), 1, NULL, what, T_THREAD)) < 0)
        return rc;
    t->seen = 1;
    t->first = time;
    return evprof__pf_start_seq(p, &t->slices, THREAD_SEQ(i), THREAD_UUID(i), time);
}

/* Its counter track "bytes in use", at its first allocation event. */
static int counter_track(perfetto *p, pthread *t, size_t i, int64_t time)
{
    evprof__pb *what = &p->sub3;
    int rc;

    what->n = 0;
    evprof__pb_uint(what, 3, UNIT_SIZE_BYTES);
    if ((rc = evprof__pf_descriptor(p, COUNTER_UUID(i), THREAD_UUID(i), "bytes in use",
                         what, T_COUNTER)) < 0)
        return rc;
    t->has_counter = 1;
    return evprof__pf_start_seq(p, &t->counter, COUNTER_SEQ(i), COUNTER_UUID(i), time);
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
    if ((rc = evprof__thread_labels(ctx->r, &p->label)) < 0)
        return rc;
    p->sub3.n = 0;
    evprof__pb_uint(&p->sub3, 1, (uint64_t)ctx->pid);
    evprof__pb_str(&p->sub3, 6, ctx->process_name);
    return evprof__pf_descriptor(p, 1, 0, NULL, &p->sub3, T_PROCESS);
}

static int counter(perfetto *p, pthread *t)
{
    t->have_pend = 0;
    return evprof__pf_event(p, &t->counter, t->pend_t, TYPE_COUNTER, 0, t->bytes);
}

/* A close without its open: the frame was open before the first event. */
static int early_frame(perfetto *p, pthread *t, const evprof_event *e)
{
    int64_t iid = iid_of(p, e->id_frame, evprof__is_builtin(e->event));
    int rc;

    if (iid < 0)
        return (int)iid;
    t->early++;
    if ((rc = evprof__pf_event(p, &t->slices, t->first - t->early, TYPE_BEGIN,
                    (uint64_t)iid, 0)) < 0)
        return rc;
    return evprof__pf_event(p, &t->slices, e->time, TYPE_END, 0, 0);
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
                rc = evprof__pf_event(p, &t->slices, e->time, TYPE_END, 0, 0);
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
            rc = evprof__pf_event(p, &t->slices, e->time, TYPE_INSTANT, IID_START, 0);
        else if (code == EVPROF_PROFILER_SORT)
            rc = evprof__pf_event(p, &t->slices, e->time, TYPE_INSTANT, IID_STOP, 0);
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
            rc = evprof__pf_event(p, &t->slices, t->last, TYPE_END, 0, 0);
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
