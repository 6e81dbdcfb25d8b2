/*
 * evprof/clock.h: the timestamp source, included by <evprof.h>.
 *
 * evprof_clock_ns() returns monotonic nanoseconds.  When the CPU has an
 * invariant TSC and the kernel itself trusts it (its clocksource is "tsc"),
 * evprof_clock_init() calibrates the TSC against CLOCK_MONOTONIC and the
 * clock reads it directly, which is several times cheaper than a vDSO call.
 * Otherwise, or with EVPROF_CLOCK=monotonic in the environment, the clock is
 * clock_gettime(CLOCK_MONOTONIC).  The TSC scale is anchored to
 * CLOCK_MONOTONIC, so both sources share one time base.
 */
#ifndef EVPROF_CLOCK_H
#define EVPROF_CLOCK_H 1

#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
# include <x86intrin.h>
# define EVPROF_HAVE_TSC 1
#else
# define EVPROF_HAVE_TSC 0
#endif

#ifdef __cplusplus
extern "C" {
#endif

enum {
    EVPROF_CLOCK_MONOTONIC = 1, /* clock_gettime(CLOCK_MONOTONIC) */
    EVPROF_CLOCK_TSC = 2        /* calibrated time-stamp counter */
};

/* Internal: read by the inline clock, written once by evprof_clock_init. */
struct evprof__clock_state {
    int source;      /* 0 until evprof_clock_init, then EVPROF_CLOCK_* */
    uint32_t shift;  /* ns = ns0 + ((tsc - tsc0) * mult) >> shift; shift
                        is EVPROF__CLOCK_SHIFT, a constant to the clock */
    uint64_t mult;
    uint64_t tsc0;
    int64_t ns0;
};
extern struct evprof__clock_state evprof__clock;

/*
 * Chooses the clock source (once; later calls return the same answer) and
 * returns it (EVPROF_CLOCK_*).  evprof_buffer_new calls it, so a program
 * only needs it to read the clock before making a buffer.  Thread-safe.
 */
int evprof_clock_init(void);

/* "tsc" or "monotonic": the source in use (after evprof_clock_init). */
const char *evprof_clock_name(void);

/* Nanoseconds per tick as calibrated (1.0 for the monotonic clock). */
double evprof_clock_ns_per_tick(void);

#if EVPROF_HAVE_TSC
__extension__ typedef unsigned __int128 evprof__u128;
#endif

/* The calibration's shift, always this: a shift by a constant is one
 * instruction on each timestamp, by a variable four. */
#define EVPROF__CLOCK_SHIFT 32

/* clock_gettime(CLOCK_MONOTONIC) in ns.  Out of line, so that the header
 * needs no POSIX feature macro under strict -std=c11; the call is small
 * beside the vDSO's work, and the TSC path does not take it. */
int64_t evprof__clock_monotonic(void) EVPROF_NOINSTR;

#if EVPROF_HAVE_TSC
/* The TSC read now, in nanoseconds (the source is EVPROF_CLOCK_TSC). */
EVPROF_NOINSTR EVPROF_INLINE int64_t evprof__clock_tsc_ns(void)
{
    uint64_t d = (uint64_t)__rdtsc() - evprof__clock.tsc0;

    return evprof__clock.ns0
        + (int64_t)(((evprof__u128)d * evprof__clock.mult)
                    >> EVPROF__CLOCK_SHIFT);
}
#endif

/* Monotonic nanoseconds (never going backwards within a thread). */
EVPROF_NOINSTR EVPROF_INLINE int64_t evprof_clock_ns(void)
{
#if EVPROF_HAVE_TSC
    if (EVPROF_LIKELY(evprof__clock.source == EVPROF_CLOCK_TSC))
        return evprof__clock_tsc_ns();
#endif
    return evprof__clock_monotonic();
}

#ifdef __cplusplus
}
#endif

#endif /* EVPROF_CLOCK_H */
