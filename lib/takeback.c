/*
 * takeback.c: the slow case of taking events back (takeback-private.h):
 * the chunk is full, so the next event on the thread, perhaps a signal
 * handler's, would seal it and move the thread to a new chunk; with the
 * thread's signals blocked, none comes between the look and the swap.
 */
#include <config.h>

#include <signal.h>

#include "takeback-private.h"

int evprof__take_back_full(struct evprof__chunk *c, uint64_t h, unsigned n)
{
    sigset_t all, old;
    int done;

    sigfillset(&all);
    if (pthread_sigmask(SIG_BLOCK, &all, &old) != 0)
        return 0;
    done = evprof__tls.tcache.chunk == c
        && __atomic_compare_exchange_n(&c->head, &h, h - n, 0,
                                       __ATOMIC_RELEASE, __ATOMIC_RELAXED);
    (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
    return done;
}
