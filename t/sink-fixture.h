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

/* The same with META pairs (key, value, ..., NULL; meta may be NULL);
 * streamed: as a stream writes a file, META order = thread and one
 * thread a section (the threads' events in their order, the last thread
 * first), thread indices required. */
void fixture_write_as(const char *path, const evprof_event *ev,
                      const uint32_t *thread, size_t n,
                      const evprof_trace_name *names, size_t nnames,
                      const evprof_thread_info *threads, size_t nthreads,
                      const char *const *meta, int streamed);

/* The whole of a file, NUL-terminated; bails out on failure. */
char *fixture_slurp(const char *path);

/* Chrome JSON with every "ts" plus otherData.t0_ns (the trace's own
 * times, exact) and t0_ns 0; bails out on a time of another form. */
char *fixture_chrome_absolute(const char *json);

/* The Perfetto trace decoded by protoc against t/sinks.proto, one line
 * an event, "SEQ TIME TYPE [value] [name]" (times made absolute), and
 * *events their count; NULL when protoc is missing. */
char *fixture_replay(const char *pftrace, int *events);

/* A recursive fib on two threads, with builtins and allocations: n
 * events (about), their calls balanced. */
void fixture_fib(const char *path, uint64_t n);

#endif /* T_SINK_FIXTURE_H */
