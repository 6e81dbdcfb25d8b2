/*
 * The trace reader's memory is bounded by the file it reads: valid files
 * whose table sections hold many empty entries (8 bytes of META, 32 of
 * NAMES or THREADS, 24 of LINES each) must not make the reader allocate
 * many times their size.  Each file is read in a child process, whose peak
 * resident size (ru_maxrss) before and after tells what reading cost.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <evprof.h>

#include "tap.h"

#if defined(__has_include)
# if __has_include(<valgrind/valgrind.h>)
#  include <valgrind/valgrind.h>
# endif
#endif
#ifndef RUNNING_ON_VALGRIND
# define RUNNING_ON_VALGRIND 0
#endif

extern uint32_t evprof__crc32(uint32_t, const void *, size_t);

/* 8 MiB tables: large next to what the process holds anyway, small enough
 * to stay fast. */
#define PAYLOAD ((size_t)8 << 20)

static void le(unsigned char *p, uint64_t v, int n)
{
    int i;

    for (i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put(FILE *f, const void *p, size_t n)
{
    if (fwrite(p, 1, n, f) != n)
        bail("write: %s", strerror(errno));
}

static void section_header(unsigned char *h, uint32_t type, uint32_t flags,
                           uint64_t len, uint32_t crc)
{
    le(h, type, 4);
    le(h + 4, flags, 4);
    le(h + 8, len, 8);
    le(h + 16, crc, 4);
    le(h + 20, evprof__crc32(0, h, 20), 4);
}

/* The i-th entry of a table: zero but for a leading u32 index when
 * `indexed` (THREADS records number themselves). */
static void entry(unsigned char *e, size_t size, size_t i, int indexed)
{
    memset(e, 0, size);
    if (indexed)
        le(e, i, 4);
}

/*
 * Writes a valid trace of one table section of `type`: `n` entries of
 * `size` bytes; streamed, so that writing costs no memory.  Returns the
 * file's size.
 */
static size_t write_table(const char *path, uint32_t type, size_t size,
                          size_t n, int indexed)
{
    unsigned char h[64], e[64], head[8];
    uint32_t crc;
    size_t i;
    FILE *f = fopen(path, "wb");

    if (f == NULL)
        bail("%s: %s", path, strerror(errno));
    memset(h, 0, sizeof(h));
    memcpy(h, "\x89" "EVPROF\n", 8);
    le(h + 8, 1, 2);
    le(h + 12, 64, 4);
    le(h + 16, 48, 4);
    le(h + 20, 6, 4);
    le(h + 24, 1, 4);
    le(h + 60, evprof__crc32(0, h, 60), 4);
    put(f, h, 64);
    le(head, n, 4);
    le(head + 4, 0, 4);
    crc = evprof__crc32(0, head, 8);
    for (i = 0; i < n; i++) {
        entry(e, size, i, indexed);
        crc = evprof__crc32(crc, e, size);
    }
    section_header(h, type, 0, 8 + n * size, crc);
    put(f, h, 24);
    put(f, head, 8);
    for (i = 0; i < n; i++) {
        entry(e, size, i, indexed);
        put(f, e, size);
    }
    le(e, 0, 8);
    le(e + 8, 1, 8);
    le(e + 16, 0, 8);
    section_header(h, 0xFFFF, 1, 24, evprof__crc32(0, e, 24));
    put(f, h, 24);
    put(f, e, 24);
    if (fclose(f) != 0)
        bail("%s: %s", path, strerror(errno));
    return 64 + 24 + 8 + n * size + 24 + 24;
}

static long maxrss_kib(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/*
 * Reads `path` to the end in a child process (whose peak starts at what
 * it holds at the fork); the peak's growth in KiB, or -1 if the file was
 * refused.
 */
static long read_cost(const char *path, size_t want_names, size_t want_lines,
                      size_t want_threads)
{
    int fd[2], status;
    long cost = -1;
    pid_t pid;

    if (pipe(fd) != 0)
        bail("pipe");
    pid = fork();
    if (pid < 0)
        bail("fork");
    if (pid == 0) {
        evprof_trace_reader *r;
        long before = maxrss_kib();

        close(fd[0]);
        if (evprof_trace_reader_open(path, &r) == 0
            && evprof_trace_reader_finish(r) == 0
            && evprof_trace_reader_name_count(r) == want_names
            && evprof_trace_reader_line_count(r) == want_lines
            && evprof_trace_reader_thread_count(r) == want_threads)
            cost = maxrss_kib() - before;
        else
            fprintf(stderr, "# %s: %s\n", path, evprof_trace_reader_error(r));
        evprof_trace_reader_close(r);
        if (write(fd[1], &cost, sizeof(cost)) != (ssize_t)sizeof(cost))
            _exit(1);
        _exit(0);
    }
    close(fd[1]);
    if (read(fd[0], &cost, sizeof(cost)) != (ssize_t)sizeof(cost))
        cost = -1;
    close(fd[0]);
    waitpid(pid, &status, 0);
    return cost;
}

static char dir[] = "/tmp/evprof-trmem-XXXXXX";

static void table(const char *what, uint32_t type, size_t size, int indexed)
{
    char path[sizeof(dir) + 32];
    size_t n = PAYLOAD / size, bytes;
    long cost, bound;

    snprintf(path, sizeof(path), "%s/%s.evt", dir, what);
    bytes = write_table(path, type, size, n, indexed);
    cost = read_cost(path, type == 4 ? n : 0, type == 5 ? n : 0,
                     type == 2 ? n : 0);
    ok(cost >= 0, "%s: %zu empty entries read", what, n);
    /* 3 times the file, and 4 MiB for the rest. */
    bound = (long)(3 * bytes / 1024) + 4096;
    if (RUNNING_ON_VALGRIND)
        skip("%s: valgrind's own memory hides the reader's", what);
    else
        ok(cost >= 0 && cost <= bound, "%s: reading a %zu KiB file costs %ld "
           "KiB (at most %ld)", what, bytes / 1024, cost, bound);
    unlink(path);
}

int main(void)
{
    plan(8);
    if (mkdtemp(dir) == NULL)
        bail("mkdtemp: %s", strerror(errno));
    table("META", 1, 8, 0);
    table("NAMES", 4, 32, 0);
    table("LINES", 5, 24, 0);
    table("THREADS", 2, 32, 1);
    rmdir(dir);
    return 0;
}
