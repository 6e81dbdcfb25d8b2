/*
 * evprof/native.h: native allocations, seen by libevprof-malloc.so.
 *
 * libevprof-malloc.so, loaded with LD_PRELOAD, stands in front of the C
 * library's malloc, calloc, realloc, free, posix_memalign, aligned_alloc,
 * memalign, valloc, pvalloc, and of mmap / munmap of anonymous memory,
 * for every shared object of the process.  It logs each call once (domain
 * EVPROF_DOMAIN_NATIVE or EVPROF_DOMAIN_MMAP in id_arg) into one of:
 *   - a sink attached with evprof_native_attach (a profiler in the same
 *     process: the Python package attaches its buffer, so that native
 *     allocations are attributed to the running Python function);
 *   - else, the recording of the evprof-instrument runtime it contains,
 *     started by EVPROF_OUTPUT=trace.evt (see evprof_instrument_start(3)):
 *     a C program gets an allocation timeline without recompiling, and
 *     its calls too when it was built with -finstrument-functions.
 * A call made while a hook of this library runs on the thread (a PyMem
 * hook calling malloc, the buffer's own chunks) is not logged: nothing is
 * counted twice.  See libevprof-malloc(3).
 */
#ifndef EVPROF_NATIVE_H
#define EVPROF_NATIVE_H 1

#include <stdint.h>

#include <evprof.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where native allocation events go.  `log` is called on the allocating
 * thread, outside any lock of this library, with the event code
 * (EVPROF_MALLOC, ...), the domain, the block and its size (for a free:
 * 0, or minus the length of an unmapped range); it must not call the
 * malloc family itself without setting evprof_hook_active's flag. */
typedef struct evprof_native_sink {
    void (*log)(void *ctx, int64_t event, int64_t domain, int64_t ptr,
                int64_t size);
    void *ctx;
} evprof_native_sink;

/*
 * Sends native allocation events to *sink from now on (NULL: back to the
 * evprof-instrument recording, if any).  The sink is copied.  Returns 0,
 * or -EBUSY when another sink is attached (detach it first).  Exported by
 * libevprof-malloc.so only: find it with dlsym(RTLD_DEFAULT,
 * "evprof_native_attach"), which fails when the library is not preloaded.
 * After a detach, a call already inside the old sink may still be
 * running: evprof_native_quiesce waits for it.
 */
int evprof_native_attach(const evprof_native_sink *sink);

/* Waits until no thread is inside a sink that was detached.  0. */
int evprof_native_quiesce(void);

/* ---- a buffer as the sink --------------------------------------------- */

/*
 * The thread-local state of the copy of libevprof that owns a buffer sink,
 * for the calling thread (filled by the sink's `thread`; internal).
 */
typedef struct evprof_native_thread {
    struct evprof__tcache *tcache; /* its evprof_log cache */
    const int *in_hook;            /* its evprof_hook_active flag */
    const int64_t *context;        /* its evprof_context_get value */
} evprof_native_thread;

#define EVPROF_NATIVE_BUFFER_ABI 1

/*
 * A sink that is a buffer of the caller: libevprof-malloc.so writes each
 * event into it itself, as evprof_log would from the caller's copy of the
 * library (the caller's chunk, clock and context), and calls `slow` where
 * evprof_log would take its slow path (the thread's first event, a full
 * chunk).  Nothing is logged while the caller's evprof_hook_active flag is
 * set on the thread (a hook of the caller already logs that allocation in
 * its own domain), nor while *active is 0.  Fill it with
 * evprof_native_buffer_sink_init, which takes the caller's state.
 */
typedef struct evprof_native_buffer_sink {
    unsigned abi;                  /* EVPROF_NATIVE_BUFFER_ABI */
    evprof_buffer *buf;
    const int *active;             /* NULL: always logging */
    void (*thread)(evprof_native_thread *out);
    const struct evprof__clock_state *clock;
    evprof_native_sink slow;
} evprof_native_buffer_sink;

/*
 * As evprof_native_attach, for a buffer sink (the struct is copied; buf,
 * *active and the caller's thread-local state must outlive the attachment
 * and its quiesce).  0, or -EINVAL (NULL buf, thread, clock or slow.log;
 * an abi this library does not know), -EBUSY.  Exported by
 * libevprof-malloc.so only, as evprof_native_attach.
 */
int evprof_native_attach_buffer(const evprof_native_buffer_sink *sink);

/* The sink's `thread`: this copy's state for the calling thread (takes
 * addresses of initial-exec thread-locals: no call, no allocation). */
EVPROF_NOINSTR static inline void
evprof__native_thread(evprof_native_thread *out)
{
    out->tcache = &evprof__tls.tcache;
    out->in_hook = &evprof__in_hook;
    out->context = &evprof__context;
}

/* The sink's slow path: ctx is the buffer; the interposer has looked at
 * the hook flag and at *active already. */
EVPROF_NOINSTR static inline void
evprof__native_slow(void *ctx, int64_t event, int64_t domain, int64_t ptr,
                    int64_t size)
{
    (void)evprof_log((evprof_buffer *)ctx, evprof__context, domain, event,
                     ptr, size);
}

/* Fills *s to log into b (of the calling copy of libevprof) while *active
 * (NULL: always). */
EVPROF_NOINSTR static inline void
evprof_native_buffer_sink_init(evprof_native_buffer_sink *s,
                               evprof_buffer *b, const int *active)
{
    (void)evprof_clock_init();
    s->abi = EVPROF_NATIVE_BUFFER_ABI;
    s->buf = b;
    s->active = active;
    s->thread = evprof__native_thread;
    s->clock = &evprof__clock;
    s->slow.log = evprof__native_slow;
    s->slow.ctx = b;
}

/* Allocations of anonymous memory with mmap at least this long are
 * logged (shorter ones are left to the allocator that made them). */
#define EVPROF_NATIVE_MMAP_MIN ((size_t)1 << 16)

#ifdef __cplusplus
}
#endif

#endif /* EVPROF_NATIVE_H */
