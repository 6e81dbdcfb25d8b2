/*
 * sink-summary-private.h: the state of the summary sink, shared by its
 * accumulation of the events (sink_summary.c) and its printing of the
 * rows (sink_summary_print.c).  Not installed.
 */
#ifndef EVPROF_SINK_SUMMARY_PRIVATE_H
#define EVPROF_SINK_SUMMARY_PRIVATE_H 1

#include "sink-private.h"

/* Bytes allocated by domain: the domains of <evprof/domain.h>, then
 * those of no known domain. */
#define EVPROF__NDOMAINS (EVPROF_DOMAIN_COUNT + 1)

typedef struct stat_entry {
    int64_t key;
    int builtin;
    int64_t calls, incl, incl_c, excl, excl_c, allocs, bytes, net;
    int64_t dom[EVPROF__NDOMAINS];
    size_t first_slot;   /* the first slice, as summary()'s sort meets it */
    int64_t first_start;
    evprof__desc d;
} stat_entry;

typedef struct frame {
    uint32_t stat, pend;        /* its stat_entry, its thread's pending */
    int64_t start, child;
} frame;

typedef struct pending {
    int64_t v, c;        /* inclusive time so far: v + c * t_min */
    uint32_t onstack;
} pending;

typedef struct sthread {
    frame *stack;
    size_t depth, cap;
    int64_t bottom_v, bottom_c; /* time of the frames closed at the bottom */
    evprof__imap pidx;          /* stat -> pend */
    pending *pend;
    size_t npend, cappend;
} sthread;

typedef struct summary {
    int tsv;
    stat_entry *stat;
    size_t nstat, capstat;
    evprof__imap idx[2];        /* key -> stat, per builtin */
    sthread *thread;            /* slot 0: events without a thread */
    size_t nthread;
    int64_t last_key;           /* the last key looked up, and its stat */
    int last_builtin;           /* (recursion and allocation loops ask */
    uint32_t last_stat;         /* for the same one again) */
    int64_t t_min, t_max;
    uint64_t events;
} summary;

/* Writes the rows of s (its entries merged by name, module and line,
 * sorted by ctx->opt->sort) as text or TSV; 0 or a negative code. */
int evprof__summary_print(summary *s, const evprof__sink_ctx *ctx);

#endif /* EVPROF_SINK_SUMMARY_PRIVATE_H */
