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

#include "trace-private.h"

struct evprof_trace_writer {
    /* Around every public function: a stream's thread writes EVENTS
     * sections while other threads write names, threads or META. */
    pthread_mutex_t lock;
    int attached;         /* a stream writes here: flush every section */
    FILE *f;
    int error;            /* the first error, sticky */
    unsigned char *buf;   /* section payload being built */
    size_t cap;
    uint64_t events, sections, lost;
};

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
        return fail(w, errno ? -errno : -EIO);
    if (type != SEC_END)
        w->sections++;
    return 0;
}

static int emit(evprof_trace_writer *w, uint32_t type, uint32_t flags,
                size_t len)
{
    return emit_from(w, type, flags, w->buf, len);
}

#define LOCKED(w, call)                         \
    do {                                        \
        int rc_;                                \
        if ((w) == NULL)                        \
            return -EINVAL;                     \
        pthread_mutex_lock(&(w)->lock);         \
        rc_ = (call);                           \
        pthread_mutex_unlock(&(w)->lock);       \
        return rc_;                             \
    } while (0)

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
        return fail(w, errno ? -errno : -EIO);
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

static int write_meta(evprof_trace_writer *w, const char *key,
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

/* Events as EVENTS_PACKED sections (lib/trace_encode.c): records
 * (`rec` NULL) or 48-byte little-endian ones of one thread. */
static int write_packed(evprof_trace_writer *w, const evprof_event *ev,
                        const uint32_t *thread, const unsigned char *rec,
                        uint32_t one_thread, size_t n)
{
    size_t len;

    if (reserve(w, TRACE_PACKED_BOUND(n)))
        return w->error;
    len = evprof__trace_pack(w->buf, ev, thread, rec, one_thread, n);
    if (emit(w, SEC_EVENTS_PACKED, SEC_FLAG_REQUIRED, len))
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
        return fail(w, -EINVAL);
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

static int write_names(evprof_trace_writer *w,
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

static int write_lines(evprof_trace_writer *w,
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

static int add_lost(evprof_trace_writer *w, uint64_t lost)
{
    if (w == NULL)
        return -EINVAL;
    w->lost += lost;
    return w->error;
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

int evprof_trace_write_events(evprof_trace_writer *w, const evprof_event *ev,
                              const uint32_t *thread, size_t n)
{
    LOCKED(w, write_events(w, ev, thread, n));
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
        LOCKED(w, fail(w, -EINVAL));
    if ((rc = evprof__trace_writer_error(w)) != 0)
        return rc;
    ev = malloc(CHUNK * sizeof(*ev));
    thr = malloc(CHUNK * sizeof(*thr));
    if (ev == NULL || thr == NULL) {
        free(ev);
        free(thr);
        LOCKED(w, fail(w, -ENOMEM));
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
            LOCKED(w, fail(w, -ENOMEM));
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
    pthread_mutex_destroy(&w->lock);
    free(w->buf);
    free(w);
    return code;
}
