/*
 * cut-trace.c: see cut-trace.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <evprof.h>

#include "cut-trace.h"
#include "tap.h"

/* ---- the trace ------------------------------------------------------ */

static evprof_event ev[4096];
static uint32_t th[4096];
static size_t nev;
static int64_t now = 1000;

static void emit(uint32_t thread, int64_t code, int64_t key, int64_t v1,
                 int64_t v2)
{
    evprof_event *e = &ev[nev];

    if (nev == sizeof(ev) / sizeof(ev[0]))
        bail("too many events");
    e->id_frame = key;
    e->id_arg = code == EVPROF_C_CALL || code == EVPROF_C_RETURN ? 3 : 1;
    e->event = code;
    e->time = now += 100;
    e->value1 = v1;
    e->value2 = v2;
    th[nev++] = thread;
}

/* A call of key with a builtin call and an allocation freed in it. */
static void block(uint32_t thread, int64_t key, int64_t ptr)
{
    emit(thread, EVPROF_CALL, key, 0, 0);
    emit(thread, EVPROF_C_CALL, 3, 0, 0);
    emit(thread, EVPROF_MALLOC, key, ptr, 64);
    emit(thread, EVPROF_C_RETURN, 3, 0, 0);
    emit(thread, EVPROF_FREE, key, ptr, -64);
    emit(thread, EVPROF_RETURN, key, 0, 0);
}

/* Calls (call and c_call events) of each events section written. */
static int64_t calls_in[MAXSEC];
static int nevsec;

static void flush_events(evprof_trace_writer *w)
{
    size_t i;

    for (i = 0; i < nev; i++)
        if (ev[i].event == EVPROF_CALL || ev[i].event == EVPROF_C_CALL)
            calls_in[nevsec]++;
    if (evprof_trace_write_events(w, ev, th, nev) != 0)
        bail("write events");
    nevsec++;
    nev = 0;
}

static void table(int rc)
{
    if (rc != 0)
        bail("write a table: %s", evprof_strerror(rc));
}

static void write_trace(const char *path)
{
    static const evprof_trace_name first[] = {
        { 1, EVPROF_NAME_CODE, 1, "<module>", "cut.py", "cut.py" },
        { 2, EVPROF_NAME_CODE, 3, "fib", "cut.py", "cut.py" },
        { 3, EVPROF_NAME_BUILTIN, 0, "len", "builtins", "" },
    };
    static const evprof_trace_name later[] = {
        { 4, EVPROF_NAME_CODE, 9, "work", "cut.py", "cut.py" },
    };
    static const evprof_thread_info threads[] = { { 1000, 11 },
                                                  { 2000, 12 } };
    evprof_trace_writer *w;
    int i;

    if (evprof_trace_writer_open(path, &w) != 0)
        bail("open %s", path);
    table(evprof_trace_write_meta(w, "program", "cut.py"));
    table(evprof_trace_write_threads(w, threads, 2));
    table(evprof_trace_write_names(w, first, 3));
    emit(0, EVPROF_PROFILER_START, 0, 0, 0);
    emit(0, EVPROF_CALL, 1, 0, 0); /* open until the last section */
    for (i = 0; i < 20; i++)
        block((uint32_t)(i & 1), 2, 0x1000 + i);
    flush_events(w);
    for (i = 0; i < 30; i++)
        block((uint32_t)(i & 1), 2, 0x2000 + i);
    emit(1, EVPROF_CALL, 2, 0, 0); /* open across three sections */
    flush_events(w);
    table(evprof_trace_write_names(w, later, 1));
    table(evprof_trace_write_meta(w, "thread_name.1000", "MainThread"));
    for (i = 0; i < 25; i++)
        block((uint32_t)(i & 1), 4, 0x3000 + i);
    emit(1, EVPROF_RETURN, 2, 0, 0);
    flush_events(w);
    for (i = 0; i < 10; i++)
        block(0, 2, 0x4000 + i);
    emit(0, EVPROF_RETURN, 1, 0, 0);
    emit(0, EVPROF_PROFILER_SORT, 0, 0, 0);
    flush_events(w);
    if (evprof_trace_writer_close(w) != 0)
        bail("close %s", path);
}

/* ---- its sections ----------------------------------------------------- */

unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;

    if (f == NULL)
        bail("%s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    if ((buf = malloc((size_t)n + 1)) == NULL)
        bail("out of memory");
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        bail("%s: short read", path);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;

    while (n-- > 0)
        v = v << 8 | p[n];
    return v;
}

static void parse_sections(const unsigned char *file, size_t file_len,
                           struct section *sec, int *count)
{
    uint64_t at = get_le(file + 12, 4);
    int k = 0, nsec;

    for (nsec = 0; at < file_len; nsec++) {
        if (nsec == MAXSEC)
            bail("too many sections");
        sec[nsec].start = at;
        sec[nsec].type = (uint32_t)get_le(file + at, 4);
        sec[nsec].end = at + 24 + get_le(file + at + 8, 8);
        sec[nsec].events = sec[nsec].type == 3 || sec[nsec].type == 6
                           ? get_le(file + at + 24, 4) : 0;
        if (sec[nsec].events > 0)
            sec[nsec].calls = k < nevsec ? calls_in[k++] : -1;
        at = sec[nsec].end;
    }
    if (at != file_len || sec[nsec - 1].type != 0xFFFF
        || k != nevsec)
        bail("the trace is not laid out as written");
    *count = nsec;
}

unsigned char *cut_trace(const char *path, size_t *len, struct section *sec,
                         int *nsec)
{
    unsigned char *file;

    write_trace(path);
    file = slurp(path, len);
    parse_sections(file, *len, sec, nsec);
    return file;
}
