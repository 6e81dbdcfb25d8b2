/*
 * trace_write.c: writing a trace file (doc/trace-format.md) section by
 * section.  Events go out in sections of at most TRACE_EVENTS_PER_SECTION
 * events, so a buffer of any size is written through a bounded scratch area.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "trace-private.h"

struct evprof_trace_writer {
    FILE *f;
    int error;            /* the first error, sticky */
    unsigned char *buf;   /* section payload being built */
    size_t cap;
    uint64_t events, sections, lost;
};

/* ---- CRC-32 (IEEE 802.3, reflected, as zlib's crc32) ----------------- */

/* Slicing by 8: eight tables, eight bytes a step (some 5 times faster than
 * a byte a step; the checksums cost about as much as the writes). */
static uint32_t crc_table[8][256];
static int crc_ready;

static void crc_init(void)
{
    uint32_t c, n, k;

    for (n = 0; n < 256; n++) {
        c = n;
        for (k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][n] = c;
    }
    for (n = 0; n < 256; n++)
        for (k = 1; k < 8; k++)
            crc_table[k][n] = (crc_table[k - 1][n] >> 8)
                ^ crc_table[0][crc_table[k - 1][n] & 0xFF];
    __atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
}

uint32_t evprof__crc32(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;

    /* Racing initialisations compute the same tables: harmless. */
    if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE))
        crc_init();
    crc = ~crc;
    while (n >= 8) {
        uint32_t lo = crc ^ get_u32(p), hi = get_u32(p + 4);

        crc = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF]
            ^ crc_table[5][(lo >> 16) & 0xFF] ^ crc_table[4][lo >> 24]
            ^ crc_table[3][hi & 0xFF] ^ crc_table[2][(hi >> 8) & 0xFF]
            ^ crc_table[1][(hi >> 16) & 0xFF] ^ crc_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = crc_table[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

/* ---- plumbing -------------------------------------------------------- */

static int fail(evprof_trace_writer *w, int code)
{
    if (w->error == 0)
        w->error = code;
    return w->error;
}

static int reserve(evprof_trace_writer *w, size_t n)
{
    unsigned char *p;
    size_t cap;

    if (n <= w->cap)
        return 0;
    cap = w->cap ? w->cap : 4096;
    while (cap < n)
        cap *= 2;
    p = realloc(w->buf, cap);
    if (p == NULL)
        return fail(w, -ENOMEM);
    w->buf = p;
    w->cap = cap;
    return 0;
}

static int put(evprof_trace_writer *w, const void *p, size_t n)
{
    if (n > 0 && fwrite(p, 1, n, w->f) != n)
        return fail(w, errno ? -errno : -EIO);
    return 0;
}

/* Writes a section whose payload is w->buf[0..len). */
static int emit(evprof_trace_writer *w, uint32_t type, uint32_t flags,
                size_t len)
{
    unsigned char h[TRACE_SECTION_HEADER];

    if (w->error)
        return w->error;
    put_u32(h, type);
    put_u32(h + 4, flags);
    put_u64(h + 8, len);
    put_u32(h + 16, evprof__crc32(0, w->buf, len));
    put_u32(h + 20, evprof__crc32(0, h, 20));
    errno = 0;
    if (put(w, h, sizeof(h)) || put(w, w->buf, len))
        return w->error;
    if (type != SEC_END)
        w->sections++;
    return 0;
}

static size_t slen(const char *s)
{
    return s != NULL ? strlen(s) : 0;
}

/* ---- API ------------------------------------------------------------- */

int evprof_trace_writer_open(const char *path, evprof_trace_writer **out)
{
    evprof_trace_writer *w;
    unsigned char h[TRACE_HEADER_SIZE];
    struct timespec rt;
    int code;

    if (out != NULL)
        *out = NULL;
    if (path == NULL || out == NULL || *path == '\0')
        return -EINVAL;
    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return -ENOMEM;
    w->f = fopen(path, "wb");
    if (w->f == NULL) {
        code = errno ? -errno : -EIO;
        free(w);
        return code;
    }
    evprof_clock_init();
    memset(h, 0, sizeof(h));
    memcpy(h, TRACE_MAGIC, TRACE_MAGIC_LEN);
    put_u16(h + 8, EVPROF_TRACE_VERSION_MAJOR);
    put_u16(h + 10, EVPROF_TRACE_VERSION_MINOR);
    put_u32(h + 12, TRACE_HEADER_SIZE);
    put_u32(h + 16, TRACE_EVENT_SIZE);
    put_u32(h + 20, EVPROF_N_COLUMNS);
    put_u32(h + 24, (uint32_t)evprof_clock_init());
    put_u32(h + 28, 0);
    put_u64(h + 32, (uint64_t)getpid());
    clock_gettime(CLOCK_REALTIME, &rt);
    put_u64(h + 40, (uint64_t)((int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec));
    put_u64(h + 48, (uint64_t)evprof_clock_ns());
    put_u32(h + 60, evprof__crc32(0, h, 60));
    errno = 0;
    put(w, h, sizeof(h));
    evprof_trace_write_meta(w, "evprof", EVPROF_VERSION_STRING);
    evprof_trace_write_meta(w, "clock", evprof_clock_name());
    evprof_trace_write_meta(w, "columns",
                            "id_frame,id_arg,event,time,value1,value2");
    if (w->error) {
        code = w->error;
        fclose(w->f);
        free(w->buf);
        free(w);
        return code;
    }
    *out = w;
    return 0;
}

int evprof_trace_write_meta(evprof_trace_writer *w, const char *key,
                            const char *value)
{
    size_t kl, vl;

    if (w == NULL)
        return -EINVAL;
    if (key == NULL || value == NULL)
        return fail(w, -EINVAL);
    kl = strlen(key);
    vl = strlen(value);
    if (kl > UINT32_MAX || vl > UINT32_MAX || kl + vl > TRACE_MAX_SECTION / 2)
        return fail(w, -EINVAL);
    if (reserve(w, 16 + kl + vl))
        return w->error;
    put_u32(w->buf, 1);
    put_u32(w->buf + 4, 0);
    put_u32(w->buf + 8, (uint32_t)kl);
    put_u32(w->buf + 12, (uint32_t)vl);
    memcpy(w->buf + 16, key, kl);
    memcpy(w->buf + 16 + kl, value, vl);
    return emit(w, SEC_META, 0, 16 + kl + vl);
}

int evprof_trace_write_threads(evprof_trace_writer *w,
                               const evprof_thread_info *info, size_t n)
{
    return evprof_trace_write_threads_pid(w, info, NULL, n);
}

int evprof_trace_write_threads_pid(evprof_trace_writer *w,
                                   const evprof_thread_info *info,
                                   const int64_t *pid, size_t n)
{
    size_t i;
    unsigned char *p;
    int64_t self = (int64_t)getpid();

    if (w == NULL)
        return -EINVAL;
    if ((info == NULL && n > 0) || n > (TRACE_MAX_SECTION - 8) / THREAD_RECORD)
        return fail(w, -EINVAL);
    if (reserve(w, 8 + n * THREAD_RECORD))
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
    return emit(w, SEC_THREADS, 0, 8 + n * THREAD_RECORD);
}

static int write_events_section(evprof_trace_writer *w, const evprof_event *ev,
                                const uint32_t *thread, size_t n)
{
    size_t i, len = 8 + n * TRACE_EVENT_SIZE + (thread ? 4 * n : 0);
    unsigned char *p;

    if (reserve(w, len))
        return w->error;
    put_u32(w->buf, (uint32_t)n);
    put_u32(w->buf + 4, thread ? EVENTS_FLAG_THREAD : 0);
    for (i = 0, p = w->buf + 8; i < n; i++, p += TRACE_EVENT_SIZE) {
        put_u64(p, (uint64_t)ev[i].id_frame);
        put_u64(p + 8, (uint64_t)ev[i].id_arg);
        put_u64(p + 16, (uint64_t)ev[i].event);
        put_u64(p + 24, (uint64_t)ev[i].time);
        put_u64(p + 32, (uint64_t)ev[i].value1);
        put_u64(p + 40, (uint64_t)ev[i].value2);
    }
    if (thread)
        for (i = 0; i < n; i++, p += 4)
            put_u32(p, thread[i]);
    if (emit(w, SEC_EVENTS, SEC_FLAG_REQUIRED, len))
        return w->error;
    w->events += n;
    return 0;
}

int evprof_trace_write_events(evprof_trace_writer *w, const evprof_event *ev,
                              const uint32_t *thread, size_t n)
{
    size_t k;

    if (w == NULL)
        return -EINVAL;
    if (ev == NULL && n > 0)
        return fail(w, -EINVAL);
    if (w->error)
        return w->error;
    while (n > 0) {
        k = n < TRACE_EVENTS_PER_SECTION ? n : TRACE_EVENTS_PER_SECTION;
        if (write_events_section(w, ev, thread, k))
            return w->error;
        ev += k;
        if (thread)
            thread += k;
        n -= k;
    }
    return 0;
}

int64_t evprof_trace_write_buffer(evprof_trace_writer *w, evprof_buffer *b)
{
    enum { CHUNK = 16384 };
    evprof_event *ev;
    uint32_t *thr;
    evprof_thread_info *info = NULL;
    size_t n, i, nt;
    int64_t total = 0;

    if (w == NULL)
        return -EINVAL;
    if (b == NULL)
        return fail(w, -EINVAL);
    if (w->error)
        return w->error;
    ev = malloc(CHUNK * sizeof(*ev));
    thr = malloc(CHUNK * sizeof(*thr));
    if (ev == NULL || thr == NULL) {
        free(ev);
        free(thr);
        return fail(w, -ENOMEM);
    }
    while ((n = evprof_buffer_dump_ex(b, ev, thr, CHUNK)) > 0) {
        if (evprof_trace_write_events(w, ev, thr, n))
            break;
        total += (int64_t)n;
    }
    free(ev);
    free(thr);
    if (w->error)
        return w->error;
    nt = evprof_buffer_thread_count(b);
    if (nt > 0) {
        info = calloc(nt, sizeof(*info));
        if (info == NULL)
            return fail(w, -ENOMEM);
        for (i = 0; i < nt; i++)
            if (evprof_buffer_thread(b, i, &info[i]) != 0)
                break;
        nt = i;
    }
    evprof_trace_write_threads(w, info, nt);
    free(info);
    w->lost += evprof_buffer_lost(b);
    return w->error ? w->error : total;
}

int evprof_trace_write_names(evprof_trace_writer *w,
                             const evprof_trace_name *names, size_t n)
{
    size_t i, len = 8, nl, ml, fl;
    unsigned char *p;

    if (w == NULL)
        return -EINVAL;
    if (names == NULL && n > 0)
        return fail(w, -EINVAL);
    for (i = 0; i < n; i++) {
        nl = slen(names[i].name);
        ml = slen(names[i].module);
        fl = slen(names[i].file);
        len += NAME_RECORD + nl + ml + fl;
        if (nl > UINT32_MAX || ml > UINT32_MAX || fl > UINT32_MAX
            || len > TRACE_MAX_SECTION)
            return fail(w, -EINVAL);
    }
    if (reserve(w, len))
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
    return emit(w, SEC_NAMES, 0, len);
}

int evprof_trace_write_lines(evprof_trace_writer *w,
                             const evprof_trace_line *lines, size_t n)
{
    size_t i;
    unsigned char *p;

    if (w == NULL)
        return -EINVAL;
    if ((lines == NULL && n > 0) || n > (TRACE_MAX_SECTION - 8) / LINE_RECORD)
        return fail(w, -EINVAL);
    if (reserve(w, 8 + n * LINE_RECORD))
        return w->error;
    put_u32(w->buf, (uint32_t)n);
    put_u32(w->buf + 4, 0);
    for (i = 0, p = w->buf + 8; i < n; i++, p += LINE_RECORD) {
        put_u64(p, (uint64_t)lines[i].key);
        put_u64(p + 8, (uint64_t)lines[i].offset);
        put_u32(p + 16, (uint32_t)lines[i].line);
        put_u32(p + 20, 0);
    }
    return emit(w, SEC_LINES, 0, 8 + n * LINE_RECORD);
}

int evprof_trace_writer_add_lost(evprof_trace_writer *w, uint64_t lost)
{
    if (w == NULL)
        return -EINVAL;
    w->lost += lost;
    return w->error;
}

int evprof_trace_writer_close(evprof_trace_writer *w)
{
    int code;

    if (w == NULL)
        return -EINVAL;
    if (reserve(w, 24) == 0) {
        put_u64(w->buf, w->events);
        put_u64(w->buf + 8, w->sections);
        put_u64(w->buf + 16, w->lost);
        emit(w, SEC_END, SEC_FLAG_REQUIRED, 24);
    }
    errno = 0;
    if (fflush(w->f) != 0)
        fail(w, errno ? -errno : -EIO);
    if (fclose(w->f) != 0)
        fail(w, errno ? -errno : -EIO);
    code = w->error;
    free(w->buf);
    free(w);
    return code;
}
