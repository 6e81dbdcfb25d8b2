/*
 * sink-read-private.h: how the driver of the sinks (sink.c) reads the
 * events of a trace, on a thread of their own (sink_read.c).  Not
 * installed.
 */
#ifndef EVPROF_SINK_READ_PRIVATE_H
#define EVPROF_SINK_READ_PRIVATE_H 1

#include <string.h>

#include "trace-read-private.h"

typedef struct evprof__sink_reading {
    evprof_trace_reader *r;
    size_t block;         /* events a block */
    /* Each block in the order of the file; a negative return stops. */
    int (*events)(void *state, const evprof_event *ev, const uint32_t *th,
                  size_t n);
    void *state;
    /* After each block: the reader's offset then; a negative return
     * stops. */
    int (*tick)(void *ctx, uint64_t offset);
    void *tick_ctx;
    int reader_error;     /* set: the code returned is the reader's */
} evprof__sink_reading;

/* Reads every event of s->r to its END section; 0, the negative code of
 * events() or tick(), the reader's (reader_error set) or -ENOMEM. */
int evprof__sink_read(evprof__sink_reading *s);

#endif /* EVPROF_SINK_READ_PRIVATE_H */
