/*
 * evprof_alloc_hook_quiesce: threads allocating through a hook while the
 * main thread turns logging on and off and frees the buffer each time.
 * Without the wait, a thread that found the hook on logs into a freed
 * buffer (AddressSanitizer and valgrind see it under `make
 * check-sanitize` / `make check-valgrind`).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>
#ifdef __linux__
# include <linux/membarrier.h>
# include <sys/syscall.h>
#endif

#include <evprof.h>

#include "tap.h"

static evprof_allocator wrapped;
static int done;
static evprof_alloc_hook *self_hook;
static int self_rc = 1;

static void *c_malloc(void *ctx, size_t n)
{
    (void)ctx;
    return malloc(n);
}

static void *c_calloc(void *ctx, size_t a, size_t b)
{
    (void)ctx;
    return calloc(a, b);
}

static void *c_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    return realloc(p, n);
}

static void c_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

/* An inner malloc that asks its own hook to quiesce: it would wait for
 * itself. */
static void *q_malloc(void *ctx, size_t n)
{
    (void)ctx;
    self_rc = evprof_alloc_hook_quiesce(self_hook);
    return malloc(n);
}

static void *allocator(void *arg)
{
    unsigned long n = 0;

    (void)arg;
    while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
        void *p = wrapped.malloc(wrapped.ctx, 32 + n % 64);

        p = wrapped.realloc(wrapped.ctx, p, 200);
        wrapped.free(wrapped.ctx, p);
        wrapped.free(wrapped.ctx, wrapped.calloc(wrapped.ctx, 4, 8));
        n++;
    }
    return NULL;
}

/* The library's own (lib/inflight-private.h): whether membarrier orders
 * the hooks' writers. */
extern int evprof__inflight_light;

/* Whether this kernel has the private expedited membarrier. */
static int membarrier_here(void)
{
#if defined(__linux__) && defined(__NR_membarrier)
    long cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0);

    return cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED)
        && (cmds & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED);
#else
    return 0;
#endif
}

int main(void)
{
    evprof_allocator libc = { NULL, c_malloc, c_calloc, c_realloc, c_free };
    evprof_allocator selfish = { NULL, q_malloc, c_calloc, c_realloc, c_free };
    evprof_allocator w2;
    evprof_buffer *b = evprof_buffer_new(64, EVPROF_GROW);
    evprof_alloc_hook *h;
    pthread_t th[3];
    int i, k, cycles = getenv("EVPROF_TEST_FORKS") ? 200 : 3000, bad = 0;
    size_t logged = 0;

    plan(10);
    if (b == NULL)
        bail("buffer");
    is_int(0, evprof__inflight_light, "no membarrier before a hook is made");
    h = evprof_alloc_hook_new(&libc, b, 0);
    if (h == NULL || evprof_alloc_hook_allocator(h, &wrapped) != 0)
        bail("hook");
    /* Registered when the hook is made, not on its first call (which
     * would wait for every CPU, on the timeline). */
    is_int(membarrier_here(), evprof__inflight_light,
           "membarrier registered when the hook is made");
    is_int(-EINVAL, evprof_alloc_hook_quiesce(NULL), "quiesce NULL");
    (void)evprof_alloc_hook_enable(h, 1);
    is_int(-EBUSY, evprof_alloc_hook_quiesce(h), "quiesce while on: -EBUSY");
    (void)evprof_alloc_hook_enable(h, 0);
    is_int(0, evprof_alloc_hook_quiesce(h), "quiesce when off and idle");

    for (i = 0; i < 3; i++)
        if (pthread_create(&th[i], NULL, allocator, NULL) != 0)
            bail("pthread_create");
    for (i = 0; i < cycles; i++) {
        evprof_buffer *nb = evprof_buffer_new(64, EVPROF_GROW);

        if (nb == NULL)
            bail("buffer %d", i);
        if (evprof_alloc_hook_set_buffer(h, nb) != 0)
            bad++;
        (void)evprof_alloc_hook_enable(h, 1);
        sched_yield();
        /* Until a thread has logged once, the hook stays on a little
         * longer: a loaded machine may not run the threads in a yield. */
        for (k = 0; logged == 0 && evprof_buffer_count(nb) == 0
                    && k < 200000; k++)
            sched_yield();
        (void)evprof_alloc_hook_enable(h, 0);
        if (evprof_alloc_hook_quiesce(h) != 0)
            bad++;
        logged += evprof_buffer_count(nb);
        /* Freed while the threads go on allocating through the hook. */
        evprof_buffer_free(nb);
        if (i % 2 == 0 && evprof_alloc_hook_set_buffer(h, b) != 0)
            bad++;
    }
    __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    for (i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    is_int(0, bad, "%d cycles of on, off, quiesce, free", cycles);
    ok(logged > 0, "events were logged meanwhile (%zu)", logged);
    is_int(0, evprof_buffer_count(b), "nothing reached the spare buffer");
    evprof_alloc_hook_free(h);

    self_hook = evprof_alloc_hook_new(&selfish, b, 0);
    if (self_hook == NULL || evprof_alloc_hook_allocator(self_hook, &w2) != 0)
        bail("hook 2");
    (void)evprof_alloc_hook_enable(self_hook, 1);
    w2.free(w2.ctx, w2.malloc(w2.ctx, 8));
    is_int(-EBUSY, self_rc, "quiesce from inside while on: -EBUSY");
    (void)evprof_alloc_hook_enable(self_hook, 0);
    {
        /* Off, but called from inside the inner family through a hook
         * that logs: the guard is set. */
        evprof_alloc_hook *outer = evprof_alloc_hook_new(&selfish, b, 1);
        evprof_allocator w3;

        if (outer == NULL || evprof_alloc_hook_allocator(outer, &w3) != 0)
            bail("hook 3");
        (void)evprof_alloc_hook_enable(outer, 1);
        w3.free(w3.ctx, w3.malloc(w3.ctx, 8));
        is_int(-EDEADLK, self_rc, "quiesce from inside a hook: -EDEADLK");
        (void)evprof_alloc_hook_enable(outer, 0);
        evprof_alloc_hook_free(outer);
    }
    evprof_alloc_hook_free(self_hook);
    evprof_buffer_free(b);
    return 0;
}
