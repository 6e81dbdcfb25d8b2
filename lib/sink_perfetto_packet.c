/*
 * sink_perfetto_packet.c: the packets of the Perfetto sink
 * (sink_perfetto.c), encoded by hand: a TrackEvent packet is encoded in
 * place in the output, 11 to 16 bytes; the InternedData of a name goes
 * with the first event of a sequence that uses it; a ClockSnapshot
 * re-anchors a sequence whose time goes back.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sink-perfetto-private.h"

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

int evprof__pf_put_packet(perfetto *p, evprof__pb *pkt)
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
    return evprof__pf_put_packet(p, pk);
}

/* First packets of a sequence: its defaults (clock, track), its clock. */
int evprof__pf_start_seq(perfetto *p, pseq *s, uint32_t id, uint64_t track,
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
    if ((rc = evprof__pf_put_packet(p, pk)) < 0)
        return rc;
    return snapshot(p, s, t);
}

int evprof__pf_descriptor(perfetto *p, uint64_t uuid, uint64_t parent,
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
    return evprof__pf_put_packet(p, pk);
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
int evprof__pf_event(perfetto *p, pseq *s, int64_t t, int type, uint64_t iid,
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
    return evprof__pf_put_packet(p, &p->pkt);
}
