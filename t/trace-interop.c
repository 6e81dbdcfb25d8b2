/*
 * trace-interop.c: the C side of t/python/test_outputs_interop.py, which
 * checks that the Python package and the C library read each other's
 * trace files.
 *
 *   trace-interop write FILE   writes a known timeline from two threads
 *       (calls, a builtin call, allocations) with its name and line tables
 *   trace-interop read FILE    reads FILE with the C reader and prints
 *       "events N threads T names K lines L lost X timesum S", then one
 *       line "name KEY NAME MODULE FIRSTLINE" per name entry
 *
 * Exit status 0, or 1 with the reader's message on stderr.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <evprof.h>

enum { KEY_OUTER = 0x1000, KEY_INNER = 0x2000, KEY_LEN = 0x3000 };

static evprof_buffer *buf;

static void *timeline(void *arg)
{
    int64_t ptr = arg != NULL ? 0x7000 : 0x9000;

    evprof_log(buf, KEY_OUTER, 0, EVPROF_CALL, 0, 0);
    evprof_log(buf, KEY_INNER, KEY_OUTER, EVPROF_CALL, 4, 0);
    evprof_log(buf, KEY_INNER, 0, EVPROF_MALLOC, ptr, 64);
    evprof_log(buf, KEY_LEN, KEY_INNER, EVPROF_C_CALL, 2, 0);
    evprof_log(buf, KEY_LEN, KEY_INNER, EVPROF_C_RETURN, 2, 0);
    evprof_log(buf, KEY_INNER, 0, EVPROF_FREE, ptr, -64);
    evprof_log(buf, KEY_INNER, KEY_OUTER, EVPROF_RETURN, 4, 0);
    evprof_log(buf, KEY_OUTER, 0, EVPROF_RETURN, 0, 0);
    return NULL;
}

static int write_file(const char *path)
{
    static const evprof_trace_name names[] = {
        {KEY_OUTER, EVPROF_NAME_CODE, 10, "outer", "interop.py",
         "interop.py"},
        {KEY_INNER, EVPROF_NAME_CODE, 20, "inner", "interop.py",
         "interop.py"},
        {KEY_LEN, EVPROF_NAME_BUILTIN, 0, "len", "builtins", ""},
    };
    static const evprof_trace_line lines[] = {
        {KEY_OUTER, 4, 12}, {KEY_INNER, 2, 21},
    };
    evprof_trace_writer *w;
    pthread_t t;
    int other = 1;
    int64_t n;
    int rc;

    buf = evprof_buffer_new(4, EVPROF_GROW);
    if (buf == NULL) {
        perror("evprof_buffer_new");
        return 1;
    }
    timeline(NULL);
    if (pthread_create(&t, NULL, timeline, &other) != 0 ||
        pthread_join(t, NULL) != 0) {
        fprintf(stderr, "cannot start a thread\n");
        return 1;
    }
    rc = evprof_trace_writer_open(path, &w);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", path, evprof_strerror(rc));
        return 1;
    }
    (void)evprof_trace_write_meta(w, "source", "t/trace-interop");
    n = evprof_trace_write_buffer(w, buf);
    (void)evprof_trace_write_names(w, names, 3);
    (void)evprof_trace_write_lines(w, lines, 2);
    rc = evprof_trace_writer_close(w);
    evprof_buffer_free(buf);
    if (n < 0 || rc < 0) {
        fprintf(stderr, "%s: %s\n", path,
                evprof_strerror(n < 0 ? (int)n : rc));
        return 1;
    }
    return 0;
}

static int read_file(const char *path)
{
    evprof_trace_reader *r = NULL;
    evprof_event ev[256];
    uint64_t events = 0;
    int64_t timesum = 0, got;
    size_t i;
    int rc;

    rc = evprof_trace_reader_open(path, &r);
    if (rc < 0) {
        fprintf(stderr, "%s\n", r != NULL ? evprof_trace_reader_error(r)
                                          : evprof_strerror(rc));
        evprof_trace_reader_close(r);
        return 1;
    }
    while ((got = evprof_trace_read_events(r, ev, NULL, 256)) > 0) {
        for (i = 0; i < (size_t)got; i++)
            timesum += ev[i].time;
        events += (uint64_t)got;
    }
    if (got < 0) {
        fprintf(stderr, "%s\n", evprof_trace_reader_error(r));
        evprof_trace_reader_close(r);
        return 1;
    }
    printf("events %" PRIu64 " threads %zu names %zu lines %zu lost %" PRIu64
           " timesum %" PRId64 "\n", events,
           evprof_trace_reader_thread_count(r),
           evprof_trace_reader_name_count(r),
           evprof_trace_reader_line_count(r), evprof_trace_reader_lost(r),
           timesum);
    for (i = 0; i < evprof_trace_reader_name_count(r); i++) {
        evprof_trace_name nm;

        if (evprof_trace_reader_name(r, i, &nm) == 0)
            printf("name %" PRId64 " %s %s %d\n", nm.key, nm.name,
                   nm.module[0] ? nm.module : "-", nm.first_line);
    }
    evprof_trace_reader_close(r);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "write") == 0)
        return write_file(argv[2]);
    if (argc == 3 && strcmp(argv[1], "read") == 0)
        return read_file(argv[2]);
    fprintf(stderr, "usage: %s write|read FILE\n", argv[0]);
    return 2;
}
