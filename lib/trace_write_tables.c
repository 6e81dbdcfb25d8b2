/*
 * trace_write_tables.c: the table sections of the trace writer
 * (trace_write.c): META pairs, the THREADS table, NAMES and LINES, each
 * built in the writer's buffer and written as one section, under the
 * writer's lock.
 */
#include <config.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "trace-write-private.h"

static size_t slen(const char *s)
{
    return s != NULL ? strlen(s) : 0;
}

static int write_meta(evprof_trace_writer *w, const char *key,
                      const char *value)
{
    size_t kl, vl;

    if (w == NULL)
        return -EINVAL;
    if (key == NULL || value == NULL)
        return evprof__tw_fail(w, -EINVAL);
    kl = strlen(key);
    vl = strlen(value);
    if (kl > UINT32_MAX || vl > UINT32_MAX || kl + vl > TRACE_MAX_SECTION / 2)
        return evprof__tw_fail(w, -EINVAL);
    if (evprof__tw_reserve(w, 16 + kl + vl))
        return w->error;
    put_u32(w->buf, 1);
    put_u32(w->buf + 4, 0);
    put_u32(w->buf + 8, (uint32_t)kl);
    put_u32(w->buf + 12, (uint32_t)vl);
    memcpy(w->buf + 16, key, kl);
    memcpy(w->buf + 16 + kl, value, vl);
    return evprof__tw_emit(w, SEC_META, 0, 16 + kl + vl);
}

static int write_threads(evprof_trace_writer *w,
                         const evprof_thread_info *info,
                         const int64_t *pid, size_t n)
{
    size_t i;
    unsigned char *p;
    int64_t self = (int64_t)getpid();

    if (w == NULL)
        return -EINVAL;
    if ((info == NULL && n > 0) || n > (TRACE_MAX_SECTION - 8) / THREAD_RECORD)
        return evprof__tw_fail(w, -EINVAL);
    if (evprof__tw_reserve(w, 8 + n * THREAD_RECORD))
        return w->error;
    put_u32(w->buf, (uint32_t)n);
    put_u32(w->buf + 4, 0);
    for (i = 0, p = w->buf + 8; i < n; i++, p += THREAD_RECORD) {
        put_u32(p, (uint32_t)i);
        put_u32(p + 4, 0);
        put_u64(p + 8, info[i].ident);
        put_u64(p + 16, (uint64_t)info[i].native_id);
        put_u64(p + 24, (uint64_t)(pid != NULL ? pid[i] : self));
    }
    return evprof__tw_emit(w, SEC_THREADS, 0, 8 + n * THREAD_RECORD);
}

static int write_names(evprof_trace_writer *w,
                       const evprof_trace_name *names, size_t n)
{
    size_t i, len = 8, nl, ml, fl;
    unsigned char *p;

    if (w == NULL)
        return -EINVAL;
    if (names == NULL && n > 0)
        return evprof__tw_fail(w, -EINVAL);
    for (i = 0; i < n; i++) {
        nl = slen(names[i].name);
        ml = slen(names[i].module);
        fl = slen(names[i].file);
        len += NAME_RECORD + nl + ml + fl;
        if (nl > UINT32_MAX || ml > UINT32_MAX || fl > UINT32_MAX
            || len > TRACE_MAX_SECTION)
            return evprof__tw_fail(w, -EINVAL);
    }
    if (evprof__tw_reserve(w, len))
        return w->error;
    put_u32(w->buf, (uint32_t)n);
    put_u32(w->buf + 4, 0);
    for (i = 0, p = w->buf + 8; i < n; i++) {
        nl = slen(names[i].name);
        ml = slen(names[i].module);
        fl = slen(names[i].file);
        put_u64(p, (uint64_t)names[i].key);
        put_u32(p + 8, (uint32_t)names[i].kind);
        put_u32(p + 12, (uint32_t)names[i].first_line);
        put_u32(p + 16, (uint32_t)nl);
        put_u32(p + 20, (uint32_t)ml);
        put_u32(p + 24, (uint32_t)fl);
        put_u32(p + 28, 0);
        p += NAME_RECORD;
        if (nl)
            memcpy(p, names[i].name, nl);
        p += nl;
        if (ml)
            memcpy(p, names[i].module, ml);
        p += ml;
        if (fl)
            memcpy(p, names[i].file, fl);
        p += fl;
    }
    return evprof__tw_emit(w, SEC_NAMES, 0, len);
}

static int write_lines(evprof_trace_writer *w,
                       const evprof_trace_line *lines, size_t n)
{
    size_t i;
    unsigned char *p;

    if (w == NULL)
        return -EINVAL;
    if ((lines == NULL && n > 0) || n > (TRACE_MAX_SECTION - 8) / LINE_RECORD)
        return evprof__tw_fail(w, -EINVAL);
    if (evprof__tw_reserve(w, 8 + n * LINE_RECORD))
        return w->error;
    put_u32(w->buf, (uint32_t)n);
    put_u32(w->buf + 4, 0);
    for (i = 0, p = w->buf + 8; i < n; i++, p += LINE_RECORD) {
        put_u64(p, (uint64_t)lines[i].key);
        put_u64(p + 8, (uint64_t)lines[i].offset);
        put_u32(p + 16, (uint32_t)lines[i].line);
        put_u32(p + 20, 0);
    }
    return evprof__tw_emit(w, SEC_LINES, 0, 8 + n * LINE_RECORD);
}

/* ---- API: the functions above, under the writer's lock ------------- */

int evprof_trace_write_meta(evprof_trace_writer *w, const char *key,
                            const char *value)
{
    LOCKED(w, write_meta(w, key, value));
}

int evprof_trace_write_threads_pid(evprof_trace_writer *w,
                                   const evprof_thread_info *info,
                                   const int64_t *pid, size_t n)
{
    LOCKED(w, write_threads(w, info, pid, n));
}

int evprof_trace_write_threads(evprof_trace_writer *w,
                               const evprof_thread_info *info, size_t n)
{
    return evprof_trace_write_threads_pid(w, info, NULL, n);
}

int evprof_trace_write_names(evprof_trace_writer *w,
                             const evprof_trace_name *names, size_t n)
{
    LOCKED(w, write_names(w, names, n));
}

int evprof_trace_write_lines(evprof_trace_writer *w,
                             const evprof_trace_line *lines, size_t n)
{
    LOCKED(w, write_lines(w, lines, n));
}

