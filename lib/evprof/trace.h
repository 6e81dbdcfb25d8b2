/*
 * evprof/trace.h: the trace file, included by <evprof.h>.
 *
 * A trace file (doc/trace-format.md) is self-contained: a versioned header
 * (magic, version, clock, columns, process id), then sections, each with
 * its type, length and CRC-32: metadata (key = value), threads, events
 * (written and read chunk by chunk: a trace never needs to fit in memory),
 * name tables (key -> kind, name, module, file, first line) and line tables
 * ((key, offset) -> line), and an END section with the totals.
 *
 * The writer keeps the first error and returns it from every later call and
 * from evprof_trace_writer_close.  The reader never trusts the file: a
 * truncated, corrupted or foreign file gives a negative code (-EBADMSG,
 * -EPROTO for an unsupported version) and evprof_trace_reader_error() says
 * what is wrong and where.
 */
#ifndef EVPROF_TRACE_H
#define EVPROF_TRACE_H 1

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EVPROF_TRACE_VERSION_MAJOR 1
#define EVPROF_TRACE_VERSION_MINOR 1

/* Kinds of named keys (the NAMES section). */
enum {
    EVPROF_NAME_OTHER = 0,
    EVPROF_NAME_CODE = 1,    /* a Python code object */
    EVPROF_NAME_BUILTIN = 2, /* a Python builtin callable */
    EVPROF_NAME_NATIVE = 3   /* a native function: key is its address */
};

/* One entry of a name table.  Strings may be NULL (written as empty). */
typedef struct evprof_trace_name {
    int64_t key;
    int32_t kind;       /* EVPROF_NAME_* */
    int32_t first_line; /* 0 when unknown */
    const char *name;
    const char *module; /* module, or the object file of a native function */
    const char *file;   /* source file, "" when unknown */
} evprof_trace_name;

/* One entry of a line table: code `key` at `offset` is on `line`. */
typedef struct evprof_trace_line {
    int64_t key;
    int64_t offset;
    int32_t line;
} evprof_trace_line;

/* What the header of a trace says. */
typedef struct evprof_trace_info {
    uint32_t version_major;
    uint32_t version_minor;
    uint32_t n_columns;       /* EVPROF_N_COLUMNS */
    int clock;                /* EVPROF_CLOCK_* of the timestamps */
    int64_t pid;              /* the process that wrote the file */
    int64_t created_realtime_ns; /* CLOCK_REALTIME when the file was made */
    int64_t created_clock_ns;    /* evprof_clock_ns() at the same moment */
} evprof_trace_info;

/* ---- writing --------------------------------------------------------- */

typedef struct evprof_trace_writer evprof_trace_writer;

/*
 * Creates (or truncates) `path` and writes the header.  0 and *out, or a
 * negative code (-EINVAL, -ENOENT, -EACCES, -ENOMEM, -EIO, ...).
 */
int evprof_trace_writer_open(const char *path, evprof_trace_writer **out)
    EVPROF_WARN_UNUSED;

/* A META section with one pair (the writer adds "clock", "evprof",
 * "columns" itself).  0 or a negative code. */
int evprof_trace_write_meta(evprof_trace_writer *w, const char *key,
                            const char *value);

/* A THREADS section: thread i of the events is info[i], a thread of the
 * calling process. */
int evprof_trace_write_threads(evprof_trace_writer *w,
                               const evprof_thread_info *info, size_t n);

/* The same, thread i being of process pid[i] (pid NULL: the calling
 * process), e.g. for traces of several processes merged into one. */
int evprof_trace_write_threads_pid(evprof_trace_writer *w,
                                   const evprof_thread_info *info,
                                   const int64_t *pid, size_t n);

/* EVENTS sections for n events; thread may be NULL (no thread index). */
int evprof_trace_write_events(evprof_trace_writer *w, const evprof_event *ev,
                              const uint32_t *thread, size_t n);

/*
 * Moves every event of b into the file, a chunk at a time (with thread
 * indices), then its THREADS section, and adds its lost count to the END
 * section.  Returns the number of events written, or a negative code.
 */
int64_t evprof_trace_write_buffer(evprof_trace_writer *w, evprof_buffer *b);

/* A NAMES section / a LINES section. */
int evprof_trace_write_names(evprof_trace_writer *w,
                             const evprof_trace_name *names, size_t n);
int evprof_trace_write_lines(evprof_trace_writer *w,
                             const evprof_trace_line *lines, size_t n);

/* Adds to the lost-event count recorded in the END section. */
int evprof_trace_writer_add_lost(evprof_trace_writer *w, uint64_t lost);

/*
 * Writes the END section, closes the file and frees w (also on error).
 * 0, or the first error met while writing.  NULL gives -EINVAL.
 */
int evprof_trace_writer_close(evprof_trace_writer *w);

/* ---- reading --------------------------------------------------------- */

typedef struct evprof_trace_reader evprof_trace_reader;

/* Opens `path` and checks its header.  0 and *out, or a negative code;
 * *out is still set (when not -ENOMEM / -EINVAL) so that
 * evprof_trace_reader_error can tell why: close it. */
int evprof_trace_reader_open(const char *path, evprof_trace_reader **out)
    EVPROF_WARN_UNUSED;

/* The header (NULL for NULL). */
const evprof_trace_info *evprof_trace_reader_info(const evprof_trace_reader *r);

/*
 * Reads up to `max` next events (and their thread indices, UINT32_MAX when
 * the file has none, when thread is not NULL).  Sections met on the way are
 * checked and their tables kept.  Returns the count, 0 once the END section
 * was read and checked, or a negative code (and keeps returning it).
 */
int64_t evprof_trace_read_events(evprof_trace_reader *r, evprof_event *out,
                                 uint32_t *thread, size_t max)
    EVPROF_WARN_UNUSED;

/* Reads (and checks) everything up to the END section, discarding the
 * events, so that the tables are complete.  0 or a negative code. */
int evprof_trace_reader_finish(evprof_trace_reader *r) EVPROF_WARN_UNUSED;

/* Flags of evprof_trace_reader_set_flags. */
enum {
    /* Fill the value2 of free and realloc_free events that hold 0 with
     * minus the size of the block they free, from the allocation of the
     * same pointer earlier in the trace (0 stays when there is none). */
    EVPROF_READ_FREED_SIZES = 1
};

/* Sets how the next events are read (0 or EVPROF_READ_FREED_SIZES):
 * 0, or -EINVAL for NULL or an unknown flag. */
int evprof_trace_reader_set_flags(evprof_trace_reader *r, unsigned flags);

/* What went wrong ("" when nothing did). */
const char *evprof_trace_reader_error(const evprof_trace_reader *r);

/* Tables read so far (complete once read_events returned 0).  Pointers
 * stay valid until evprof_trace_reader_close. */
const char *evprof_trace_reader_meta(const evprof_trace_reader *r,
                                     const char *key);
/* Every META pair, in file order (a key may come more than once; the
 * last one is what evprof_trace_reader_meta gives): 0, -EINVAL, -ERANGE. */
size_t evprof_trace_reader_meta_count(const evprof_trace_reader *r);
int evprof_trace_reader_meta_pair(const evprof_trace_reader *r, size_t index,
                                  const char **key, const char **value)
    EVPROF_WARN_UNUSED;
size_t evprof_trace_reader_thread_count(const evprof_trace_reader *r);
int evprof_trace_reader_thread(const evprof_trace_reader *r, size_t index,
                               evprof_thread_info *info) EVPROF_WARN_UNUSED;
/* The process of thread `index` (>= 0), or -EINVAL, -ERANGE. */
int64_t evprof_trace_reader_thread_pid(const evprof_trace_reader *r,
                                       size_t index);
size_t evprof_trace_reader_name_count(const evprof_trace_reader *r);
int evprof_trace_reader_name(const evprof_trace_reader *r, size_t index,
                             evprof_trace_name *out) EVPROF_WARN_UNUSED;
int evprof_trace_reader_find_name(const evprof_trace_reader *r, int64_t key,
                                  evprof_trace_name *out) EVPROF_WARN_UNUSED;
size_t evprof_trace_reader_line_count(const evprof_trace_reader *r);
int evprof_trace_reader_line(const evprof_trace_reader *r, size_t index,
                             evprof_trace_line *out) EVPROF_WARN_UNUSED;
/* The line of (key, offset): >0, or -ENOENT. */
int evprof_trace_reader_find_line(const evprof_trace_reader *r, int64_t key,
                                  int64_t offset);
/* Events counted lost by the writer (from the END section). */
uint64_t evprof_trace_reader_lost(const evprof_trace_reader *r);
/* Events read so far. */
uint64_t evprof_trace_reader_events(const evprof_trace_reader *r);

/* Closes the file and frees r.  NULL is allowed. */
void evprof_trace_reader_close(evprof_trace_reader *r);

#ifdef __cplusplus
}
#endif

#endif /* EVPROF_TRACE_H */
