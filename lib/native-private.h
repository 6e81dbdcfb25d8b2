/*
 * native-private.h: what the files of libevprof-malloc.so share
 * (native_malloc.c interposes, native_sink.c says where events go and
 * keeps the anonymous mappings it saw), and the logging of one event,
 * inline: no call out of this library when a buffer sink is
 * attached.  Not installed.
 */
#ifndef EVPROF_NATIVE_PRIVATE_H
#define EVPROF_NATIVE_PRIVATE_H 1

#include <stddef.h>
#include <stdint.h>

#include "evprof.h"
#include "evprof/native.h"
#include "inflight-private.h"

#define EVPROF_HIDDEN __attribute__((visibility("hidden")))

/* An attached sink: a function (buf NULL), or a buffer of another copy of
 * the library, written here (evprof_native_buffer_sink). */
struct evprof__native_slot {
    evprof_native_sink sink;     /* the function, or the buffer's slow path */
    evprof_buffer *buf;
    const int *active;
    void (*thread)(evprof_native_thread *out);
    struct evprof__clock_state clock; /* a copy of the owner's */
    unsigned gen;                /* which attachment (never 0) */
};

/* The sink attached, or NULL (atomic). */
extern struct evprof__native_slot *evprof__native_current EVPROF_HIDDEN;

/* What this thread knows of the attached buffer sink's copy: its state
 * for gen (0: none yet). */
struct evprof__native_seen {
    unsigned gen;
    evprof_native_thread at;
};
extern _Thread_local struct evprof__native_seen evprof__native_seen
    __attribute__((tls_model("initial-exec"))) EVPROF_HIDDEN;

/* Logs where no sink is attached: into the evprof-instrument recording,
 * else nowhere. */
void evprof__native_log_recording(int64_t event, int64_t domain, int64_t ptr,
                              int64_t size) EVPROF_NOINSTR EVPROF_HIDDEN;

/* evprof_clock_ns() with the clock state of the copy that owns the
 * buffer, so that its events and these share one time base (two copies
 * calibrate their TSC scales apart).  The same formula as clock.h's. */
EVPROF_NOINSTR EVPROF_INLINE int64_t
evprof__native_clock(const struct evprof__clock_state *c)
{
#if EVPROF_HAVE_TSC
    if (EVPROF_LIKELY(c->source == EVPROF_CLOCK_TSC)) {
        uint64_t d = (uint64_t)__rdtsc() - c->tsc0;
        return c->ns0 + (int64_t)(((evprof__u128)d * c->mult)
                                  >> EVPROF__CLOCK_SHIFT);
    }
#endif
    return evprof__clock_monotonic();
}

/* The buffer sink's event: evprof_log's fast path (buffer.h) on the
 * owner's thread cache, else the owner's slow path. */
EVPROF_NOINSTR EVPROF_INLINE void
evprof__native_log_buffer(const struct evprof__native_slot *s, int64_t event,
                          int64_t domain, int64_t ptr, int64_t size)
{
    const struct evprof__tcache *tc;

    if (EVPROF_UNLIKELY(evprof__native_seen.gen != s->gen)) {
        s->thread(&evprof__native_seen.at);
        evprof__native_seen.gen = s->gen;
    }
    /* A hook of the owner runs on the thread: it logs this allocation in
     * its own domain. */
    if (*evprof__native_seen.at.in_hook
        || (s->active != NULL && !__atomic_load_n(s->active,
                                                  __ATOMIC_RELAXED)))
        return;
    tc = evprof__native_seen.at.tcache;
    if (EVPROF_LIKELY(tc->buf == s->buf
                      && tc->uid == ((const struct evprof__buffer_head *)
                                     (const void *)s->buf)->uid)) {
        struct evprof__chunk *c = tc->chunk;
        uint64_t h = c->head;

        if (EVPROF_LIKELY(h < c->limit)) {
            __atomic_thread_fence(__ATOMIC_RELEASE);
            evprof__store(c->ev + (h - c->base),
                          *evprof__native_seen.at.context, domain, event,
                          evprof__native_clock(&s->clock), ptr, size);
            __atomic_store_n(&c->head, h + 1, __ATOMIC_RELEASE);
            return;
        }
    }
    s->sink.log(s->sink.ctx, event, domain, ptr, size);
}

/* Logs one event where it goes now (an attached sink, else the
 * evprof-instrument recording, else nowhere).  Called with
 * evprof__in_hook set by the caller. */
EVPROF_NOINSTR EVPROF_INLINE void evprof__native_log(int64_t event,
    int64_t domain, int64_t ptr, int64_t size)
{
    const struct evprof__native_slot *s;

    if (EVPROF_LIKELY(__atomic_load_n(&evprof__native_current,
                                      __ATOMIC_RELAXED) != NULL)) {
        /* In flight from before the second look at the sink to the end of
         * its call, so that a detach can wait for it
         * (inflight-private.h); a thread's first call from mmap takes the
         * shared slot rather than registering. */
        struct evprof__inflight *f =
            evprof__inflight_enter(domain != EVPROF_DOMAIN_MMAP);

        s = __atomic_load_n(&evprof__native_current, __ATOMIC_ACQUIRE);
        if (EVPROF_LIKELY(s != NULL && s->buf != NULL))
            evprof__native_log_buffer(s, event, domain, ptr, size);
        else if (s != NULL)
            s->sink.log(s->sink.ctx, event, domain, ptr, size);
        evprof__inflight_leave(f);
        if (EVPROF_LIKELY(s != NULL))
            return;
    }
    evprof__native_log_recording(event, domain, ptr, size);
}

/* Remembers a mapping that was logged: 0, or -ENOSPC when the table is
 * full (the mapping is then not logged, nor its unmapping). */
int evprof__native_map_add(void *addr, size_t len) EVPROF_NOINSTR;

/* Forgets [addr, addr + len) of the mappings remembered; returns how many
 * of those bytes were remembered (0: none of them was logged). */
size_t evprof__native_map_remove(void *addr, size_t len) EVPROF_NOINSTR;

#endif /* EVPROF_NATIVE_PRIVATE_H */
