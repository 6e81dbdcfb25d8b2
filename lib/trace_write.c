/*
 * trace_write.c: writing a trace file (doc/trace-format.md) section by
 * section.  Events go out in sections of at most TRACE_EVENTS_PER_SECTION
 * events, so a buffer of any size is written through a bounded scratch area.
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "grow-private.h"
#include "trace-write-private.h"

/* ---- plumbing -------------------------------------------------------- */

int evprof__tw_fail(evprof_trace_writer *w, int code)
{
    if (w->error == 0)
        w->error = code;
    return w->error;
}

int evprof__tw_reserve(evprof_trace_writer *w, size_t n)
{
    if (evprof__grow(&w->buf, &w->cap, n, 1, 4096) < 0)
        return evprof__tw_fail(w, -ENOMEM);
    return 0;
}

static int put(evprof_trace_writer *w, const void *p, size_t n)
{
    if (n > 0 && fwrite(p, 1, n, w->f) != n)
        return evprof__tw_fail(w, errno ? -errno : -EIO);
    return 0;
}

/* Writes a section whose payload is p[0..len).  While a stream writes
 * to the file, each section goes to the kernel at once: a process killed
 * keeps every section written, a forked child's stdio holds none to
 * write again. */
static int emit_from(evprof_trace_writer *w, uint32_t type, uint32_t flags,
                     const unsigned char *p, size_t len)
{
    unsigned char h[TRACE_SECTION_HEADER];

    if (w->error)
        return w->error;
    put_u32(h, type);
    put_u32(h + 4, flags);
    put_u64(h + 8, len);
    put_u32(h + 16, evprof__crc32(0, p, len));
    put_u32(h + 20, evprof__crc32(0, h, 20));
    errno = 0;
    if (put(w, h, sizeof(h)) || put(w, p, len))
        return w->error;
    if (w->attached && fflush(w->f) != 0)
        return evprof__tw_fail(w, errno ? -errno : -EIO);
    if (type != SEC_END)
        w->sections++;
    return 0;
}

int evprof__tw_emit(evprof_trace_writer *w, uint32_t type, uint32_t flags,
                    size_t len)
{
    return emit_from(w, type, flags, w->buf, len);
}

/* ---- for lib/stream.c (trace-private.h) ------------------------------ */

int evprof__trace_write_section(evprof_trace_writer *w, uint32_t type,
                                uint32_t flags, const unsigned char *p,
                                size_t len, uint64_t events)
{
    int rc;

    pthread_mutex_lock(&w->lock);
    rc = emit_from(w, type, flags, p, len);
    if (rc == 0)
        w->events += events;
    pthread_mutex_unlock(&w->lock);
    return rc;
}

static int write_packed(evprof_trace_writer *w, const evprof_event *ev,
                        const uint32_t *thread, const unsigned char *rec,
                        uint32_t one_thread, size_t n);

int evprof__trace_write_records(evprof_trace_writer *w,
                                const unsigned char *rec, uint32_t thread,
                                size_t n)
{
    int rc = 0;
    size_t k;

    pthread_mutex_lock(&w->lock);
    for (; n > 0 && rc == 0; n -= k, rec += k * TRACE_EVENT_SIZE) {
        k = n < TRACE_EVENTS_PER_SECTION ? n : TRACE_EVENTS_PER_SECTION;
        rc = write_packed(w, NULL, NULL, rec, thread, k);
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

static int attach(evprof_trace_writer *w, int on)
{
    if (!on) {
        w->attached = 0;
        return w->error;
    }
    if (w->attached)
        return -EBUSY;
    if (w->error)
        return w->error;
    errno = 0;
    if (fflush(w->f) != 0)
        return evprof__tw_fail(w, errno ? -errno : -EIO);
    w->attached = 1;
    return 0;
}

int evprof__trace_writer_attach(evprof_trace_writer *w, int on)
{
    LOCKED(w, attach(w, on));
}

int evprof__trace_writer_error(evprof_trace_writer *w)
{
    LOCKED(w, w->error);
}

void evprof__trace_writer_lock(evprof_trace_writer *w, int lock)
{
    if (lock)
        pthread_mutex_lock(&w->lock);
    else
        pthread_mutex_unlock(&w->lock);
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
    if (pthread_mutex_init(&w->lock, NULL) != 0) {
        free(w);
        return -ENOMEM;
    }
    w->f = fopen(path, "wb");
    if (w->f == NULL) {
        code = errno ? -errno : -EIO;
        pthread_mutex_destroy(&w->lock);
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
        pthread_mutex_destroy(&w->lock);
        free(w->buf);
        free(w);
        return code;
    }
    *out = w;
    return 0;
}

/* Events as EVENTS_PACKED sections (lib/trace_encode.c): records
 * (`rec` NULL) or 48-byte little-endian ones of one thread. */
static int write_packed(evprof_trace_writer *w, const evprof_event *ev,
                        const uint32_t *thread, const unsigned char *rec,
                        uint32_t one_thread, size_t n)
{
    size_t len;

    if (evprof__tw_reserve(w, TRACE_PACKED_BOUND(n)))
        return w->error;
    len = evprof__trace_pack(w->buf, ev, thread, rec, one_thread, n);
    if (evprof__tw_emit(w, SEC_EVENTS_PACKED, SEC_FLAG_REQUIRED, len))
        return w->error;
    w->events += n;
    return 0;
}

static int write_events(evprof_trace_writer *w, const evprof_event *ev,
                        const uint32_t *thread, size_t n)
{
    size_t k;

    if (w == NULL)
        return -EINVAL;
    if (ev == NULL && n > 0)
        return evprof__tw_fail(w, -EINVAL);
    if (w->error)
        return w->error;
    while (n > 0) {
        k = n < TRACE_EVENTS_PER_SECTION ? n : TRACE_EVENTS_PER_SECTION;
        if (write_packed(w, ev, thread, NULL, 0, k))
            return w->error;
        ev += k;
        if (thread)
            thread += k;
        n -= k;
    }
    return 0;
}

static int add_lost(evprof_trace_writer *w, uint64_t lost)
{
    if (w == NULL)
        return -EINVAL;
    w->lost += lost;
    return w->error;
}

/* ---- API: the functions above, under the writer's lock ------------- */

int evprof_trace_write_events(evprof_trace_writer *w, const evprof_event *ev,
                              const uint32_t *thread, size_t n)
{
    LOCKED(w, write_events(w, ev, thread, n));
}

int evprof_trace_writer_add_lost(evprof_trace_writer *w, uint64_t lost)
{
    LOCKED(w, add_lost(w, lost));
}

int64_t evprof_trace_write_buffer(evprof_trace_writer *w, evprof_buffer *b)
{
    enum { CHUNK = 16384 };
    evprof_event *ev;
    uint32_t *thr;
    evprof_thread_info *info = NULL;
    size_t n, i, nt;
    int64_t total = 0;
    int rc;

    if (w == NULL)
        return -EINVAL;
    if (b == NULL)
        LOCKED(w, evprof__tw_fail(w, -EINVAL));
    if ((rc = evprof__trace_writer_error(w)) != 0)
        return rc;
    ev = malloc(CHUNK * sizeof(*ev));
    thr = malloc(CHUNK * sizeof(*thr));
    if (ev == NULL || thr == NULL) {
        free(ev);
        free(thr);
        LOCKED(w, evprof__tw_fail(w, -ENOMEM));
    }
    while ((n = evprof_buffer_dump_ex(b, ev, thr, CHUNK)) > 0) {
        if ((rc = evprof_trace_write_events(w, ev, thr, n)) != 0)
            break;
        total += (int64_t)n;
    }
    free(ev);
    free(thr);
    if (rc != 0)
        return rc;
    nt = evprof_buffer_thread_count(b);
    if (nt > 0) {
        info = calloc(nt, sizeof(*info));
        if (info == NULL)
            LOCKED(w, evprof__tw_fail(w, -ENOMEM));
        for (i = 0; i < nt; i++)
            if (evprof_buffer_thread(b, i, &info[i]) != 0)
                break;
        nt = i;
    }
    evprof_trace_write_threads(w, info, nt);
    free(info);
    rc = evprof_trace_writer_add_lost(w, evprof_buffer_lost(b));
    return rc != 0 ? rc : total;
}

int evprof_trace_writer_close(evprof_trace_writer *w)
{
    int code;

    if (w == NULL)
        return -EINVAL;
    /* A stream still writing: closing would free the file under it. */
    pthread_mutex_lock(&w->lock);
    code = w->attached;
    pthread_mutex_unlock(&w->lock);
    if (code)
        return -EBUSY;
    if (evprof__tw_reserve(w, 24) == 0) {
        put_u64(w->buf, w->events);
        put_u64(w->buf + 8, w->sections);
        put_u64(w->buf + 16, w->lost);
        evprof__tw_emit(w, SEC_END, SEC_FLAG_REQUIRED, 24);
    }
    errno = 0;
    if (fflush(w->f) != 0)
        evprof__tw_fail(w, errno ? -errno : -EIO);
    if (fclose(w->f) != 0)
        evprof__tw_fail(w, errno ? -errno : -EIO);
    code = w->error;
    pthread_mutex_destroy(&w->lock);
    free(w->buf);
    free(w);
    return code;
}
