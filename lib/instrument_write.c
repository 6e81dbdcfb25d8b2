/*
 * instrument_write.c: the trace file of a recording of evprof-instrument:
 * the events, then the threads, then the names and lines of the function
 * addresses and call sites the events hold, resolved in this process now
 * (symbols.c).
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "instrument-private.h"
#include "sink-private.h"
#include "symbols-private.h"

/* Events moved from the buffer to the file at a time. */
#define BATCH 262144

/* Drops what a buffer still holds (events logged after a stop). */
void evprof__instrument_drain(evprof_buffer *b)
{
    evprof_event ev[256];

    while (evprof_buffer_dump(b, ev, 256) > 0)
        ;
}

/* A set of addresses (open addressing; 0 is the empty slot). */
struct set {
    uintptr_t *v;
    size_t cap, n;
};

EVPROF_NOINSTR static int set_add(struct set *s, uintptr_t a)
{
    size_t i;

    if (a == 0)
        return 0;
    if (2 * (s->n + 1) > s->cap) {
        struct set t = { NULL, s->cap ? 2 * s->cap : 1024, 0 };

        t.v = calloc(t.cap, sizeof(*t.v));
        if (t.v == NULL)
            return -ENOMEM;
        for (i = 0; i < s->cap; i++)
            if (s->v[i] != 0)
                set_add(&t, s->v[i]);
        free(s->v);
        *s = t;
    }
    for (i = (a * 0x9E3779B97F4A7C15u) >> 7 & (s->cap - 1); s->v[i] != 0;
         i = (i + 1) & (s->cap - 1))
        if (s->v[i] == a)
            return 0;
    s->v[i] = a;
    s->n++;
    return 0;
}

EVPROF_NOINSTR static char *hex_name(uintptr_t a)
{
    char *s = malloc(2 + 2 * sizeof(a) + 1);

    if (s != NULL)
        snprintf(s, 2 + 2 * sizeof(a) + 1, "0x%lx", (unsigned long)a);
    return s;
}

/* Names for every function address, lines for every call site. */
EVPROF_NOINSTR static int write_tables(evprof_trace_writer *w,
                                       struct set *fns, struct set *sites)
{
    evprof__symbols *sy = evprof__symbols_new();
    const evprof__module *m;
    evprof_trace_name *names = NULL;
    evprof_trace_line *lines = NULL;
    char **hex = NULL;
    size_t i, nn = 0, nl = 0, nh = 0;
    evprof__sym s;
    int rc = 0;

    names = calloc(fns->n + sites->n + 1, sizeof(*names));
    lines = calloc(sites->n + 1, sizeof(*lines));
    hex = calloc(fns->n + 1, sizeof(*hex));
    if (names == NULL || lines == NULL || hex == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    /* Modules unloaded while recording are named from their files. */
    for (m = evprof__modules_gone(); sy != NULL && m != NULL; m = m->next)
        evprof__symbols_add_gone(sy, m->path, m->bias, m->lo, m->hi);
    for (i = 0; i < fns->cap; i++) {
        uintptr_t a = fns->v[i];

        if (a == 0)
            continue;
        names[nn].key = (int64_t)a;
        names[nn].kind = EVPROF_NAME_NATIVE;
        if (sy != NULL && evprof__symbols_find(sy, a, &s) == 0) {
            names[nn].name = s.name;
            names[nn].module = s.module;
            names[nn].file = s.file;
            names[nn].first_line = s.line;
        } else {
            if (sy != NULL)
                names[nn].module = s.module;
            names[nn].name = hex[nh++] = hex_name(a);
        }
        nn++;
    }
    for (i = 0; sy != NULL && i < sites->cap; i++) {
        uintptr_t a = sites->v[i];

        /* The line of the call: key = the calling function, offset = the
         * return address's distance from its start. */
        if (a != 0 && evprof__symbols_find(sy, a, &s) == 0 && s.line > 0
            && s.start != 0) {
            lines[nl].key = (int64_t)s.start;
            lines[nl].offset = (int64_t)(a - s.start);
            lines[nl].line = s.line;
            nl++;
        }
    }
    rc = evprof_trace_write_names(w, names, nn);
    if (rc == 0 && nl > 0)
        rc = evprof_trace_write_lines(w, lines, nl);
out:
    for (i = 0; hex != NULL && i < nh; i++)
        free(hex[i]);
    free(hex);
    free(names);
    free(lines);
    evprof__symbols_free(sy);
    return rc;
}

int evprof__instrument_write(evprof_buffer *b, const char *file,
                             uint64_t lost_before, const char *scope)
{
    evprof_trace_writer *w;
    evprof_event *ev = NULL;
    uint32_t *thr = NULL;
    evprof_thread_info *info = NULL;
    struct set fns = { NULL, 0, 0 }, sites = { NULL, 0, 0 };
    char exe[PATH_MAX];
    size_t n, i, nt;
    uint64_t total = 0;
    ssize_t k;
    int rc;

    rc = evprof_trace_writer_open(file, &w);
    if (rc < 0) {
        evprof__instrument_drain(b);
        return rc;
    }
    evprof_trace_write_meta(w, "source", "evprof-instrument");
    evprof_trace_write_meta(w, "id_frame", "function address");
    evprof_trace_write_meta(w, "id_arg", "call site address (allocation "
                            "events: the domain)");
#ifdef HAVE_LIBDW
    evprof_trace_write_meta(w, "resolver", "libdw");
#else
    evprof_trace_write_meta(w, "resolver", "elf-symtab");
#endif
    k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (k > 0) {
        exe[k] = '\0';
        evprof_trace_write_meta(w, "program", exe);
    }
    if (scope != NULL)
        evprof_trace_write_meta(w, "scope", scope);
    ev = malloc(BATCH * sizeof(*ev));
    thr = malloc(BATCH * sizeof(*thr));
    if (ev == NULL || thr == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    while ((n = evprof_buffer_dump_ex(b, ev, thr, BATCH)) > 0) {
        rc = evprof_trace_write_events(w, ev, thr, n);
        total += n;
        /* Allocation events (libevprof-malloc.so) hold a context and a
         * domain, not addresses. */
        for (i = 0; i < n && rc == 0; i++)
            if (!evprof__is_memory(ev[i].event)
                && (rc = set_add(&fns, (uintptr_t)ev[i].id_frame)) == 0)
                rc = set_add(&sites, (uintptr_t)ev[i].id_arg);
        if (rc < 0)
            goto out;
    }
    nt = evprof_buffer_thread_count(b);
    info = calloc(nt + 1, sizeof(*info));
    if (info == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (i = 0; i < nt; i++)
        if (evprof_buffer_thread(b, i, &info[i]) != 0)
            break;
    rc = evprof_trace_write_threads(w, info, i);
    /* An empty trace is most often code that does not reach these hooks:
     * the file says so, since the library does not print. */
    if (rc == 0 && total == 0)
        rc = evprof_trace_write_meta(w, "warning", "no call was recorded: "
                                     "no code built with "
                                     "-finstrument-functions called the hooks "
                                     "of this copy of evprof-instrument");    if (rc == 0)
        rc = evprof_trace_writer_add_lost(w, evprof_buffer_lost(b)
                                          - lost_before);
    if (rc == 0)
        rc = write_tables(w, &fns, &sites);
out:
    i = (size_t)evprof_trace_writer_close(w);
    if (rc == 0)
        rc = (int)i;
    free(ev);
    free(thr);
    free(info);
    free(fns.v);
    free(sites.v);
    return rc;
}
