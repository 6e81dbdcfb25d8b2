/*
 * trace-write-private.h: the trace writer's state, shared by
 * trace_write.c (the file, its sections, the events) and
 * trace_write_tables.c (the META, THREADS, NAMES and LINES sections).
 * Not installed.
 */
#ifndef EVPROF_TRACE_WRITE_PRIVATE_H
#define EVPROF_TRACE_WRITE_PRIVATE_H 1

#include <pthread.h>
#include <stdio.h>

#include "trace-private.h"

struct evprof_trace_writer {
    /* Around every public function: a stream's thread writes EVENTS
     * sections while other threads write names, threads or META. */
    pthread_mutex_t lock;
    int attached;         /* a stream writes here: flush every section */
    FILE *f;
    int error;            /* the first error, sticky */
    unsigned char *buf;   /* section payload being built */
    size_t cap;
    uint64_t events, sections, lost;
};

/* Sets the writer's error (the first one sticks); returns the error. */
int evprof__tw_fail(evprof_trace_writer *w, int code);
/* Makes w->buf hold n bytes; 0 or the error. */
int evprof__tw_reserve(evprof_trace_writer *w, size_t n);
/* Writes a section of type and flags whose payload is w->buf[0..len);
 * 0 or the error. */
int evprof__tw_emit(evprof_trace_writer *w, uint32_t type, uint32_t flags,
                    size_t len);

/* The body of a public function: call under the writer's lock. */
#define LOCKED(w, call)                         \
    do {                                        \
        int rc_;                                \
        if ((w) == NULL)                        \
            return -EINVAL;                     \
        pthread_mutex_lock(&(w)->lock);         \
        rc_ = (call);                           \
        pthread_mutex_unlock(&(w)->lock);       \
        return rc_;                             \
    } while (0)

#endif /* EVPROF_TRACE_WRITE_PRIVATE_H */
