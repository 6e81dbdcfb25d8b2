/* The clock: source choice, monotonicity, agreement with CLOCK_MONOTONIC. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <evprof.h>

#include "tap.h"

static int64_t mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    char cmd[256], out[64];
    FILE *p;

    int src;
    long i, backwards = 0;
    int64_t prev, now, m0, c, m1, worst = 0;

    if (argc > 1 && strcmp(argv[1], "--print-source") == 0) {
        puts(evprof_clock_name());
        return 0;
    }
    plan(8);
    src = evprof_clock_init();
    ok(src == EVPROF_CLOCK_TSC || src == EVPROF_CLOCK_MONOTONIC,
       "a clock source is chosen (%s)", evprof_clock_name());
    is_int(src, evprof_clock_init(), "the choice is stable");
    ok(strcmp(evprof_clock_name(), src == EVPROF_CLOCK_TSC ? "tsc"
              : "monotonic") == 0, "its name matches");
    ok(evprof_clock_ns_per_tick() > 0.0, "ns per tick is positive (%g)",
       evprof_clock_ns_per_tick());

    prev = evprof_clock_ns();
    for (i = 0; i < 2000000; i++) {
        now = evprof_clock_ns();
        if (now < prev)
            backwards++;
        prev = now;
    }
    is_int(0, backwards, "2M reads never go backwards");

    /* Same time base as CLOCK_MONOTONIC: bracketed by two reads of it, give
     * or take the calibration error. */
    for (i = 0; i < 1000; i++) {
        int64_t err = 0;
        m0 = mono();
        c = evprof_clock_ns();
        m1 = mono();
        if (c < m0)
            err = m0 - c;
        else if (c > m1)
            err = c - m1;
        if (err > worst)
            worst = err;
    }
    ok(worst < 1000000, "within 1 ms of CLOCK_MONOTONIC (worst %lld ns)",
       (long long)worst);

    m0 = evprof_clock_ns();
    usleep(20000);
    m1 = evprof_clock_ns();
    ok(m1 - m0 >= 19000000, "a 20 ms sleep advances it by 20 ms or more");

    /* EVPROF_CLOCK=monotonic is obeyed by a fresh process. */
    snprintf(cmd, sizeof(cmd), "EVPROF_CLOCK=monotonic '%s' --print-source",
             argv[0]);
    p = popen(cmd, "r");
    if (p == NULL || fgets(out, sizeof(out), p) == NULL)
        strcpy(out, "(no output)");
    if (p != NULL)
        pclose(p);
    is_string("monotonic\n", out, "EVPROF_CLOCK=monotonic forces it");
    return 0;
}
