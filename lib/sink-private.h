/*
 * sink-private.h: what the sinks share, behind the one interface the
 * driver (lib/sink.c) calls.  A sink is a file of its own that defines an
 * evprof__sink_ops and is listed in the table of lib/sink.c.
 */
#ifndef EVPROF_SINK_PRIVATE_H
#define EVPROF_SINK_PRIVATE_H 1

#include <stdio.h>

#include "evprof.h"

/* Thread index of events without one (the reader's UINT32_MAX). */
#define EVPROF__NO_THREAD UINT32_MAX

/* ---- int64 -> uint32 map, open addressing -------------------------- */

typedef struct evprof__imap {
    struct evprof__islot { int64_t key; uint32_t val, used; } *slot;
    size_t cap, n;      /* cap: a power of two, or 0 */
} evprof__imap;

/* The value of key, or -1. */
int64_t evprof__imap_get(const evprof__imap *m, int64_t key);
/* Sets key to val; 0 or -ENOMEM. */
int evprof__imap_put(evprof__imap *m, int64_t key, uint32_t val);
void evprof__imap_free(evprof__imap *m);

/* ---- names of keys, resolved once the tables are read -------------- */

typedef struct evprof__names {
    const evprof_trace_reader *r;
    evprof__imap index;       /* key -> name table entry (the last one) */
} evprof__names;

/* What an event's key stands for, as the Python package shows it. */
typedef struct evprof__desc {
    const char *name;   /* "" for an unknown key */
    const char *mod;    /* module, or the source file of a C function */
    int64_t lineno;     /* first line, -1 when unknown (and for builtins) */
} evprof__desc;

int evprof__names_init(evprof__names *n, const evprof_trace_reader *r);
void evprof__names_free(evprof__names *n);
/* Describes key; for a builtin call (c_call...) lineno is -1. */
void evprof__names_desc(const evprof__names *n, int64_t key, int builtin,
                        evprof__desc *d);

/* ---- the interface of a sink ---------------------------------------- */

typedef struct evprof__sink_ctx {
    evprof_trace_reader *r;   /* tables complete in end(), or in begin()
                               * of a sink with EVPROF__SINK_TABLES */
    FILE *out;
    const evprof_sink_options *opt;
    int64_t pid;              /* opt->pid, else the trace writer's */
    const char *process_name;
} evprof__sink_ctx;

/* The sink needs the tables (names, threads, META) complete before the
 * events: the file is first read through without decoding its events
 * (evprof_trace_reader_finish), then for them. */
#define EVPROF__SINK_TABLES 2

typedef struct evprof__sink_ops {
    const char *name;
    int flags;
    /* Sets *state; 0 or a negative code. */
    int (*begin)(void **state, const evprof__sink_ctx *ctx);
    /* n events and their thread indices. */
    int (*events)(void *state, const evprof_event *ev,
                  const uint32_t *thread, size_t n);
    /* Writes the rest of the output. */
    int (*end)(void *state, const evprof__sink_ctx *ctx);
    void (*free)(void *state);
} evprof__sink_ops;

extern const evprof__sink_ops evprof__sink_summary;
extern const evprof__sink_ops evprof__sink_summary_tsv;
extern const evprof__sink_ops evprof__sink_chrome;
extern const evprof__sink_ops evprof__sink_perfetto;

/* ---- helpers -------------------------------------------------------- */

/* Thread slot of an event among nslots (the THREADS table, at least 1):
 * its index; slot 0 for an event without one (or past the table, which
 * the reader refuses), as Python gives those to the first thread. */
static inline size_t evprof__slot(size_t nslots, uint32_t t)
{
    return t < nslots ? t : 0;
}

/* Slots of the THREADS table of r: its size, at least 1. */
size_t evprof__nslots(const evprof_trace_reader *r);

/* The ident of slot i (0 without a THREADS table), and its native id. */
uint64_t evprof__thread_ident(const evprof_trace_reader *r, size_t i);
int64_t evprof__thread_native(const evprof_trace_reader *r, size_t i);

/* The name of each slot's track (evprof__nslots of them), threads of one
 * ident told apart by the order of their META names (sink_threads.c):
 * 0 and *out, to free with evprof__thread_labels_free, or -ENOMEM. */
int evprof__thread_labels(const evprof_trace_reader *r, char ***out);
void evprof__thread_labels_free(char **label, size_t n);

/* Writes s as the body of a JSON string (no quotes), as Python's
 * json.dumps(ensure_ascii=False) and then backslashreplace: bytes that
 * are not UTF-8 become \udcNN. */
void evprof__json_str(FILE *f, const char *s);

/* Code points of s, a byte that is not UTF-8 counting as one. */
size_t evprof__utf8_len(const char *s);
/* Where the last n code points of s start. */
const char *evprof__utf8_tail(const char *s, size_t n);
/* Writes s with the bytes that are not UTF-8 as \xNN (Python's
 * backslashreplace, as `evprof report` prints names). */
void evprof__print_str(FILE *f, const char *s);

/* Is an event code a frame open, a frame close (a Python `exception`
 * closes nothing: the function still returns), builtin, memory. */
static inline int evprof__is_open(int64_t code)
{
    return code == EVPROF_CALL || code == EVPROF_C_CALL;
}

static inline int evprof__is_close(int64_t code)
{
    return code == EVPROF_RETURN || code == EVPROF_C_RETURN
           || code == EVPROF_C_EXCEPTION;
}

static inline int evprof__is_builtin(int64_t code)
{
    return code == EVPROF_C_CALL || code == EVPROF_C_RETURN
           || code == EVPROF_C_EXCEPTION;
}

static inline int evprof__is_memory(int64_t code)
{
    return code >= EVPROF_MALLOC && code <= EVPROF_REALLOC_FREE;
}

#endif /* EVPROF_SINK_PRIVATE_H */
