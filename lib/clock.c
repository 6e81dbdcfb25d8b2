/*
 * clock.c: choosing and calibrating the clock read by evprof_clock_ns().
 */
#include <config.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evprof.h"

#if EVPROF_HAVE_TSC && defined(HAVE_CPUID_H)
# include <cpuid.h>
#endif

struct evprof__clock_state evprof__clock;

static pthread_once_t clock_once = PTHREAD_ONCE_INIT;

int64_t evprof__clock_monotonic(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#if EVPROF_HAVE_TSC && defined(HAVE_CPUID_H)
/* CPUID 0x80000007 EDX bit 8: the TSC ticks at a constant rate in every
 * P-, C- and T-state. */
static int tsc_invariant(void)
{
    unsigned int a, b, c, d;

    if (__get_cpuid_max(0x80000000, NULL) < 0x80000007)
        return 0;
    __cpuid(0x80000007, a, b, c, d);
    return (d & (1u << 8)) != 0;
}

/* The kernel checks that the TSCs of all CPUs agree before it makes the TSC
 * its clocksource; if it did not (or gave up on it), neither do we. */
static int kernel_trusts_tsc(void)
{
    char name[64] = "";
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/"
                    "current_clocksource", "r");

    if (f == NULL)
        return 0;
    if (fgets(name, sizeof(name), f) == NULL)
        name[0] = '\0';
    fclose(f);
    return strncmp(name, "tsc", 3) == 0
        && (name[3] == '\n' || name[3] == '\0');
}

/* One (tsc, ns) pair, the TSC read taken as the middle of the tightest of a
 * few bracketing reads, so that a preemption does not skew it. */
static void sample(uint64_t *tsc, int64_t *ns)
{
    uint64_t best = UINT64_MAX;
    int i;

    *tsc = 0;
    *ns = 0;
    for (i = 0; i < 5; i++) {
        uint64_t t0 = __rdtsc();
        int64_t n = evprof__clock_monotonic();
        uint64_t t1 = __rdtsc();
        if (t1 - t0 < best) {
            best = t1 - t0;
            *tsc = t0 + (t1 - t0) / 2;
            *ns = n;
        }
    }
}

/* ns = ns0 + (tsc - tsc0) * mult >> 32, over a 10 ms window. */
static int calibrate(void)
{
    uint64_t tsc0, tsc1;
    int64_t ns0, ns1;
    struct timespec pause = { 0, 10 * 1000 * 1000 };
    double ratio;

    sample(&tsc0, &ns0);
    nanosleep(&pause, NULL);
    sample(&tsc1, &ns1);
    if (tsc1 <= tsc0 || ns1 <= ns0)
        return 0;
    ratio = (double)(ns1 - ns0) / (double)(tsc1 - tsc0);
    if (ratio < 0.01 || ratio > 100.0)
        return 0;
    evprof__clock.shift = EVPROF__CLOCK_SHIFT;
    evprof__clock.mult = (uint64_t)(ratio * 4294967296.0 + 0.5);
    evprof__clock.tsc0 = tsc1;
    evprof__clock.ns0 = ns1;
    return 1;
}
#endif

static void choose(void)
{
    const char *want = getenv("EVPROF_CLOCK");
    int source = EVPROF_CLOCK_MONOTONIC;

#if EVPROF_HAVE_TSC && defined(HAVE_CPUID_H)
    if ((want == NULL || strcmp(want, "monotonic") != 0)
        && tsc_invariant() && kernel_trusts_tsc() && calibrate())
        source = EVPROF_CLOCK_TSC;
#else
    (void)want;
#endif
    __atomic_store_n(&evprof__clock.source, source, __ATOMIC_RELEASE);
}

int evprof_clock_init(void)
{
    pthread_once(&clock_once, choose);
    return __atomic_load_n(&evprof__clock.source, __ATOMIC_ACQUIRE);
}

const char *evprof_clock_name(void)
{
    return evprof_clock_init() == EVPROF_CLOCK_TSC ? "tsc" : "monotonic";
}

double evprof_clock_ns_per_tick(void)
{
    if (evprof_clock_init() != EVPROF_CLOCK_TSC)
        return 1.0;
    return (double)evprof__clock.mult / 4294967296.0;
}
