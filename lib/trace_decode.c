/*
 * trace_decode.c: decoding an EVENTS_PACKED section (doc/trace-format.md;
 * the writer's side is lib/trace_encode.c).  A whole section is decoded
 * at once, checked to its last byte, before any of its events is given
 * out: a section whose checksum matches but whose contents lie is refused
 * whole, as the other sections are.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "trace-private.h"

/* The event code of each tag class but PACKED_CLASS_OTHER. */
static const int64_t class_code[16] = {
    EVPROF_CALL, EVPROF_RETURN, EVPROF_C_CALL, EVPROF_C_RETURN,
    EVPROF_EXCEPTION, EVPROF_C_EXCEPTION, EVPROF_PROFILER_CALL,
    EVPROF_PROFILER_RETURN, EVPROF_PROFILER_START, EVPROF_PROFILER_SORT,
    EVPROF_MALLOC, EVPROF_CALLOC, EVPROF_REALLOC, EVPROF_FREE,
    EVPROF_REALLOC_FREE, 0
};

/* A varint of at most 10 bytes (the tenth 0 or 1) from p, with `end`
 * checked at every byte when `checked` (else the caller knows that 10
 * bytes are there); NULL when it runs past end or past 64 bits. */
static inline __attribute__((always_inline)) const unsigned char *
varint(const unsigned char *p, const unsigned char *end, uint64_t *v,
       int checked)
{
    uint64_t x = 0;
    unsigned shift;

    if ((!checked || p < end) && *p < 0x80) {
        *v = *p;
        return p + 1;
    }
    if (!checked && p[1] < 0x80) { /* a time delta of 128 ns or more */
        *v = (uint64_t)(p[0] & 0x7F) | (uint64_t)p[1] << 7;
        return p + 2;
    }
    for (shift = 0; shift < 64; shift += 7) {
        if (checked && p == end)
            return NULL;
        x |= (uint64_t)(*p & 0x7F) << shift;
        if (*p++ < 0x80) {
            if (shift == 63 && p[-1] > 1)
                return NULL;
            *v = x;
            return p;
        }
    }
    return NULL;
}

static inline const unsigned char *get_varint(const unsigned char *p,
                                              const unsigned char *end,
                                              uint64_t *v)
{
    return varint(p, end, v, 1);
}

static inline uint64_t unzigzag(uint64_t z)
{
    return (z >> 1) ^ (0 - (z & 1));
}

static int bad(char *msg, size_t msglen, const unsigned char *start,
               const unsigned char *at, const char *what)
{
    snprintf(msg, msglen, "%s at byte %td of its payload", what, at - start);
    return -EBADMSG;
}

/* Reads the thread runs at *pp and fills thread[0..count); 0 or the
 * error. */
static int runs(const unsigned char **pp, const unsigned char *start,
                const unsigned char *end, uint64_t count, uint32_t *thread,
                uint64_t *max_thread, char *msg, size_t msglen)
{
    const unsigned char *p = *pp;
    uint64_t nruns, t, len, done = 0, i, k;

    if ((p = get_varint(p, end, &nruns)) == NULL)
        return bad(msg, msglen, start, *pp, "bad thread run count");
    if (nruns > count)
        return bad(msg, msglen, start, *pp, "more thread runs than events");
    for (i = 0; i < nruns; i++) {
        const unsigned char *at = p;

        if ((p = get_varint(p, end, &t)) == NULL || t > UINT32_MAX)
            return bad(msg, msglen, start, at, "bad thread index");
        at = p;
        if ((p = get_varint(p, end, &len)) == NULL || len == 0
            || len > count - done)
            return bad(msg, msglen, start, at, "bad thread run length");
        if (t + 1 > *max_thread)
            *max_thread = t + 1;
        if (thread != NULL)
            for (k = 0; k < len; k++)
                thread[done + k] = (uint32_t)t;
        done += len;
    }
    if (done != count)
        return bad(msg, msglen, start, p,
                   "thread runs do not cover the events");
    *pp = p;
    return 0;
}

/* The event at p into *out, its class's last values in last, the time in
 * *time; the byte after it, or NULL with *what saying which field is bad.
 * Unchecked, the caller knows that a whole event's bytes at most
 * (TRACE_PACKED_EVENT_MAX) are there: no test of the end at every
 * byte. */
static inline __attribute__((always_inline)) const unsigned char *
event(const unsigned char *p, const unsigned char *end, evprof_event *out,
      uint64_t (*last)[4], uint64_t *time, const char **what, int checked)
{
    unsigned tag, cls;
    uint64_t *l, d;

    if (checked && p == end) {
        *what = "events missing";
        return NULL;
    }
    tag = *p++;
    cls = tag & 0x0F;
    l = last[cls];
    if (cls == PACKED_CLASS_OTHER) {
        if ((p = varint(p, end, &d, checked)) == NULL) {
            *what = "bad event code";
            return NULL;
        }
        out->event = (int64_t)unzigzag(d);
    } else {
        out->event = class_code[cls];
    }
    if ((p = varint(p, end, &d, checked)) == NULL) {
        *what = "bad event time";
        return NULL;
    }
    *time += d;
    out->time = (int64_t)*time;
    /* Each changed column's delta, in column order. */
    if (tag & 0x10) {
        if ((p = varint(p, end, &d, checked)) == NULL) {
            *what = "bad event id_frame";
            return NULL;
        }
        l[0] += unzigzag(d);
    }
    if (tag & 0x20) {
        if ((p = varint(p, end, &d, checked)) == NULL) {
            *what = "bad event id_arg";
            return NULL;
        }
        l[1] += unzigzag(d);
    }
    if (tag & 0x40) {
        if ((p = varint(p, end, &d, checked)) == NULL) {
            *what = "bad event value1";
            return NULL;
        }
        l[2] += unzigzag(d);
    }
    if (tag & 0x80) {
        if ((p = varint(p, end, &d, checked)) == NULL) {
            *what = "bad event value2";
            return NULL;
        }
        l[3] += unzigzag(d);
    }
    out->id_frame = (int64_t)l[0];
    out->id_arg = (int64_t)l[1];
    out->value1 = (int64_t)l[2];
    out->value2 = (int64_t)l[3];
    return p;
}

int evprof__trace_unpack(const unsigned char *start, size_t len,
                         evprof_event *out, uint32_t *thread,
                         uint64_t *max_thread, char *msg, size_t msglen)
{
    const unsigned char *p = start + 8, *end = start + len, *at = p;
    uint64_t last[16][4] = {{0}}, time = 0, count, i = 0;
    const char *what = NULL;
    uint32_t flags;

    *max_thread = 0;
    count = get_u32(start);
    flags = get_u32(start + 4);
    if (flags & PACKED_FLAG_THREAD) {
        if (runs(&p, start, end, count, thread, max_thread, msg, msglen))
            return -EBADMSG;
    } else if (thread != NULL) {
        for (i = 0; i < count; i++)
            thread[i] = UINT32_MAX;
        i = 0;
    }
    /* While a whole event fits, unchecked; the last ones checked. */
    for (; i < count && end - p >= TRACE_PACKED_EVENT_MAX; i++) {
        at = p;
        if ((p = event(p, end, &out[i], last, &time, &what, 0)) == NULL)
            return bad(msg, msglen, start, at, what);
    }
    for (; i < count; i++) {
        at = p;
        if ((p = event(p, end, &out[i], last, &time, &what, 1)) == NULL)
            return bad(msg, msglen, start, at, what);
    }
    if (p != end)
        return bad(msg, msglen, start, p, "data after the last event");
    return 0;
}

int evprof__trace_packed_threads(const unsigned char *start, size_t len,
                                 uint64_t *max_thread)
{
    const unsigned char *p = start + 8;
    char msg[8];

    *max_thread = 0;
    if (len < 8)
        return -EBADMSG;
    if (!(get_u32(start + 4) & PACKED_FLAG_THREAD))
        return 0;
    return runs(&p, start, start + len, get_u32(start), NULL, max_thread,
                msg, sizeof(msg)) ? -EBADMSG : 0;
}
