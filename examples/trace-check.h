/*
 * trace-check.h: checks of recorded traces, shared by examples/check_trace.c
 * (run by `make installcheck`) and the tests in t/.  Header-only: static
 * functions that read a trace file with the libevprof reader.
 *
 * trace_check_calls: per thread, every return matches the innermost open
 * call (a return with nothing open is a frame entered before recording
 * began: counted, allowed); calls still open at the end are counted (the
 * program exited inside them); every function has a name.
 *
 * trace_check_allocs: every free / realloc_free releases a block that a
 * malloc / calloc / realloc made (its size is known), and every block made
 * is released by the end.
 */
#ifndef EVPROF_TRACE_CHECK_H
#define EVPROF_TRACE_CHECK_H 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <evprof.h>

struct trace_calls {
    uint64_t events, calls, returns, orphans, open, threads, max_depth;
};

struct trace_stack {
    int64_t *v;
    size_t n, cap;
};

/* 0, or -1 with a message in msg. */
__attribute__((unused)) static int trace_check_calls(const char *path, struct trace_calls *st,
                             char *msg, size_t len)
{
    evprof_trace_reader *r;
    evprof_event ev[512];
    uint32_t thr[512];
    struct trace_stack *stacks = NULL;
    size_t nstacks = 0, i;
    int64_t n;
    int rc, bad = 0;

    memset(st, 0, sizeof(*st));
    msg[0] = '\0';
    rc = evprof_trace_reader_open(path, &r);
    if (rc != 0) {
        snprintf(msg, len, "%s: %s", path, evprof_trace_reader_error(r));
        evprof_trace_reader_close(r);
        return -1;
    }
    while (!bad && (n = evprof_trace_read_events(r, ev, thr, 512)) > 0) {
        for (i = 0; i < (size_t)n && !bad; i++) {
            struct trace_stack *s;

            st->events++;
            if (thr[i] == UINT32_MAX) {
                snprintf(msg, len, "event %llu has no thread",
                         (unsigned long long)st->events);
                bad = 1;
                break;
            }
            if (thr[i] >= nstacks) {
                struct trace_stack *v = realloc(stacks,
                                                (thr[i] + 1) * sizeof(*v));

                if (v == NULL)
                    abort();
                memset(v + nstacks, 0, (thr[i] + 1 - nstacks) * sizeof(*v));
                stacks = v;
                nstacks = thr[i] + 1;
            }
            s = &stacks[thr[i]];
            if (ev[i].event == EVPROF_CALL) {
                st->calls++;
                if (s->n == s->cap) {
                    s->cap = s->cap ? 2 * s->cap : 64;
                    s->v = realloc(s->v, s->cap * sizeof(*s->v));
                    if (s->v == NULL)
                        abort();
                }
                s->v[s->n++] = ev[i].id_frame;
                if (s->n > st->max_depth)
                    st->max_depth = s->n;
            } else if (ev[i].event == EVPROF_RETURN) {
                st->returns++;
                if (s->n == 0) {
                    st->orphans++;
                } else if (s->v[s->n - 1] != ev[i].id_frame) {
                    snprintf(msg, len, "thread %u: return from %#llx "
                             "while %#llx is the innermost call",
                             (unsigned)thr[i],
                             (unsigned long long)ev[i].id_frame,
                             (unsigned long long)s->v[s->n - 1]);
                    bad = 1;
                } else {
                    s->n--;
                }
            }
        }
    }
    if (!bad && n < 0) {
        snprintf(msg, len, "%s: %s", path, evprof_trace_reader_error(r));
        bad = 1;
    }
    for (i = 0; i < nstacks; i++) {
        st->open += stacks[i].n;
        free(stacks[i].v);
    }
    free(stacks);
    st->threads = evprof_trace_reader_thread_count(r);
    if (!bad && st->threads < nstacks) {
        snprintf(msg, len, "%zu threads logged, %llu listed", nstacks,
                 (unsigned long long)st->threads);
        bad = 1;
    }
    evprof_trace_reader_close(r);
    return bad ? -1 : 0;
}

/*
 * The name entry of the function called `name` in a trace (copied into
 * out's buffers); 0, or -1 when there is none.
 */
__attribute__((unused)) static int trace_find_function(const char *path, const char *name,
                               char *file, size_t flen, int *line)
{
    evprof_trace_reader *r;
    evprof_trace_name nm;
    size_t i;
    int found = -1;

    if (evprof_trace_reader_open(path, &r) == 0
        && evprof_trace_reader_finish(r) == 0)
        for (i = 0; i < evprof_trace_reader_name_count(r); i++)
            if (evprof_trace_reader_name(r, i, &nm) == 0
                && strcmp(nm.name, name) == 0) {
                snprintf(file, flen, "%s", nm.file);
                *line = nm.first_line;
                found = 0;
                break;
            }
    evprof_trace_reader_close(r);
    return found;
}

struct trace_allocs {
    uint64_t made[3];  /* malloc, calloc, realloc */
    uint64_t freed[2]; /* free, realloc_free */
    uint64_t bytes_freed;
};

__attribute__((unused)) static int trace_check_allocs(const char *path, struct trace_allocs *st,
                              int verbose, char *msg, size_t len)
{
    evprof_trace_reader *r;
    evprof_event ev[256];
    struct { int64_t ptr, size; } *live = NULL;
    size_t nlive = 0, cap = 0, i, j;
    int64_t n;
    int bad = 0;

    memset(st, 0, sizeof(*st));
    msg[0] = '\0';
    if (evprof_trace_reader_open(path, &r) != 0) {
        snprintf(msg, len, "%s: %s", path, evprof_trace_reader_error(r));
        evprof_trace_reader_close(r);
        return -1;
    }
    while (!bad && (n = evprof_trace_read_events(r, ev, NULL, 256)) > 0)
        for (i = 0; i < (size_t)n && !bad; i++) {
            int64_t e = ev[i].event;

            if (e == EVPROF_MALLOC || e == EVPROF_CALLOC
                || e == EVPROF_REALLOC) {
                st->made[e - EVPROF_MALLOC]++;
                if (nlive == cap) {
                    cap = cap ? 2 * cap : 64;
                    live = realloc(live, cap * sizeof(*live));
                    if (live == NULL)
                        abort();
                }
                live[nlive].ptr = ev[i].value1;
                live[nlive].size = ev[i].value2;
                nlive++;
            } else if (e == EVPROF_FREE || e == EVPROF_REALLOC_FREE) {
                for (j = nlive; j-- > 0;)
                    if (live[j].ptr == ev[i].value1)
                        break;
                if (j == (size_t)-1) {
                    snprintf(msg, len, "%s of %#llx: no such block",
                             evprof_event_name(e),
                             (unsigned long long)ev[i].value1);
                    bad = 1;
                    break;
                }
                st->freed[e - EVPROF_FREE]++;
                st->bytes_freed += (uint64_t)live[j].size;
                if (verbose)
                    printf("%-12s %#llx size %lld (context %lld)\n",
                           evprof_event_name(e),
                           (unsigned long long)ev[i].value1,
                           (long long)live[j].size,
                           (long long)ev[i].id_frame);
                live[j] = live[--nlive];
            }
        }
    if (!bad && n < 0) {
        snprintf(msg, len, "%s: %s", path, evprof_trace_reader_error(r));
        bad = 1;
    }
    if (!bad && nlive > 0) {
        snprintf(msg, len, "%zu blocks never freed (first: %#llx, %lld "
                 "bytes)", nlive, (unsigned long long)live[0].ptr,
                 (long long)live[0].size);
        bad = 1;
    }
    free(live);
    evprof_trace_reader_close(r);
    return bad ? -1 : 0;
}

#endif /* EVPROF_TRACE_CHECK_H */
