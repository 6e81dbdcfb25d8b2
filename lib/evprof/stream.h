/*
 * evprof/stream.h: streaming a buffer into a trace file while threads log,
 * included by <evprof.h>.
 *
 * A background thread drains an EVPROF_GROW buffer into a trace writer: it
 * writes each thread's published events as EVENTS sections (one thread a
 * section, in the thread's order) and gives the chunks it drained back to
 * the buffer's slow path, so that the chunks' memory stays within a budget
 * however long the run.  Writers never wait on the fast path.  See
 * evprof_stream_start(3) and doc/architecture.md ("Streaming").
 */
#ifndef EVPROF_STREAM_H
#define EVPROF_STREAM_H 1

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct evprof_stream evprof_stream;

#define EVPROF_STREAM_DEFAULT_BUDGET ((size_t)32 << 20) /* 32 MiB */
#define EVPROF_STREAM_DEFAULT_PERIOD_MS 10

/* Flags of evprof_stream_options. */
enum {
    /* Over the budget, a thread whose chunk is full waits for the stream
     * to give one back instead of allocating past the budget (only when
     * one is on its way: a stream never deadlocks a writer). */
    EVPROF_STREAM_WAIT = 1
};

/* Options; NULL or a zeroed struct gives the defaults. */
typedef struct evprof_stream_options {
    size_t budget_bytes; /* chunks' memory to stay within; 0: 32 MiB */
    unsigned period_ms;  /* partly filled chunks drained this often; 0: 10 */
    unsigned flags;      /* EVPROF_STREAM_* */
} evprof_stream_options;

/* What a stream did so far (evprof_stream_get_stats, evprof_stream_stop). */
typedef struct evprof_stream_stats {
    uint64_t events;      /* written to the file */
    uint64_t sections;    /* EVENTS sections written */
    uint64_t lost;        /* drained but not written (write error) */
    uint64_t over_budget; /* chunks allocated past the budget */
    uint64_t waits;       /* times a writer waited for room (EVPROF_STREAM_WAIT) */
    size_t held_bytes;    /* the buffer's chunks hold this now */
    size_t peak_bytes;    /* and at most this since the stream started */
    size_t budget_bytes;
    int error;            /* the first write error, or 0 */
} evprof_stream_stats;

/*
 * Starts draining b into w from a new thread.  0 and *out, or -EINVAL
 * (NULL argument, b not EVPROF_GROW, two chunks of b larger than the
 * budget), -EBUSY (b or w already streamed), -ENOMEM, -EAGAIN (no
 * thread), or the writer's error.
 */
int evprof_stream_start(evprof_trace_writer *w, evprof_buffer *b,
                        const evprof_stream_options *opt,
                        evprof_stream **out) EVPROF_WARN_UNUSED;

/*
 * Returns once every event logged into the buffer before the call is
 * written to the file (handed to the kernel; no fsync).  0, the first
 * write error, -EINVAL, or -ESRCH in a forked child.
 */
int evprof_stream_flush(evprof_stream *s);

/* Fills *out; 0, -EINVAL, or -ESRCH in a forked child. */
int evprof_stream_get_stats(evprof_stream *s, evprof_stream_stats *out);

/*
 * Drains every event logged before the call, writes the THREADS section
 * and a META summary, joins the thread, frees s and leaves w open (write
 * names, then close it).  Fills *final (when not NULL).  0, the first
 * write error (s is freed all the same), -EINVAL, or -ESRCH in a forked
 * child (s is freed, nothing written).
 */
int evprof_stream_stop(evprof_stream *s, evprof_stream_stats *final);

/*
 * fn(ctx, w) is called on the stream's thread at each drain from the next
 * on, once the stream noted what the threads had published and before it
 * writes those events, and at the last drain of evprof_stream_stop: what
 * fn writes into w (names, lines of the code the events refer to)
 * precedes those events in the file.  fn must not log into the streamed
 * buffer.  fn NULL: none.  0, -EINVAL, or -ESRCH in a forked child.
 */
int evprof_stream_before_drain(evprof_stream *s,
                               void (*fn)(void *ctx, evprof_trace_writer *w),
                               void *ctx);

/* A chunk capacity (events) for evprof_buffer_new so that `threads`
 * threads logging at once fit in `budget_bytes` (four chunks a thread);
 * at least 1. */
size_t evprof_stream_capacity(size_t budget_bytes, size_t threads);

#ifdef __cplusplus
}
#endif

#endif /* EVPROF_STREAM_H */
