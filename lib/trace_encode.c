/*
 * trace_encode.c: the EVENTS_PACKED encoding of doc/trace-format.md,
 * shared by every writer (lib/trace_write.c, and lib/stream.c through
 * it).  Each event is a tag byte and LEB128 varints: the time as the
 * distance from the event before, the other columns as zigzag deltas
 * against the last event of the same code, left out when unchanged.
 * The columns of one code change little from one event to the next (the
 * same function, caller and size; nearby pointers and instruction
 * offsets): an event takes a few bytes instead of 48.
 */
#include <config.h>

#include <string.h>

#include "trace-private.h"

/* The tag class of an event code: the 15 codes of evprof.h, then
 * PACKED_CLASS_OTHER (the code follows the tag). */
static inline unsigned code_class(int64_t code)
{
    if (code >= EVPROF_CALL && code <= EVPROF_C_EXCEPTION)
        return (unsigned)(code - EVPROF_CALL);
    if (code >= EVPROF_MALLOC && code <= EVPROF_REALLOC_FREE)
        return (unsigned)(code - EVPROF_MALLOC) + 10;
    if (code == EVPROF_PROFILER_CALL || code == EVPROF_PROFILER_RETURN)
        return (unsigned)(code - EVPROF_PROFILER_CALL) + 6;
    if (code == EVPROF_PROFILER_START || code == EVPROF_PROFILER_SORT)
        return (unsigned)(code - EVPROF_PROFILER_START) + 8;
    return PACKED_CLASS_OTHER;
}

static inline unsigned char *put_varint(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

/* Two's complement deltas, so that every pair of int64 has one. */
static inline uint64_t zigzag(uint64_t d)
{
    return (d << 1) ^ (0 - (d >> 63));
}

struct pack_state {
    uint64_t time;
    uint64_t last[16][4]; /* id_frame, id_arg, value1, value2 by class */
};

static inline unsigned char *pack_one(unsigned char *p, struct pack_state *s,
                                      const uint64_t v[EVPROF_N_COLUMNS])
{
    unsigned cls = code_class((int64_t)v[2]), tag = cls, i;
    unsigned char *t = p++;
    uint64_t *last = s->last[cls];
    static const unsigned char col[4] = {0, 1, 4, 5};

    if (cls == PACKED_CLASS_OTHER)
        p = put_varint(p, zigzag(v[2]));
    p = put_varint(p, v[3] - s->time);
    s->time = v[3];
    for (i = 0; i < 4; i++) {
        uint64_t x = v[col[i]];

        if (x != last[i]) {
            tag |= 0x10u << i;
            p = put_varint(p, zigzag(x - last[i]));
            last[i] = x;
        }
    }
    *t = (unsigned char)tag;
    return p;
}

/* The thread runs: their count, then (thread, length) each. */
static unsigned char *put_runs(unsigned char *p, const uint32_t *thread,
                               uint32_t one_thread, size_t n)
{
    unsigned char *q, *count = p;
    size_t i, j, runs = 0;

    if (thread == NULL) {
        p = put_varint(p, 1);
        p = put_varint(p, one_thread);
        return put_varint(p, n);
    }
    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n && thread[j] == thread[i]; j++)
            ;
        runs++;
    }
    /* The count goes first: the runs are written after room for it. */
    q = p + (runs < 0x80 ? 1 : runs < 0x4000 ? 2 : 3);
    put_varint(count, runs);
    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n && thread[j] == thread[i]; j++)
            ;
        q = put_varint(q, thread[i]);
        q = put_varint(q, j - i);
    }
    return q;
}

size_t evprof__trace_pack(unsigned char *out, const evprof_event *ev,
                          const uint32_t *thread, const unsigned char *rec,
                          uint32_t one_thread, size_t n)
{
    struct pack_state s;
    unsigned char *p = out + 8;
    uint64_t v[EVPROF_N_COLUMNS];
    int has_thread = ev == NULL || thread != NULL;
    size_t i;
    int c;

    memset(&s, 0, sizeof(s));
    put_u32(out, (uint32_t)n);
    put_u32(out + 4, has_thread ? PACKED_FLAG_THREAD : 0);
    if (has_thread && n > 0)
        p = put_runs(p, ev != NULL ? thread : NULL, one_thread, n);
    else if (has_thread)
        p = put_varint(p, 0);
    if (ev != NULL) {
        for (i = 0; i < n; i++) {
            v[0] = (uint64_t)ev[i].id_frame;
            v[1] = (uint64_t)ev[i].id_arg;
            v[2] = (uint64_t)ev[i].event;
            v[3] = (uint64_t)ev[i].time;
            v[4] = (uint64_t)ev[i].value1;
            v[5] = (uint64_t)ev[i].value2;
            p = pack_one(p, &s, v);
        }
    } else {
        for (i = 0; i < n; i++, rec += TRACE_EVENT_SIZE) {
            for (c = 0; c < EVPROF_N_COLUMNS; c++)
                v[c] = get_u64(rec + 8 * c);
            p = pack_one(p, &s, v);
        }
    }
    return (size_t)(p - out);
}
