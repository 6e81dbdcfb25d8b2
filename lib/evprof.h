/*
 * evprof.h: public interface of libevprof, an event-timeline profiler.
 *
 * One record per event (evprof_event, 48 bytes), a monotonic nanosecond
 * clock, and a buffer that several threads may log into at once.  The hot
 * paths (evprof_clock_ns, evprof_log) are static inline; the rest lives in
 * libevprof.a.  Build with `pkg-config --cflags --libs evprof`.
 *
 * Functions return 0 (or a count) on success and a negative errno-style code
 * on failure; evprof_strerror() describes it.  Nothing here prints, exits or
 * aborts.
 */
#ifndef EVPROF_H
#define EVPROF_H 1

#include <stddef.h>
#include <stdint.h>

#define EVPROF_VERSION_MAJOR 0
#define EVPROF_VERSION_MINOR 1
#define EVPROF_VERSION_PATCH 0
#define EVPROF_VERSION_STRING "0.1.0"

#if defined(__GNUC__) || defined(__clang__)
# define EVPROF_WARN_UNUSED __attribute__((warn_unused_result))
# define EVPROF_NOINSTR __attribute__((no_instrument_function))
/* The hot paths are inlined even where the compiler would rather not
 * (several call sites, -O0): a call would cost as much as the work. */
# define EVPROF_INLINE static inline __attribute__((always_inline))
/* Thread-local data the inline fast paths read: initial-exec, so that a
 * read is one %fs-relative load, also from a shared object. */
# ifdef __cplusplus
#  define EVPROF_TLS_EXTERN(type, name) \
    extern thread_local type name __attribute__((tls_model("initial-exec")))
# else
#  define EVPROF_TLS_EXTERN(type, name) \
    extern _Thread_local type name __attribute__((tls_model("initial-exec")))
# endif
# define EVPROF_LIKELY(x) __builtin_expect(!!(x), 1)
# define EVPROF_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
# error "libevprof needs GCC or Clang (atomic builtins, thread-local storage)"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The record: six int64 columns, in this order, 48 bytes, nothing else. */
typedef struct evprof_event {
    int64_t id_frame;
    int64_t id_arg;
    int64_t event;
    int64_t time;
    int64_t value1;
    int64_t value2;
} evprof_event;

#define EVPROF_N_COLUMNS 6

/* Event codes (the values are part of the file format). */
enum {
    EVPROF_CALL = 1,
    EVPROF_RETURN = 2,
    EVPROF_C_CALL = 3,
    EVPROF_C_RETURN = 4,
    EVPROF_EXCEPTION = 5,
    EVPROF_C_EXCEPTION = 6,
    EVPROF_PROFILER_CALL = 10,
    EVPROF_PROFILER_RETURN = 11,
    EVPROF_PROFILER_START = 100,
    EVPROF_PROFILER_SORT = 101,
    EVPROF_MALLOC = 1000,
    EVPROF_CALLOC = 1001,
    EVPROF_REALLOC = 1002,
    EVPROF_FREE = 1003,
    EVPROF_REALLOC_FREE = 1004
};

/* "call", "c_return", ...; NULL when the code is unknown. */
const char *evprof_event_name(int64_t code);
/* The code of a name; negative (-EINVAL) when the name is unknown or NULL. */
int64_t evprof_event_code(const char *name);

/* Buffer policies. */
enum {
    EVPROF_GROW = 0, /* chunks of `capacity` events added as needed: lossless */
    EVPROF_RING = 1, /* keep the newest `capacity` events of each thread */
    EVPROF_DROP = 2  /* keep the oldest `capacity` events of each thread */
};

/* Error codes are negative errno values; these are the ones used here. */
const char *evprof_strerror(int code);

/* Library version, "0.1.0". */
const char *evprof_version(void);

#ifdef __cplusplus
}
#endif

#include <evprof/clock.h>
#include <evprof/buffer.h>
#include <evprof/hook.h>
#include <evprof/domain.h>
#include <evprof/trace.h>
#include <evprof/sink.h>
#include <evprof/stream.h>

#endif /* EVPROF_H */
