/*
 * sink-run: runs one sink from the command line, for the tests and the
 * throughput figures:  sink-run SINK TRACE OUT [SORT [LIMIT]]
 */
#include <stdio.h>
#include <stdlib.h>

#include <evprof.h>

int main(int argc, char **argv)
{
    evprof_sink_options opt;
    char err[256];
    int rc;

    if (argc < 4) {
        fprintf(stderr, "usage: sink-run SINK TRACE OUT [SORT [LIMIT]]\n");
        return 2;
    }
    evprof_sink_options_init(&opt);
    if (argc > 4 && (opt.sort = evprof_sink_sort_key(argv[4])) < 0) {
        fprintf(stderr, "sink-run: unknown sort key %s\n", argv[4]);
        return 2;
    }
    if (argc > 5)
        opt.limit = atol(argv[5]);
    rc = evprof_sink_run_path(argv[2], argv[1], argv[3], &opt, err,
                              sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "sink-run: %s: %s\n", argv[2], err);
        return 1;
    }
    return 0;
}
