/*
 * evprof/sink.h: outputs made from a trace file, included by <evprof.h>.
 *
 * A sink reads a trace (doc/trace-format.md) as a stream, a block of
 * events at a time, and writes one output: the per-function summary as
 * text or TSV, Chrome Trace Event JSON, or a Perfetto protobuf trace.
 * Its memory follows the distinct names, threads and stack depth of the
 * trace, and the blocks it reads, never the number of events.  Sinks are
 * named ("summary", "summary-tsv", "chrome", "perfetto");
 * evprof_sink_name() lists them.
 */
#ifndef EVPROF_SINK_H
#define EVPROF_SINK_H 1

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Summary sort keys (the `sort` option). */
enum {
    EVPROF_SORT_INCLUSIVE = 0, /* inclusive time, largest first */
    EVPROF_SORT_EXCLUSIVE = 1,
    EVPROF_SORT_CALLS = 2,
    EVPROF_SORT_BYTES = 3,     /* bytes allocated */
    EVPROF_SORT_NET = 4,       /* bytes allocated and not freed */
    EVPROF_SORT_NAME = 5       /* by name, A to Z */
};

/* What a run read, for a caller that prints a header (see stats below). */
typedef struct evprof_sink_stats {
    uint64_t events;    /* events read */
    uint64_t lost;      /* events the writer counted as lost */
    size_t threads;     /* entries of the THREADS table */
    int clock;          /* EVPROF_CLOCK_* of the timestamps */
    int64_t pid;        /* the process that wrote the trace */
    /* A trace cut off, read with the `partial` option: 1, the offset
     * where its last complete section ends (the output covers the events
     * before it) and the bytes after it, of a section cut short or
     * failing its checksum, that were not used; else 0, 0, 0. */
    int truncated;
    uint64_t cut_offset;
    uint64_t cut_bytes;
} evprof_sink_stats;

/* What evprof_sink_run returns for a trace cut off read with the
 * `partial` option: the output is complete, made of the events and
 * tables of the sections before the cut. */
#define EVPROF_SINK_TRUNCATED 1

typedef struct evprof_sink_options {
    int sort;           /* EVPROF_SORT_*: summary rows, largest first */
    long limit;         /* summary text: rows shown, 0 all (default 30) */
    int64_t pid;        /* the process shown; 0: the trace writer's */
    const char *process_name; /* NULL: META "program", else "evprof" */
    size_t block;       /* events read at a time (default 4096) */
    evprof_sink_stats *stats; /* filled when the run succeeds, if not NULL */
    /* Called before the first block and after each block of events read
     * (and after a pass over the tables), NULL for none: `done` of `total`
     * bytes of reading, total being the file's size times the passes the
     * sink makes over it (1 or 2).  A nonzero return stops the run, which
     * then returns -ECANCELED. */
    int (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *progress_ctx;
    /* Nonzero: a trace that ends before its END section (its writer
     * killed, a full disk), its last section cut short or failing its
     * checksum, is read up to its last complete section, the output
     * written whole from it, and the run returns EVPROF_SINK_TRUNCATED.
     * 0 (the default): such a trace is an error, -ENODATA. */
    int partial;
} evprof_sink_options;

/* Fills *opt with the defaults. */
void evprof_sink_options_init(evprof_sink_options *opt);

/* The sort key of "inclusive", "exclusive", "calls", "bytes", "net",
 * "name"; -EINVAL for anything else. */
int evprof_sink_sort_key(const char *name);

/* The name of sink `index` (0, 1, ...), NULL past the last one. */
const char *evprof_sink_name(size_t index);

/*
 * Reads the trace file `trace_path` and writes what sink `sink` makes of
 * it to `out` (opt NULL: the defaults).  Returns 0, EVPROF_SINK_TRUNCATED
 * for a trace cut off read with opt->partial, or a negative code:
 * -ENOENT for an unknown sink, the reader's code for a trace it refuses
 * (-EBADMSG, -EPROTO, -ENOENT, -ENODATA for one cut off without partial,
 * ...), -EIO or the errno of a failed write, -ENOMEM.  When err is not
 * NULL, a message saying what went wrong (the reader's, for a damaged
 * trace), or for EVPROF_SINK_TRUNCATED where the trace was cut, is
 * written to it, at most errlen bytes with the NUL, "" on success.  Part
 * of the output may have been written when it fails.
 */
int evprof_sink_run(const char *trace_path, const char *sink, FILE *out,
                    const evprof_sink_options *opt, char *err,
                    size_t errlen) EVPROF_WARN_UNUSED;

/* The same, writing to the file `out_path` (created or truncated). */
int evprof_sink_run_path(const char *trace_path, const char *sink,
                         const char *out_path, const evprof_sink_options *opt,
                         char *err, size_t errlen) EVPROF_WARN_UNUSED;

#ifdef __cplusplus
}
#endif

#endif /* EVPROF_SINK_H */
