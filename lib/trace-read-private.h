/*
 * trace-read-private.h: the trace reader's state, shared by trace_read.c
 * (the file: header, sections, events) and trace_tables.c (the tables the
 * sections hold).  Not installed.
 */
#ifndef EVPROF_TRACE_READ_PRIVATE_H
#define EVPROF_TRACE_READ_PRIVATE_H 1

#include <stdio.h>

#include "trace-private.h"

/* The entries of one META section: `count` pairs "key\0value\0", each
 * string cut at its first NUL (the API gives C strings). */
struct meta_block {
    char *pairs;
    uint32_t count;
};

/* The blocks live at the point of the trace read so far, for
 * EVPROF_READ_FREED_SIZES (lib/trace_freed.c). */
struct evprof__freed_slot {
    uint64_t key;             /* the pointer */
    int64_t size;
    int used;
};

struct evprof__freed {
    struct evprof__freed_slot *slots;
    size_t cap, count;        /* cap: 0 or a power of two */
};

/* An events section a skimming reader passed over, whose events have
 * thread indices: where it is, its payload's length and checksum. */
struct evprof__skimmed {
    uint64_t at, len;
    uint32_t crc, type;
};

/* At most this many threads past the THREADS table of a file cut off
 * (see evprof__trace_threads_unlisted): more is a damaged file. */
#define TRACE_MAX_UNLISTED 4096

struct evprof_trace_reader {
    FILE *f;
    uint64_t offset;          /* of the next byte to read */
    evprof_trace_info info;
    int error;
    int done;
    char msg[256];
    /* The file ends before its END section (-ENODATA): the good data ends
     * at cut_at, cut_bytes more bytes (of a partial or unchecked last
     * section) follow it and are not used. */
    int cut;
    uint64_t cut_at, cut_bytes;
    unsigned char *buf;       /* the payload of the current section */
    size_t cap;
    /* the EVENTS section being read */
    const unsigned char *ev, *thr;
    uint64_t ev_left;
    uint64_t events, sections, lost;
    uint64_t max_thread;      /* 1 + the largest thread index seen */
    /* The EVENTS_PACKED section in buf, decoded whole when first read
     * (lib/trace_decode.c): into the caller's array when it has room,
     * else into dec, from which dec_pos is the next event. */
    int pending;              /* buf holds one not decoded yet */
    uint64_t pending_at;      /* its offset in the file */
    size_t pending_len;
    int decoded;              /* dec holds it */
    evprof_event *dec;
    uint32_t *dec_thr;
    size_t dec_pos;
    unsigned flags;           /* evprof_trace_reader_set_flags */
    int skim;                 /* evprof__trace_reader_skim */
    uint64_t size;            /* of the file, when skimming */
    struct evprof__skimmed *skimmed;
    size_t nskimmed, skimmed_cap;
    struct evprof__freed freed;
    /* Tables: memory bounded by the file, a small factor of the bytes of
     * each section (see trace_tables.c). */
    struct meta_block *meta;
    size_t nmeta, meta_cap;
    evprof_thread_info *threads;
    int64_t *thread_pids;     /* the pid of each thread */
    size_t nthreads;          /* listed ones, then the unlisted (a cut) */
    size_t listed;            /* entries of the last THREADS section */
    int have_threads;
    evprof_trace_name *names;
    size_t nnames, names_cap;
    char **strings;           /* the string storage of each NAMES section */
    size_t nstrings, strings_cap;
    int names_sorted;
    evprof_trace_line *lines;
    size_t nlines, lines_cap;
    int lines_sorted;
};

/* Sets the reader's error (the first one sticks) and message; returns the
 * error. */
int evprof__trace_fail(evprof_trace_reader *r, int code, const char *format,
                       ...) __attribute__((format(printf, 3, 4)));

/* Parse the payload r->buf[0..len) of a table section found at offset
 * `at`; 0 or the error. */
int evprof__trace_parse_meta(evprof_trace_reader *r, uint64_t at, size_t len);
int evprof__trace_parse_threads(evprof_trace_reader *r, uint64_t at,
                                size_t len);
int evprof__trace_parse_names(evprof_trace_reader *r, uint64_t at,
                              size_t len);
int evprof__trace_parse_lines(evprof_trace_reader *r, uint64_t at,
                              size_t len);
/* Fills the value2 of the frees among ev[0..n) (trace_freed.c); 0 or
 * -ENOMEM.  Clear frees the table. */
int evprof__freed_apply(struct evprof__freed *t, evprof_event *ev, size_t n);
void evprof__freed_clear(struct evprof__freed *t);

/* Reads the tables up to the END section, passing over the events
 * sections unread: the first pass of a sink that needs the tables before
 * the events, which a second reader reads and checks.  0 or the error of
 * a section other than events (or of a cut file). */
int evprof__trace_reader_skim(evprof_trace_reader *r);

/* Reads the next section (trace_read.c): parses a table, sets up the
 * events of an events section; 0 or the error. */
int evprof__trace_next_section(evprof_trace_reader *r);
/* The events sections (trace_read_events.c): sets up the EVENTS or
 * EVENTS_PACKED section in r->buf[0..len) found at `at`; decodes the
 * pending EVENTS_PACKED section into the reader's array.  0 or the
 * error. */
int evprof__trace_parse_events(evprof_trace_reader *r, uint64_t at,
                               size_t len);
int evprof__trace_parse_packed(evprof_trace_reader *r, uint64_t at,
                               size_t len);
int evprof__trace_unpack_saved(evprof_trace_reader *r);

/* For a reader of every event that can grow its arrays (the sinks'):
 * the events of one EVENTS_PACKED section whole, decoded straight into
 * ev and thread, grown to hold them (*cap events, at most
 * TRACE_PACKED_MAX_EVENTS), or up to `want` events of EVENTS sections,
 * as evprof_trace_read_events gives them; 0 at the end, or the error. */
int64_t evprof__trace_read_whole(evprof_trace_reader *r, evprof_event **ev,
                                 uint32_t **thread, size_t *cap, size_t want);

/* A file cut off: its events of thread indices past its THREADS table
 * (threads whose entry was not written yet: a stream writes it after
 * their first events) get threads of their own, unlisted ones (ident 0,
 * native id 0, the header's pid) after the listed.  0, or the error
 * (set) of too many of them or of memory. */
int evprof__trace_threads_unlisted(evprof_trace_reader *r);

/* lib/trace_skim.c: notes an events section a skimming reader passes
 * over (the header's fields, the payload's 8 first bytes at p); 0 or
 * the error.  At a cut, sets max_thread from the thread indices of the
 * sections noted, those that pass their checksum (a damaged one is the
 * events reader's to report). */
int evprof__trace_skim_note(evprof_trace_reader *r, uint64_t at,
                            uint32_t type, uint64_t len, uint32_t crc,
                            const unsigned char *p);
void evprof__trace_skim_threads(evprof_trace_reader *r);

/* Frees what the table sections left. */
void evprof__trace_tables_free(evprof_trace_reader *r);

#endif /* EVPROF_TRACE_READ_PRIVATE_H */
