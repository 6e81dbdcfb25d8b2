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

/* Allocations of anonymous memory with mmap at least this long are
 * logged (shorter ones are left to the allocator that made them). */
#define EVPROF_NATIVE_MMAP_MIN ((size_t)1 << 16)

#ifdef __cplusplus
}
#endif

#endif /* EVPROF_NATIVE_H */
