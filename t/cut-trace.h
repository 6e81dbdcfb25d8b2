/*
 * cut-trace.h: the trace t/sinks-cut cuts, laid out as a stream writes
 * one: META, THREADS and NAMES before the events that use them, more
 * names, META and events after, then END.
 */
#ifndef T_CUT_TRACE_H
#define T_CUT_TRACE_H 1

#include <stddef.h>
#include <stdint.h>

#define MAXSEC 32

struct section {
    uint64_t start, end, events;
    uint32_t type;
    int64_t calls;      /* call and c_call events of an events section */
};

/* Writes the trace to path and reads it back: its bytes (to free) and
 * *len, its sections in sec[0..*nsec) (END last); bails out on failure. */
unsigned char *cut_trace(const char *path, size_t *len, struct section *sec,
                         int *nsec);

/* The whole of a file (NUL-terminated, to free) and *len. */
unsigned char *slurp(const char *path, size_t *len);

/* The n-byte little-endian integer at p. */
uint64_t get_le(const unsigned char *p, int n);

#endif /* T_CUT_TRACE_H */
