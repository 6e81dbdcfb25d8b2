/*
 * check_trace.c: checks a trace file written by the examples.
 *
 *   check_trace calls FILE [FUNCTION...]   calls and returns balanced and
 *       nested per thread, and each FUNCTION named in the file
 *   check_trace calls-open FILE [FUNCTION...]   the same, and some calls
 *       still open at the end (the program exited inside them)
 *   check_trace alloc FILE   every block freed was allocated (its size is
 *       shown), every block allocated was freed, each kind of event seen
 *
 * Exit status 0 when the trace passes, 1 with a message otherwise.
 */
#include <stdio.h>
#include <string.h>

#include "trace-check.h"

int main(int argc, char **argv)
{
    char msg[512], file[512];
    int i, line;

    if (argc < 3) {
        fprintf(stderr, "usage: %s calls|calls-open|alloc FILE [FUNCTION...]\n",
                argv[0]);
        return 2;
    }
    if (strncmp(argv[1], "calls", 5) == 0) {
        struct trace_calls st;

        if (trace_check_calls(argv[2], &st, msg, sizeof(msg)) != 0) {
            fprintf(stderr, "%s: %s\n", argv[2], msg);
            return 1;
        }
        printf("%s: %llu calls, %llu returns, %llu open at the end, "
               "%llu threads, depth %llu\n", argv[2],
               (unsigned long long)st.calls, (unsigned long long)st.returns,
               (unsigned long long)st.open, (unsigned long long)st.threads,
               (unsigned long long)st.max_depth);
        if (st.calls == 0) {
            fprintf(stderr, "%s: no calls recorded\n", argv[2]);
            return 1;
        }
        if ((strcmp(argv[1], "calls-open") == 0) != (st.open > 0)) {
            fprintf(stderr, "%s: %llu calls open at the end, expected %s\n",
                    argv[2], (unsigned long long)st.open,
                    st.open ? "none" : "some");
            return 1;
        }
        for (i = 3; i < argc; i++) {
            if (trace_find_function(argv[2], argv[i], file, sizeof(file),
                                    &line) != 0) {
                fprintf(stderr, "%s: no function %s\n", argv[2], argv[i]);
                return 1;
            }
            printf("  %s: %s:%d\n", argv[i], file[0] ? file : "?", line);
        }
        return 0;
    }
    if (strcmp(argv[1], "alloc") == 0) {
        struct trace_allocs st;

        if (trace_check_allocs(argv[2], &st, 1, msg, sizeof(msg)) != 0) {
            fprintf(stderr, "%s: %s\n", argv[2], msg);
            return 1;
        }
        printf("%s: %llu malloc, %llu calloc, %llu realloc, %llu free, "
               "%llu realloc_free, %llu bytes freed\n", argv[2],
               (unsigned long long)st.made[0], (unsigned long long)st.made[1],
               (unsigned long long)st.made[2], (unsigned long long)st.freed[0],
               (unsigned long long)st.freed[1],
               (unsigned long long)st.bytes_freed);
        for (i = 0; i < 3; i++)
            if (st.made[i] == 0 || (i < 2 && st.freed[i] == 0)) {
                fprintf(stderr, "%s: a kind of event is missing\n", argv[2]);
                return 1;
            }
        return 0;
    }
    fprintf(stderr, "%s: unknown mode %s\n", argv[0], argv[1]);
    return 2;
}
