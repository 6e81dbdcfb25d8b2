/*
 * trace_read_events.c: the events sections of the trace reader
 * (trace_read.c): EVENTS sections read in place, EVENTS_PACKED ones
 * decoded whole (trace_decode.c) into the caller's array when it has
 * room, else into the reader's, and the sizes of freed blocks filled in
 * when asked (trace_freed.c).
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "trace-read-private.h"

int evprof__trace_parse_events(evprof_trace_reader *r, uint64_t at,
                               size_t len)
{
    uint64_t count;
    uint32_t flags;

    if (len < 8)
        return evprof__trace_fail(r, -EBADMSG, "EVENTS section at offset %" PRIu64
                    " too short", at);
    count = get_u32(r->buf);
    flags = get_u32(r->buf + 4);
    if (flags & ~EVENTS_FLAG_THREAD)
        return evprof__trace_fail(r, -EPROTO, "EVENTS section at offset %" PRIu64
                    ": unknown flags 0x%" PRIx32, at, flags);
    if (len - 8 != count * (TRACE_EVENT_SIZE
                            + (flags & EVENTS_FLAG_THREAD ? 4 : 0)))
        return evprof__trace_fail(r, -EBADMSG, "EVENTS section at offset %" PRIu64
                    ": length does not match its %" PRIu64 " events",
                    at, count);
    r->ev = r->buf + 8;
    r->thr = flags & EVENTS_FLAG_THREAD
        ? r->ev + count * TRACE_EVENT_SIZE : NULL;
    r->ev_left = count;
    return 0;
}

/* Decodes the EVENTS_PACKED section in buf into out and thread (room for
 * all its events); 0 or the error. */
static int unpack(evprof_trace_reader *r, evprof_event *out, uint32_t *thread)
{
    char msg[160];
    uint64_t max_thread;

    r->pending = 0;
    if (evprof__trace_unpack(r->buf, r->pending_len, out, thread,
                             &max_thread, msg, sizeof(msg)) != 0)
        return evprof__trace_fail(r, -EBADMSG, "corrupted EVENTS_PACKED "
                    "section at offset %" PRIu64 ": %s", r->pending_at, msg);
    if (max_thread > r->max_thread)
        r->max_thread = max_thread;
    return 0;
}

/* Decodes the pending section into dec. */
int evprof__trace_unpack_saved(evprof_trace_reader *r)
{
    if (r->dec == NULL) {
        r->dec = malloc(TRACE_PACKED_MAX_EVENTS * sizeof(*r->dec));
        r->dec_thr = malloc(TRACE_PACKED_MAX_EVENTS * sizeof(*r->dec_thr));
        if (r->dec == NULL || r->dec_thr == NULL)
            return evprof__trace_fail(r, -ENOMEM, "out of memory");
    }
    if (unpack(r, r->dec, r->dec_thr))
        return r->error;
    r->decoded = 1;
    r->dec_pos = 0;
    return 0;
}

int evprof__trace_parse_packed(evprof_trace_reader *r, uint64_t at,
                               size_t len)
{
    uint64_t count;
    uint32_t flags;

    if (len < 8)
        return evprof__trace_fail(r, -EBADMSG, "EVENTS_PACKED section at "
                    "offset %" PRIu64 " too short", at);
    count = get_u32(r->buf);
    flags = get_u32(r->buf + 4);
    if (flags & ~PACKED_FLAG_THREAD)
        return evprof__trace_fail(r, -EPROTO, "EVENTS_PACKED section at "
                    "offset %" PRIu64 ": unknown flags 0x%" PRIx32, at, flags);
    /* Each event takes two bytes at least. */
    if (count > TRACE_PACKED_MAX_EVENTS || count > (len - 8) / 2)
        return evprof__trace_fail(r, -EBADMSG, "EVENTS_PACKED section at "
                    "offset %" PRIu64 ": %" PRIu64 " events cannot be in "
                    "its %zu bytes", at, count, len);
    r->pending = 1;
    r->pending_at = at;
    r->pending_len = len;
    r->decoded = 0;
    r->ev = r->thr = NULL;
    r->ev_left = count;
    /* No event to read: checked now, as every section is. */
    if (count == 0)
        return evprof__trace_unpack_saved(r);
    return 0;
}

/* The next events of a decoded EVENTS_PACKED section. */
static size_t copy_decoded(evprof_trace_reader *r, evprof_event *out,
                           uint32_t *thread, size_t max)
{
    size_t k = r->ev_left < max ? (size_t)r->ev_left : max;

    memcpy(out, r->dec + r->dec_pos, k * sizeof(*out));
    if (thread != NULL)
        memcpy(thread, r->dec_thr + r->dec_pos, k * sizeof(*thread));
    r->dec_pos += k;
    r->ev_left -= k;
    r->events += k;
    return k;
}

static int64_t read_some(evprof_trace_reader *r, evprof_event *out,
                         uint32_t *thread, size_t max)
{
    size_t n = 0;

    while (n < max && !r->done) {
        if (r->ev_left == 0) {
            /* The events already in `out` are good: they go out now, the
             * error with the next call. */
            if (evprof__trace_next_section(r))
                return n > 0 ? (int64_t)n : r->error;
            continue;
        }
        if (r->pending && max - n >= r->ev_left) {
            /* Straight into the caller's array: what is there past the
             * count returned means nothing, should the section lie. */
            if (unpack(r, out + n, thread != NULL ? thread + n : NULL))
                return n > 0 ? (int64_t)n : r->error;
            n += (size_t)r->ev_left;
            r->events += r->ev_left;
            r->ev_left = 0;
            continue;
        }
        if (r->pending && evprof__trace_unpack_saved(r))
            return n > 0 ? (int64_t)n : r->error;
        if (r->decoded) {
            n += copy_decoded(r, out + n, thread != NULL ? thread + n : NULL,
                              max - n);
            continue;
        }
        out[n].id_frame = (int64_t)get_u64(r->ev);
        out[n].id_arg = (int64_t)get_u64(r->ev + 8);
        out[n].event = (int64_t)get_u64(r->ev + 16);
        out[n].time = (int64_t)get_u64(r->ev + 24);
        out[n].value1 = (int64_t)get_u64(r->ev + 32);
        out[n].value2 = (int64_t)get_u64(r->ev + 40);
        r->ev += TRACE_EVENT_SIZE;
        if (r->thr != NULL) {
            uint32_t t = get_u32(r->thr);

            r->thr += 4;
            if ((uint64_t)t + 1 > r->max_thread)
                r->max_thread = (uint64_t)t + 1;
            if (thread != NULL)
                thread[n] = t;
        } else if (thread != NULL) {
            thread[n] = UINT32_MAX;
        }
        r->ev_left--;
        r->events++;
        n++;
    }
    return (int64_t)n;
}

int64_t evprof_trace_read_events(evprof_trace_reader *r, evprof_event *out,
                                 uint32_t *thread, size_t max)
{
    int64_t n;

    if (r == NULL || (out == NULL && max > 0))
        return -EINVAL;
    if (r->error)
        return r->error;
    n = read_some(r, out, thread, max);
    if (n > 0 && (r->flags & EVPROF_READ_FREED_SIZES)
        && evprof__freed_apply(&r->freed, out, (size_t)n) != 0) {
        /* The events are given out as read; the error comes next. */
        evprof__trace_fail(r, -ENOMEM, "out of memory (the table of the "
                           "blocks live)");
    }
    return n;
}

int64_t evprof__trace_read_whole(evprof_trace_reader *r, evprof_event **ev,
                                 uint32_t **thread, size_t *cap, size_t want)
{
    size_t need;

    if (r->error)
        return r->error;
    while (r->ev_left == 0 && !r->done)
        if (evprof__trace_next_section(r))
            return r->error;
    if (r->done)
        return 0;
    /* A packed section not decoded yet goes whole into the arrays: no
     * copy through the reader's own. */
    need = r->pending ? (size_t)r->ev_left : want;
    if (need > *cap) {
        evprof_event *e = realloc(*ev, need * sizeof(**ev));
        uint32_t *t;

        if (e == NULL)
            return evprof__trace_fail(r, -ENOMEM, "out of memory");
        *ev = e;
        if ((t = realloc(*thread, need * sizeof(**thread))) == NULL)
            return evprof__trace_fail(r, -ENOMEM, "out of memory");
        *thread = t;
        *cap = need;
    }
    return evprof_trace_read_events(r, *ev, *thread, need);
}

int evprof_trace_reader_set_flags(evprof_trace_reader *r, unsigned flags)
{
    if (r == NULL || (flags & ~(unsigned)EVPROF_READ_FREED_SIZES))
        return -EINVAL;
    if (!(flags & EVPROF_READ_FREED_SIZES))
        evprof__freed_clear(&r->freed);
    r->flags = flags;
    return 0;
}

