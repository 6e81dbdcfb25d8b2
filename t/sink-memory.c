/*
 * The sinks' memory does not grow with the number of events: each sink
 * reads a fib-like trace of 1M and of 5M events in a child process, whose
 * peak resident size (ru_maxrss) must not differ by more than a few MiB.
 * Then, for the record and asserting nothing, the events per second of
 * each sink on the large trace next to reading the file (cat > /dev/null)
 * and to reading its events alone (a sink costs the rest; Chrome and
 * Perfetto read the file twice).
 * Under valgrind the traces are ten times smaller and nothing is timed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <evprof.h>

#include "sink-fixture.h"
#include "tap.h"

#if defined(__has_include)
# if __has_include(<valgrind/valgrind.h>)
#  include <valgrind/valgrind.h>
# endif
#endif
#ifndef RUNNING_ON_VALGRIND
# define RUNNING_ON_VALGRIND 0
#endif

static const char *const sinks[] = { "summary", "chrome", "perfetto" };
#define NSINKS 3

/* Peak RSS in KiB of a child running the sink, or -1. */
static long child_rss(const char *sink, const char *trace)
{
    struct rusage ru;
    int status;
    pid_t pid = fork();

    if (pid < 0)
        bail("fork: %s", strerror(errno));
    if (pid == 0) {
        char err[256];
        int rc = evprof_sink_run_path(trace, sink, "/dev/null", NULL, err,
                                      sizeof(err));

        _exit(rc == 0 ? 0 : 1);
    }
    if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status)
        || WEXITSTATUS(status) != 0)
        return -1;
    return ru.ru_maxrss;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cat_seconds(const char *path)
{
    static char buf[1 << 16];
    double t0 = now();
    int fd = open(path, O_RDONLY);

    if (fd < 0)
        bail("%s: %s", path, strerror(errno));
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    close(fd);
    return now() - t0;
}

/* Seconds of a plain read of every event: what a sink costs on top. */
static double read_seconds(const char *path)
{
    static evprof_event ev[65536];
    static uint32_t th[65536];
    evprof_trace_reader *r;
    double t0 = now();

    if (evprof_trace_reader_open(path, &r) < 0)
        bail("%s: unreadable", path);
    while (evprof_trace_read_events(r, ev, th, 65536) > 0)
        ;
    evprof_trace_reader_close(r);
    return now() - t0;
}

static uint64_t events_of(const char *path)
{
    evprof_trace_reader *r;
    uint64_t n;

    if (evprof_trace_reader_open(path, &r) < 0
        || evprof_trace_reader_finish(r) < 0)
        bail("%s: unreadable", path);
    n = evprof_trace_reader_events(r);
    evprof_trace_reader_close(r);
    return n;
}

int main(void)
{
    const char *small = "t/sink-memory-1.evt", *large = "t/sink-memory-5.evt";
    uint64_t scale = RUNNING_ON_VALGRIND ? 100000 : 1000000, n;
    struct stat st;
    double secs;
    size_t i;

    plan(NSINKS);
    fixture_fib(small, scale);
    fixture_fib(large, 5 * scale);
    for (i = 0; i < NSINKS; i++) {
        long a = child_rss(sinks[i], small), b = child_rss(sinks[i], large);

        /* Under valgrind the RSS is mostly valgrind's own, which grows by
         * a few MiB with the length of a run whose sink has threads of
         * its own, while the sink's heap stays the same (massif: the same
         * peak at both lengths); natively the bound is the real one. */
        ok(a > 0 && b > 0 && b - a < (RUNNING_ON_VALGRIND ? 16384 : 4096),
           "%s: peak RSS %ld KiB on %llu events, %ld KiB on %llu", sinks[i],
           a, (unsigned long long)scale, b, (unsigned long long)(5 * scale));
    }
    if (!RUNNING_ON_VALGRIND) {
        evprof_sink_options opt;
        char err[256];

        n = events_of(large);
        stat(large, &st);
        secs = cat_seconds(large);
        diag("cat > /dev/null: %.0f Mevents/s (%.1f MB in %.3f s)",
             n / secs / 1e6, st.st_size / 1e6, secs);
        secs = read_seconds(large);
        diag("evprof_trace_read_events alone: %.1f Mevents/s (%.3f s)",
             n / secs / 1e6, secs);
        evprof_sink_options_init(&opt);
        for (i = 0; i < NSINKS; i++) {
            double t0 = now();
            const char *out = "t/sink-memory.out";

            if (evprof_sink_run_path(large, sinks[i], out, &opt, err,
                                     sizeof(err)) < 0)
                bail("%s: %s", sinks[i], err);
            secs = now() - t0;
            stat(out, &st);
            diag("%s: %.1f Mevents/s (%.3f s, %.1f bytes an event out)",
                 sinks[i], n / secs / 1e6, secs,
                 (double)st.st_size / (double)n);
        }
        unlink("t/sink-memory.out");
    }
    unlink(small);
    unlink(large);
    return 0;
}
