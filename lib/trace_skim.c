/*
 * trace_skim.c: the thread indices of the events a skimming reader
 * (evprof__trace_reader_skim) passes over unread, needed only when the
 * file is cut off: then the threads whose THREADS entry was not written
 * yet (a stream writes it after their first events) get threads of their
 * own (evprof__trace_threads_unlisted), as the events reader gives them.
 *
 * A complete file costs a note of each events section.  A cut one costs
 * reading the thread runs of its EVENTS_PACKED sections (a few bytes
 * each in a streamed file) and, for a section whose runs name a thread
 * past the table, its whole payload: only indices of a section that
 * passes its checksum count, as for the events reader (the last section
 * of a cut file may be stale blocks or zeros).
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "trace-read-private.h"

/* The prefix of a payload read first for its thread runs. */
#define RUNS_PREFIX 4096

int evprof__trace_skim_note(evprof_trace_reader *r, uint64_t at,
                            uint32_t type, uint64_t len, uint32_t crc,
                            const unsigned char *p)
{
    uint32_t flag = type == SEC_EVENTS ? EVENTS_FLAG_THREAD
                                       : PACKED_FLAG_THREAD;
    struct evprof__skimmed *s;

    if (!(get_u32(p + 4) & flag) || get_u32(p) == 0)
        return 0; /* no thread index: nothing to learn */
    if (r->nskimmed == r->skimmed_cap) {
        size_t cap = r->skimmed_cap ? r->skimmed_cap * 2 : 64;

        s = realloc(r->skimmed, cap * sizeof(*s));
        if (s == NULL)
            return evprof__trace_fail(r, -ENOMEM, "out of memory");
        r->skimmed = s;
        r->skimmed_cap = cap;
    }
    s = &r->skimmed[r->nskimmed++];
    s->at = at;
    s->len = len;
    s->crc = crc;
    s->type = type;
    return 0;
}

/* Reads n bytes of the payload of s into r->buf (grown); 0 or -1. */
static int read_payload(evprof_trace_reader *r,
                        const struct evprof__skimmed *s, size_t n)
{
    if (n > r->cap) {
        unsigned char *p = realloc(r->buf, n);

        if (p == NULL)
            return -1;
        r->buf = p;
        r->cap = n;
    }
    if (fseek(r->f, (long)(s->at + TRACE_SECTION_HEADER), SEEK_SET) != 0)
        return -1;
    return fread(r->buf, 1, n, r->f) == n ? 0 : -1;
}

/* 1 + the largest thread index of the events of s, read whole and
 * checked; 0 when it fails its checksum or cannot be read. */
static uint64_t checked_max(evprof_trace_reader *r,
                            const struct evprof__skimmed *s)
{
    size_t len = (size_t)s->len, i, count;
    uint64_t max = 0;

    if (read_payload(r, s, len) != 0
        || evprof__crc32(0, r->buf, len) != s->crc)
        return 0;
    if (s->type == SEC_EVENTS_PACKED)
        return evprof__trace_packed_threads(r->buf, len, &max) == 0 ? max
                                                                    : 0;
    count = get_u32(r->buf);
    if (len - 8 != count * (TRACE_EVENT_SIZE + 4))
        return 0;
    for (i = 0; i < count; i++) {
        uint64_t t = get_u32(r->buf + 8 + count * TRACE_EVENT_SIZE + 4 * i);

        if (t + 1 > max)
            max = t + 1;
    }
    return max;
}

void evprof__trace_skim_threads(evprof_trace_reader *r)
{
    size_t i;

    for (i = 0; i < r->nskimmed; i++) {
        const struct evprof__skimmed *s = &r->skimmed[i];
        uint64_t max;

        if (s->type == SEC_EVENTS_PACKED) {
            size_t n = s->len < RUNS_PREFIX ? (size_t)s->len : RUNS_PREFIX;

            /* Runs that fit in the prefix and stay within the table say
             * all there is to know; else the whole section is read. */
            if (read_payload(r, s, n) == 0
                && evprof__trace_packed_threads(r->buf, n, &max) == 0
                && max <= r->nthreads)
                continue;
        }
        max = checked_max(r, s);
        if (max > r->max_thread)
            r->max_thread = max;
    }
}
