/*
 * instrument_signal.c: a program ended by SIGTERM or SIGINT still writes
 * its trace (evprof_instrument_start(3), SIGNALS).
 *
 * When recording starts, our handler goes in front of the program's for
 * each signal whose action is not "ignore" (a program started in the
 * background by a shell ignores SIGINT, and must keep doing so).  It stops
 * recording (one atomic exchange: every thread stops logging at once),
 * writes the trace, puts the earlier action back and raises the signal
 * again: the program then dies of it, as it would have (its exit status
 * says so), or its own handler runs.  A handler the program installs after
 * recording started replaces ours: the signal is then the program's.
 *
 * Writing a trace from a signal handler is not async-signal-safe: it
 * allocates memory, uses stdio and reads the symbols of the program.  If
 * the signal interrupted this thread inside malloc, stdio or the
 * instrument library itself, writing may deadlock or fail; the trace at
 * the path is then the earlier one, never a part (instrument_file.c).
 * What is done to make it likely to work: the handler waits at most a
 * second for a stop under way on another thread, no signal of ours nests
 * in it, and it reports a failure with write(2).  A program that needs
 * certainty blocks these signals, waits for them with sigwait(3) in a
 * thread and calls evprof_instrument_stop() there.
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "instrument-private.h"

static const int handled[] = { SIGTERM, SIGINT };
#define NHANDLED (sizeof(handled) / sizeof(handled[0]))

/* The action each signal had before ours. */
static struct sigaction previous[NHANDLED];

EVPROF_NOINSTR static void on_signal(int sig, siginfo_t *info, void *ctx)
{
    int saved = errno;
    size_t i;

    (void)info;
    (void)ctx;
    evprof__instrument_stop_from_signal();
    for (i = 0; i < NHANDLED; i++)
        if (handled[i] == sig) {
            sigaction(sig, &previous[i], NULL);
            /* Blocked until we return: then delivered to the action put
             * back, as if we had never been there. */
            raise(sig);
        }
    errno = saved;
}

/* A copy in a shared object must not leave its handler to a signal once
 * unloaded (dlclose runs this): the program's actions go back. */
__attribute__((destructor)) void evprof__signals_remove(void)
{
    struct sigaction cur;
    size_t i;

    for (i = 0; i < NHANDLED; i++)
        if (sigaction(handled[i], NULL, &cur) == 0
            && (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_signal)
            sigaction(handled[i], &previous[i], NULL);
}

void evprof__signals_install(void)
{
    struct sigaction ours, cur;
    size_t i;

    memset(&ours, 0, sizeof(ours));
    ours.sa_sigaction = on_signal;
    sigemptyset(&ours.sa_mask);
    for (i = 0; i < NHANDLED; i++)
        sigaddset(&ours.sa_mask, handled[i]);
    for (i = 0; i < NHANDLED; i++) {
        if (sigaction(handled[i], NULL, &cur) != 0)
            continue;
        if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_signal)
            continue; /* still ours, from an earlier recording */
        if (!(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_IGN)
            continue;
        previous[i] = cur;
        /* A system call the signal interrupts restarts, or not, as the
         * program asked. */
        ours.sa_flags = SA_SIGINFO
            | (cur.sa_flags & (SA_RESTART | SA_ONSTACK));
        sigaction(handled[i], &ours, NULL);
    }
}
