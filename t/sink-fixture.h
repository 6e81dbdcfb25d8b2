/*
 * sink-fixture.h: traces for the sink tests, written with the trace
 * writer: a small one with exact expected results, and a large fib-like
 * one of any length, streamed so that writing it costs no memory.
 */
#ifndef T_SINK_FIXTURE_H
#define T_SINK_FIXTURE_H 1

#include <stddef.h>
#include <stdint.h>

#include <evprof.h>

/* Writes events, names and threads to path; bails out on failure. */
void fixture_write(const char *path, const evprof_event *ev,
                   const uint32_t *thread, size_t n,
                   const evprof_trace_name *names, size_t nnames,
                   const evprof_thread_info *threads, size_t nthreads);

/* A recursive fib on two threads, with builtins and allocations: n
 * events (about), their calls balanced. */
void fixture_fib(const char *path, uint64_t n);

#endif /* T_SINK_FIXTURE_H */
