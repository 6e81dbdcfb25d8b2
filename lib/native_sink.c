/*
 * native_sink.c: where libevprof-malloc.so's events go (an attached sink
 * or the evprof-instrument recording), and the anonymous mappings it
 * logged, so that only their unmapping is logged.
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>

#include "evprof.h"
#include "evprof/native.h"
#include "inflight-private.h"
#include "instrument-private.h"
#include "native-private.h"

#define API __attribute__((visibility("default"))) EVPROF_NOINSTR

/* The sink in use: two slots, so that attaching never writes the one a
 * thread may be reading. */
static struct evprof__native_slot slots[2];
struct evprof__native_slot *evprof__native_current;
_Thread_local struct evprof__native_seen evprof__native_seen
    __attribute__((tls_model("initial-exec")));
static unsigned next_slot;
static unsigned next_gen;
static int maps_lock; /* a spin lock: no pthread call from inside mmap */

void evprof__native_log_recording(int64_t event, int64_t domain,
                                  int64_t ptr, int64_t size)
{
    evprof_buffer *b = evprof__instrument_active();

    if (b != NULL)
        (void)evprof_log(b, evprof__context, domain, event, ptr, size);
}

/* Takes a free slot, fills it with `fill` and makes it current. */
EVPROF_NOINSTR static int attach(const struct evprof__native_slot *fill)
{
    struct evprof__native_slot *slot;

    if (__atomic_load_n(&evprof__native_current, __ATOMIC_SEQ_CST) != NULL)
        return -EBUSY;
    /* Wait for the calls still in a sink detached before: its slot may
     * be the one written now. */
    evprof_native_quiesce();
    slot = &slots[next_slot++ & 1];
    *slot = *fill;
    /* A new number, so that each thread asks the new owner for its
     * state; 0 means "none yet". */
    if (++next_gen == 0)
        ++next_gen;
    slot->gen = next_gen;
    if (!__atomic_compare_exchange_n(&evprof__native_current,
                                     &(struct evprof__native_slot *){NULL},
                                     slot, 0, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST))
        return -EBUSY;
    return 0;
}

API int evprof_native_attach(const evprof_native_sink *sink)
{
    struct evprof__native_slot fill = { .buf = NULL };

    if (sink == NULL) {
        __atomic_store_n(&evprof__native_current, NULL, __ATOMIC_SEQ_CST);
        return 0;
    }
    if (sink->log == NULL)
        return -EINVAL;
    fill.sink = *sink;
    return attach(&fill);
}

API int evprof_native_attach_buffer(const evprof_native_buffer_sink *sink)
{
    struct evprof__native_slot fill = { .buf = NULL };

    if (sink == NULL || sink->abi != EVPROF_NATIVE_BUFFER_ABI
        || sink->buf == NULL || sink->thread == NULL || sink->clock == NULL
        || sink->slow.log == NULL)
        return -EINVAL;
    fill.sink = sink->slow;
    fill.buf = sink->buf;
    fill.active = sink->active;
    fill.thread = sink->thread;
    /* Written once by its evprof_clock_init, before its buffer existed. */
    fill.clock = *sink->clock;
    return attach(&fill);
}

/* A forked child has one thread: none holds the table (nor is inside a
 * sink: inflight.c forgets the others' calls). */
EVPROF_NOINSTR static void child_after_fork(void)
{
    __atomic_store_n(&maps_lock, 0, __ATOMIC_RELAXED);
}

API int evprof_native_quiesce(void)
{
    int rc = evprof__inflight_quiesce();

    return rc == -EDEADLK ? 0 : rc;
}

/* ---- mappings ------------------------------------------------------------ */

/* Few programs keep more than a few hundred large anonymous mappings; a
 * mapping past the table's room is neither logged nor its unmapping. */
#define MAPS 4096

static struct map {
    uintptr_t addr;
    size_t len;
} maps[MAPS];
static size_t nmaps;

EVPROF_NOINSTR static void lock_maps(void)
{
    while (__atomic_exchange_n(&maps_lock, 1, __ATOMIC_ACQUIRE))
        sched_yield();
}

EVPROF_NOINSTR static void unlock_maps(void)
{
    __atomic_store_n(&maps_lock, 0, __ATOMIC_RELEASE);
}

int evprof__native_map_add(void *addr, size_t len)
{
    int rc = -ENOSPC;

    lock_maps();
    if (nmaps < MAPS) {
        maps[nmaps].addr = (uintptr_t)addr;
        maps[nmaps].len = len;
        nmaps++;
        rc = 0;
    }
    unlock_maps();
    return rc;
}

size_t evprof__native_map_remove(void *addr, size_t len)
{
    uintptr_t lo = (uintptr_t)addr, hi = lo + len;
    size_t i, gone = 0;

    lock_maps();
    for (i = 0; i < nmaps; i++) {
        struct map *m = &maps[i];
        uintptr_t end = m->addr + m->len;

        if (end <= lo || m->addr >= hi)
            continue;
        gone += (hi < end ? hi : end) - (lo > m->addr ? lo : m->addr);
        if (m->addr >= lo && end <= hi) {
            /* Wholly unmapped: forgotten. */
            maps[i--] = maps[--nmaps];
        } else if (m->addr >= lo) {
            /* Its head unmapped: the tail stays. */
            m->len = end - hi;
            m->addr = hi;
        } else if (end <= hi) {
            m->len = lo - m->addr;
        } else if (nmaps < MAPS) {
            /* A hole in the middle: two mappings. */
            maps[nmaps].addr = hi;
            maps[nmaps].len = end - hi;
            nmaps++;
            m->len = lo - m->addr;
        } else {
            m->len = lo - m->addr;
        }
    }
    unlock_maps();
    return gone;
}

__attribute__((constructor)) EVPROF_NOINSTR static void at_load(void)
{
    (void)pthread_atfork(NULL, NULL, child_after_fork);
}
