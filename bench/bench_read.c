/*
 * bench_read.c: how fast the trace reader gives the events of a file
 * (reading, checksums, decoding), against reading its bytes alone (what
 * `cat FILE > /dev/null` costs), in the same run: the ratio is what holds
 * on a busy machine.  Times are CPU times (user and system) of this
 * process.
 *
 *   bench_read [--freed] [--block N] FILE [ROUNDS]
 *
 * prints, for the median of ROUNDS (default 5) alternated rounds, the
 * events a second of the reader and the bytes a second of a plain read;
 * --freed reads with EVPROF_READ_FREED_SIZES, --block N asks for N events
 * a call (default 65536, as the sinks do).  Without FILE, writes a
 * trace of 4 million synthetic events (calls, returns, allocations) to
 * /tmp and reads that.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <evprof.h>

/* CPU seconds of the process, user and system: on a machine shared with
 * other work, the wall clock counts the waits for a processor too. */
static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Seconds to read the file's bytes. */
static double plain(const char *path, size_t *bytes)
{
    static char buf[1 << 16];
    double t = now();
    int fd = open(path, O_RDONLY);
    ssize_t k;

    *bytes = 0;
    if (fd < 0)
        return -1;
    while ((k = read(fd, buf, sizeof(buf))) > 0)
        *bytes += (size_t)k;
    close(fd);
    return now() - t;
}

/* Seconds to read every event with the reader. */
static size_t block = 65536;

static double reader(const char *path, unsigned flags, uint64_t *events)
{
    static evprof_event *ev;
    static uint32_t *thr;
    evprof_trace_reader *r;
    double t = now();
    int64_t n;

    *events = 0;
    if (ev == NULL) {
        ev = malloc(block * sizeof(*ev));
        thr = malloc(block * sizeof(*thr));
        if (ev == NULL || thr == NULL)
            exit(1);
    }
    if (evprof_trace_reader_open(path, &r) != 0
        || evprof_trace_reader_set_flags(r, flags) != 0) {
        fprintf(stderr, "%s: %s\n", path, evprof_trace_reader_error(r));
        exit(1);
    }
    while ((n = evprof_trace_read_events(r, ev, thr, block)) > 0)
        *events += (uint64_t)n;
    if (n < 0) {
        fprintf(stderr, "%s: %s\n", path, evprof_trace_reader_error(r));
        exit(1);
    }
    evprof_trace_reader_close(r);
    return now() - t;
}

static void synthetic(const char *path)
{
    enum { N = 4000000, BLOCK = 65536 };
    static evprof_event ev[BLOCK];
    evprof_trace_writer *w;
    int64_t t = 1000000, ptr = 0x7f0000000000;
    size_t i, j;

    if (evprof_trace_writer_open(path, &w) != 0)
        exit(1);
    for (i = 0; i < N; i += BLOCK) {
        for (j = 0; j < BLOCK; j++) {
            evprof_event *e = &ev[j];
            int k = (int)((i + j) % 4);

            t += 40 + (int64_t)((i + j) * 7 % 90);
            e->id_frame = 52 + k % 2;
            e->id_arg = 62;
            e->time = t;
            e->event = k == 0 ? EVPROF_CALL : k == 1 ? EVPROF_MALLOC
                : k == 2 ? EVPROF_FREE : EVPROF_RETURN;
            e->value1 = k == 1 || k == 2 ? ptr + (int64_t)(j % 64) * 32 : 30;
            e->value2 = k == 1 ? 32 : 0;
        }
        if (evprof_trace_write_events(w, ev, NULL, BLOCK) != 0)
            exit(1);
    }
    if (evprof_trace_writer_close(w) != 0)
        exit(1);
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    char tmp[] = "/tmp/evprof-bench-read-XXXXXX";
    unsigned flags = 0;
    int rounds = 5, i, a = 1;
    double tr[64], tp[64];
    uint64_t events = 0;
    size_t bytes = 0;

    if (a < argc && strcmp(argv[a], "--freed") == 0) {
        flags = EVPROF_READ_FREED_SIZES;
        a++;
    }
    if (a + 1 < argc && strcmp(argv[a], "--block") == 0) {
        block = (size_t)strtoul(argv[a + 1], NULL, 10);
        if (block == 0)
            block = 1;
        a += 2;
    }
    if (a < argc)
        path = argv[a++];
    if (a < argc)
        rounds = atoi(argv[a]);
    if (rounds < 1 || rounds > 64)
        rounds = 5;
    if (path == NULL) {
        int fd = mkstemp(tmp);

        if (fd < 0)
            return 1;
        close(fd);
        synthetic(tmp);
        path = tmp;
    }
    for (i = 0; i < rounds; i++) {
        tp[i] = plain(path, &bytes);
        tr[i] = reader(path, flags, &events);
    }
    if (path == tmp)
        unlink(tmp);
    qsort(tr, (size_t)rounds, sizeof(double), cmp);
    qsort(tp, (size_t)rounds, sizeof(double), cmp);
    printf("%s: %llu events, %zu bytes (%.2f bytes an event)\n", path,
           (unsigned long long)events, bytes,
           events ? (double)bytes / (double)events : 0.0);
    printf("reader: %.1f M events/s (%.3f s)%s\n",
           (double)events / tr[rounds / 2] * 1e-6, tr[rounds / 2],
           flags ? ", freed sizes" : "");
    printf("plain read: %.0f MB/s (%.3f s): the reader takes %.1f times "
           "as long\n", (double)bytes / tp[rounds / 2] * 1e-6,
           tp[rounds / 2], tr[rounds / 2] / tp[rounds / 2]);
    return 0;
}
