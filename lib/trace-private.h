/*
 * trace-private.h: constants and byte helpers of the trace file format
 * (doc/trace-format.md), shared by trace_write.c and trace_read.c.
 * Not installed.
 */
#ifndef EVPROF_TRACE_PRIVATE_H
#define EVPROF_TRACE_PRIVATE_H 1

#include <stddef.h>
#include <stdint.h>

#include "evprof.h"

#define TRACE_MAGIC "\x89" "EVPROF\n"
#define TRACE_MAGIC_LEN 8
#define TRACE_HEADER_SIZE 64
#define TRACE_SECTION_HEADER 24
#define TRACE_EVENT_SIZE 48

enum {
    SEC_META = 1,
    SEC_THREADS = 2,
    SEC_EVENTS = 3,
    SEC_NAMES = 4,
    SEC_LINES = 5,
    SEC_EVENTS_PACKED = 6,
    SEC_END = 0xFFFF
};

#define SEC_FLAG_REQUIRED 1u  /* a reader that does not know the type fails */
#define EVENTS_FLAG_THREAD 1u /* thread indices follow the events */

/* Writers put at most this many events in one EVENTS section; readers
 * accept sections up to TRACE_MAX_SECTION bytes. */
#define TRACE_EVENTS_PER_SECTION 65536
#define TRACE_MAX_SECTION ((uint64_t)64 << 20)

/* EVENTS_PACKED (doc/trace-format.md): at most this many events a
 * section (readers refuse more: what one decodes is bounded), each at
 * most TRACE_PACKED_EVENT_MAX bytes (a tag byte, an event code and five
 * columns of at most 10 bytes), and a thread run at most
 * TRACE_PACKED_RUN_MAX (a thread index and a length). */
#define TRACE_PACKED_MAX_EVENTS 65536
#define TRACE_PACKED_EVENT_MAX 61
#define TRACE_PACKED_RUN_MAX 8
#define TRACE_PACKED_BOUND(n) \
    (8 + 5 + (size_t)(n) * (TRACE_PACKED_EVENT_MAX + TRACE_PACKED_RUN_MAX))
#define PACKED_FLAG_THREAD 1u /* thread runs precede the events */
#define PACKED_CLASS_OTHER 15 /* the tag class of an explicit event code */

#define THREAD_RECORD 32
#define NAME_RECORD 32
#define LINE_RECORD 24

uint32_t evprof__crc32(uint32_t crc, const void *data, size_t n);

/* For lib/stream.c: a section whose payload the caller built (`events`
 * are added to the END count when it is written); attaching a stream
 * (-EBUSY when one is attached, or the writer's error) makes close refuse
 * and every section go to the kernel at once; the sticky error; the
 * writer's lock, around fork(). */
/* lib/trace_encode.c: the payload of an EVENTS_PACKED section of n
 * events (n at most TRACE_PACKED_MAX_EVENTS) into out, which holds
 * TRACE_PACKED_BOUND(n) bytes; returns its length.  The events are
 * either records (`ev`, with the thread index of each in `thread`, or
 * none when NULL) or, when ev is NULL, n 48-byte little-endian records
 * at `rec` (the EVENTS layout) all of thread `one_thread`. */
size_t evprof__trace_pack(unsigned char *out, const evprof_event *ev,
                          const uint32_t *thread, const unsigned char *rec,
                          uint32_t one_thread, size_t n);

/* lib/trace_decode.c: decodes the `count` events of an EVENTS_PACKED
 * payload p[0..len) (its 8 first bytes included) into out and, when not
 * NULL, their threads into thread (UINT32_MAX when the section has
 * none); *max_thread gets 1 + the largest thread index (0 when none).
 * 0, or -EBADMSG with a message in msg[0..msglen) naming the offset in
 * the payload. */
int evprof__trace_unpack(const unsigned char *p, size_t len,
                         evprof_event *out, uint32_t *thread,
                         uint64_t *max_thread, char *msg, size_t msglen);

/* The same for the thread runs only of the payload p[0..len) (or of
 * its first len bytes: -EBADMSG when the runs do not fit): *max_thread,
 * 0 without runs.  0 or -EBADMSG. */
int evprof__trace_packed_threads(const unsigned char *p, size_t len,
                                 uint64_t *max_thread);

/* For lib/stream.c: an EVENTS_PACKED section of n 48-byte little-endian
 * records at `rec`, all of thread `thread`, packed into the writer's
 * buffer and written (lib/trace_write.c). */
int evprof__trace_write_records(evprof_trace_writer *w,
                                const unsigned char *rec, uint32_t thread,
                                size_t n);

int evprof__trace_write_section(evprof_trace_writer *w, uint32_t type,
                                uint32_t flags, const unsigned char *p,
                                size_t len, uint64_t events);
int evprof__trace_writer_attach(evprof_trace_writer *w, int on);
int evprof__trace_writer_error(evprof_trace_writer *w);
void evprof__trace_writer_lock(evprof_trace_writer *w, int lock);

static inline void put_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static inline void put_u32(unsigned char *p, uint32_t v)
{
    int i;

    for (i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline void put_u64(unsigned char *p, uint64_t v)
{
    int i;

    for (i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint16_t get_u16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16)
        | ((uint32_t)p[3] << 24);
}

static inline uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | ((uint64_t)get_u32(p + 4) << 32);
}

#endif /* EVPROF_TRACE_PRIVATE_H */
