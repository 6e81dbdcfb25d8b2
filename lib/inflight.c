/*
 * inflight.c: the slots of the calls in flight and the wait for them
 * (inflight-private.h says why it is correct).
 *
 * Slots live in a static table, never freed, so that a quiescer may read
 * any of them at any time; a thread takes one at its first call in flight
 * and gives it back at exit (a pthread key's destructor).  Nothing here
 * allocates: a hook of the library may be running on the thread, inside
 * malloc.
 */
#define _GNU_SOURCE 1
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef __linux__
# include <linux/membarrier.h>
# include <sys/syscall.h>
#endif

#include "inflight-private.h"

int evprof__inflight_light;

/* Threads beyond this many alive at once share the shared slot. */
#define SLOTS 256

static struct evprof__inflight slots[SLOTS] __attribute__((aligned(64)));
static struct evprof__inflight shared_slot __attribute__((aligned(64))) = {
    .shared = 1
};
/* Slots ever handed out: a quiescer scans slots[0, hwm). */
static unsigned hwm;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static int key_ok;

#if defined(__linux__) && defined(__NR_membarrier)
static int membarrier(int cmd)
{
    return (int)syscall(__NR_membarrier, cmd, 0);
}

/* Whether the private expedited command is there and registered. */
static int membarrier_register(void)
{
    int cmds = membarrier(MEMBARRIER_CMD_QUERY);

    return cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED)
        && (cmds & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)
        && membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

/* A full barrier on every running thread of the process; 0 when it ran. */
static int membarrier_run(void)
{
    return membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
}
#else
static int membarrier_register(void)
{
    return 0;
}

static int membarrier_run(void)
{
    return -1;
}
#endif

/* The fallback of membarrier: a page written once, then made read-only
 * and writable again (never written after, so that two quiescers may do
 * it at once). */
EVPROF_NOINSTR static void shootdown(void)
{
    static char *page;
    long size = sysconf(_SC_PAGESIZE);
    char *p = __atomic_load_n(&page, __ATOMIC_ACQUIRE), *none = NULL;

    if (size <= 0)
        size = 4096;
    if (p == NULL) {
        p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return;
        *p = 1; /* present, so that its protection changes flush TLBs */
        if (!__atomic_compare_exchange_n(&page, &none, p, 0,
                                         __ATOMIC_ACQ_REL,
                                         __ATOMIC_ACQUIRE)) {
            (void)munmap(p, (size_t)size);
            p = none;
        }
    }
    (void)mprotect(p, (size_t)size, PROT_READ);
    (void)mprotect(p, (size_t)size, PROT_READ | PROT_WRITE);
}

/* At thread exit: the slot goes back; what the thread logs later (other
 * destructors freeing memory) goes through the shared slot. */
EVPROF_NOINSTR static void release(void *p)
{
    struct evprof__inflight *s = p;

    evprof__inflight_self = NULL;
    evprof__inflight_shared = 1;
    __atomic_store_n(&s->used, 0, __ATOMIC_RELEASE);
}

/* A forked child has one thread, which is in no call: the slots of the
 * others are free again, and the child registers for membarrier on its
 * own (alone, it may also switch the writers to fences). */
EVPROF_NOINSTR static void child_after_fork(void)
{
    struct evprof__inflight *mine = evprof__inflight_self;
    unsigned i, n = __atomic_load_n(&hwm, __ATOMIC_ACQUIRE);

    for (i = 0; i < n; i++) {
        if (&slots[i] == mine)
            continue;
        __atomic_store_n(&slots[i].calls, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&slots[i].used, 0, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&shared_slot.calls, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&evprof__inflight_light, membarrier_register(),
                     __ATOMIC_RELAXED);
}

EVPROF_NOINSTR static void init(void)
{
    key_ok = pthread_key_create(&key, release) == 0;
    (void)pthread_atfork(NULL, NULL, child_after_fork);
    __atomic_store_n(&evprof__inflight_light, membarrier_register(),
                     __ATOMIC_RELAXED);
}

/* A free slot taken for the calling thread, or NULL. */
EVPROF_NOINSTR static struct evprof__inflight *take_slot(void)
{
    unsigned i, n;

    for (;;) {
        n = __atomic_load_n(&hwm, __ATOMIC_ACQUIRE);
        for (i = 0; i < n; i++) {
            int free_ = 0;

            if (__atomic_compare_exchange_n(&slots[i].used, &free_, 1, 0,
                                            __ATOMIC_ACQ_REL,
                                            __ATOMIC_RELAXED))
                return &slots[i];
        }
        if (n == SLOTS)
            return NULL;
        /* A new slot is claimed before hwm shows it: a quiescer that sees
         * it sees it used (its count is 0 until the owner marks it). */
        {
            int free_ = 0;

            if (__atomic_compare_exchange_n(&slots[n].used, &free_, 1, 0,
                                            __ATOMIC_ACQ_REL,
                                            __ATOMIC_RELAXED)) {
                unsigned want = n;

                while (!__atomic_compare_exchange_n(&hwm, &want, n + 1, 0,
                                                    __ATOMIC_RELEASE,
                                                    __ATOMIC_RELAXED)
                       && want < n + 1)
                    want = n;
                return &slots[n];
            }
        }
    }
}

void evprof__inflight_prepare(void)
{
    pthread_once(&once, init);
}

struct evprof__inflight *evprof__inflight_enter_slow(int may_register)
{
    struct evprof__inflight *s;

    if (!evprof__inflight_shared && may_register) {
        pthread_once(&once, init);
        s = key_ok ? take_slot() : NULL;
        if (s != NULL && pthread_setspecific(key, s) != 0) {
            __atomic_store_n(&s->used, 0, __ATOMIC_RELEASE);
            s = NULL;
        }
        evprof__inflight_self = s;
        evprof__inflight_shared = s == NULL;
        if (s != NULL)
            return evprof__inflight_enter(0);
    }
    s = &shared_slot;
    __atomic_add_fetch(&s->calls, 1, __ATOMIC_SEQ_CST);
    return s;
}

int evprof__inflight_quiesce(void)
{
    struct evprof__inflight *mine = evprof__inflight_self;
    unsigned i, n;

    if (mine != NULL && !mine->shared
        && __atomic_load_n(&mine->calls, __ATOMIC_RELAXED) != 0)
        return -EDEADLK;
    /* Pairs with the writers' compiler barrier; without membarrier they
     * fence, and this fence pairs with theirs. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&evprof__inflight_light, __ATOMIC_RELAXED)
        && membarrier_run() != 0) {
        /* Registered, so it does not fail; if a kernel ever did, the
         * writers fence from now on, and the changes of a page's
         * protection (a TLB shootdown interrupts every CPU that runs a
         * thread of the process) order the marks of those that did
         * not. */
        __atomic_store_n(&evprof__inflight_light, 0, __ATOMIC_SEQ_CST);
        shootdown();
    }
    n = __atomic_load_n(&hwm, __ATOMIC_ACQUIRE);
    for (i = 0; i < n; i++) {
        if (&slots[i] == mine)
            continue;
        while (__atomic_load_n(&slots[i].calls, __ATOMIC_ACQUIRE) != 0)
            sched_yield();
    }
    while (__atomic_load_n(&shared_slot.calls, __ATOMIC_ACQUIRE) != 0)
        sched_yield();
    return 0;
}
