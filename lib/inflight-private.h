/*
 * inflight-private.h: "a call in flight", shared by every hook of the
 * library that logs into a buffer someone else may free (the allocator
 * hook, the native interposer's sink, the numpy data handler of the
 * Python extension).  Not installed.
 *
 * A hook that found logging on marks its thread in flight, looks at its
 * on/off flag (or sink pointer) a second time, logs, and unmarks.  Whoever
 * turns the flag off then calls evprof__inflight_quiesce(), which returns
 * once no thread that may have seen the flag on is still logging: after
 * it the buffer (or the sink's context) may go.
 *
 * The mark is a counter in a slot of the thread's own, so a call writes
 * no line that another thread writes.  Between the mark and the second
 * look the writer needs a full fence (the store-load order of Dekker's
 * algorithm); where the kernel has membarrier(2) the fence is moved to
 * the quiescing side: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) runs a
 * full barrier on every CPU that runs a thread of the process, so a
 * compiler barrier is enough on the writer's side.  The argument: let B
 * be the barrier membarrier forces on the writer's thread, after the
 * quiescer's store of "off".  If B comes before the writer's mark, the
 * writer's second look comes after B and sees "off".  Otherwise the mark
 * precedes B in the writer's order, B precedes membarrier's return, and
 * the quiescer's scan, after that return, sees the mark (or its removal,
 * once the call is done).  A thread that was not running had its last
 * instructions ordered by the context switch.  Without membarrier (an old
 * kernel, a seccomp filter) the writer issues the fence itself, which
 * still writes nothing shared.
 *
 * Threads without a slot (more live threads than slots, a thread past its
 * slot's release at exit, a caller that must not register) share one slot
 * counted with atomic read-modify-writes, sequentially consistent.
 */
#ifndef EVPROF_INFLIGHT_PRIVATE_H
#define EVPROF_INFLIGHT_PRIVATE_H 1

#include "evprof.h"

struct evprof__inflight {
    unsigned long calls; /* in flight now: written by the owner alone,
                            or atomically in the shared slot (atomic) */
    int shared;          /* the slot of threads without one */
    int used;            /* held by a live thread (atomic) */
    char pad[64 - sizeof(unsigned long) - 2 * sizeof(int)];
};

/* The calling thread's own slot; NULL until its first call in flight,
 * and for a thread without one, which evprof__inflight_shared marks (it
 * takes the slow path, the shared slot).  In the thread's block
 * (evprof/buffer.h): the fast path reads one word of it. */
#define evprof__inflight_self (evprof__tls.inflight)
#define evprof__inflight_shared (evprof__tls.inflight_shared)
/* 1 when membarrier orders the writers: their fence is a compiler barrier
 * (set once, before the first slot is handed out). */
extern int evprof__inflight_light;

/*
 * The process's setup, done once: registering for membarrier waits for
 * every CPU to pass a quiescent state (milliseconds on a loaded virtual
 * machine), so it is done where a hook is made, never on the first call
 * of a hook, which would pay it on the timeline.
 */
void evprof__inflight_prepare(void) EVPROF_NOINSTR;

/* A slot for the calling thread (registered on first use, or the shared
 * one); `may_register` 0 when the caller must not make pthread calls
 * (inside mmap). */
struct evprof__inflight *evprof__inflight_enter_slow(int may_register)
    EVPROF_NOINSTR;

/*
 * Marks the calling thread in flight; the caller then looks at its flag
 * again and, whatever it found, ends with evprof__inflight_leave(slot).
 * Calls nest (a signal handler logging inside a call).  No pthread call
 * and no allocation once the thread has its slot; the first call of a
 * thread registers it (pthread_setspecific), unless `may_register` is 0.
 */
EVPROF_NOINSTR EVPROF_INLINE struct evprof__inflight *
evprof__inflight_enter(int may_register)
{
    struct evprof__inflight *s = evprof__inflight_self;

    if (EVPROF_UNLIKELY(s == NULL))
        return evprof__inflight_enter_slow(may_register);
    __atomic_store_n(&s->calls,
                     __atomic_load_n(&s->calls, __ATOMIC_RELAXED) + 1,
                     __ATOMIC_RELAXED);
    if (EVPROF_LIKELY(__atomic_load_n(&evprof__inflight_light,
                                      __ATOMIC_RELAXED)))
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
    else
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return s;
}

/* Ends what evprof__inflight_enter began: everything the call wrote into
 * the buffer is ordered before the quiescer's return (release). */
EVPROF_NOINSTR EVPROF_INLINE void
evprof__inflight_leave(struct evprof__inflight *s)
{
    if (EVPROF_UNLIKELY(s->shared))
        __atomic_sub_fetch(&s->calls, 1, __ATOMIC_RELEASE);
    else
        __atomic_store_n(&s->calls,
                         __atomic_load_n(&s->calls, __ATOMIC_RELAXED) - 1,
                         __ATOMIC_RELEASE);
}

/*
 * Called once the flags of the calls to wait for are off (a sequentially
 * consistent store): returns when no thread marked in flight before that
 * store still is.  It waits for every call in flight of this copy of the
 * library, whatever the hook or buffer: each ends soon.  0, or -EDEADLK
 * when the calling thread is itself in flight (it would wait for itself).
 */
int evprof__inflight_quiesce(void) EVPROF_NOINSTR;

#endif /* EVPROF_INFLIGHT_PRIVATE_H */
