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
    SEC_END = 0xFFFF
};

#define SEC_FLAG_REQUIRED 1u  /* a reader that does not know the type fails */
#define EVENTS_FLAG_THREAD 1u /* thread indices follow the events */

/* Writers put at most this many events in one EVENTS section; readers
 * accept sections up to TRACE_MAX_SECTION bytes. */
#define TRACE_EVENTS_PER_SECTION 65536
#define TRACE_MAX_SECTION ((uint64_t)64 << 20)

#define THREAD_RECORD 32
#define NAME_RECORD 32
#define LINE_RECORD 24

uint32_t evprof__crc32(uint32_t crc, const void *data, size_t n);

/* For lib/stream.c: a section whose payload the caller built (`events`
 * are added to the END count when it is written); attaching a stream
 * (-EBUSY when one is attached, or the writer's error) makes close refuse
 * and every section go to the kernel at once; the sticky error; the
 * writer's lock, around fork(). */
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
