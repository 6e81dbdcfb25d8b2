/*
 * instrument.c: libevprof-instrument.a, the -finstrument-functions hooks
 * (see evprof/instrument.h and evprof_instrument_start(3)).
 *
 * This file, like the rest of the library, is compiled without
 * -finstrument-functions, and every function is no_instrument_function too,
 * so the profiler never records (or recurses into) itself.  The hooks cost
 * one atomic load when not recording; when recording, evprof_hook_enter's
 * thread-local guard keeps anything they call (a user-defined malloc built
 * with -finstrument-functions, say) from logging or recursing.
 *
 * The buffer of a recording is never freed: at exit() other threads may
 * still be inside a hook.  A stopped buffer is drained and reused by the
 * next recording.
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evprof/instrument.h"
#include "instrument-private.h"

/* 12 MiB chunks: big enough for the buffer to ask for huge pages, which
 * halves the cost of a recorded call (a page fault every 85 events
 * otherwise); untouched pages of a thread that records little cost nothing. */
#define CHUNK_EVENTS 262144

static evprof_buffer *active;   /* the buffer while recording, else NULL */
static evprof_buffer *buffer;   /* kept across recordings */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *pattern;           /* as given: "%p" is expanded per process */
static evprof__output out;      /* where the trace of this process goes */
static int registered;
/* A forked child's copy of the parent's buffer, when `retired` has no room
 * for it: never touched, but kept reachable (for leak checkers). */
static evprof_buffer *volatile abandoned;
/* Events kept per thread (EVPROF_DROP), 0: all of them (EVPROF_GROW). */
static size_t limit;
/* Buffers replaced (after a change of limit, or the parent's in a forked
 * child): a thread may still be about to log into one, or its lock may be
 * held by a thread that is gone, so they are never freed; kept reachable. */
static evprof_buffer **retired;
static size_t nretired;

/* Events the buffer had lost when this recording started. */
static uint64_t lost_before;

/* What instrumented calls of the process reach (instrument_dl.c), found
 * when this copy is loaded; the hooks to pass calls on to, when another
 * definition comes first; the object file holding this copy. */
static evprof__hooks hooks = EVPROF__HOOKS_OURS;
static evprof__hook_fn pass_enter, pass_exit;
static const char *module;
static char scope_note[PATH_MAX + 128]; /* META "scope", if any */

EVPROF_NOINSTR static int retire(evprof_buffer *b)
{
    evprof_buffer **v = realloc(retired, (nretired + 1) * sizeof(*v));

    if (v == NULL)
        return -ENOMEM;
    retired = v;
    retired[nretired++] = b;
    return 0;
}

EVPROF_NOINSTR static evprof_buffer *new_buffer(void)
{
    return limit > 0 ? evprof_buffer_new(limit, EVPROF_DROP)
                     : evprof_buffer_new(CHUNK_EVENTS, EVPROF_GROW);
}

/* Protected: the instrumented code of the module holding this copy calls
 * this copy, not the first definition in the global scope (the C
 * library's empty one, in a program that has none); see instrument_dl.c. */
#define HOOK EVPROF_NOINSTR __attribute__((visibility("protected")))

HOOK void __cyg_profile_func_enter(void *fn, void *site)
{
    evprof_buffer *b = __atomic_load_n(&active, __ATOMIC_ACQUIRE);
    evprof__hook_fn pass;

    if (b != NULL)
        evprof_hook_enter(b, fn, site);
    else if ((pass = __atomic_load_n(&pass_enter, __ATOMIC_RELAXED)))
        pass(fn, site);
}

HOOK void __cyg_profile_func_exit(void *fn, void *site)
{
    evprof_buffer *b = __atomic_load_n(&active, __ATOMIC_ACQUIRE);
    evprof__hook_fn pass;

    if (b != NULL)
        evprof_hook_exit(b, fn, site);
    else if ((pass = __atomic_load_n(&pass_exit, __ATOMIC_RELAXED)))
        pass(fn, site);
}


EVPROF_NOINSTR static void at_exit(void)
{
    int rc;

    if (__atomic_load_n(&active, __ATOMIC_ACQUIRE) == NULL)
        return;
    rc = evprof_instrument_stop();
    if (rc < 0 && rc != -ESRCH)
        fprintf(stderr, "evprof-instrument: cannot write the trace %s: %s\n",
                out.path ? out.path : "(null)", strerror(-rc));
}

EVPROF_NOINSTR static void fork_prepare(void)
{
    /* A fork waits for a trace being written. */
    pthread_mutex_lock(&lock);
}

EVPROF_NOINSTR static void fork_parent(void)
{
    pthread_mutex_unlock(&lock);
}

EVPROF_NOINSTR static void fork_child(void)
{
    evprof__output o;
    char *p;

    pthread_mutex_unlock(&lock);
    if (active == NULL)
        return;
    /* The parent's buffer may have been locked by a thread that does not
     * exist here: it is abandoned, never touched again. */
    __atomic_store_n(&active, NULL, __ATOMIC_RELEASE);
    if (retire(buffer) != 0)
        abandoned = buffer;
    buffer = NULL;
    if (pattern == NULL || strstr(pattern, "%p") == NULL)
        return; /* documented: the child does not record */
    p = evprof__instrument_expand(pattern);
    if (p == NULL || evprof__output_prepare(p, &o) != 0)
        return;
    buffer = new_buffer();
    if (buffer == NULL) {
        evprof__output_free(&o);
        return;
    }
    lost_before = 0;
    evprof__output_free(&out);
    out = o;
    __atomic_store_n(&active, buffer, __ATOMIC_RELEASE);
}

int evprof_instrument_start(const char *p)
{
    evprof__output o = { NULL, NULL };
    char *pat, *exp;
    int rc;

    if (p == NULL || *p == '\0')
        return -EINVAL;
    if (hooks == EVPROF__HOOKS_OTHER)
        return -EEXIST;
    pthread_mutex_lock(&lock);
    if (active != NULL) {
        pthread_mutex_unlock(&lock);
        return -EBUSY;
    }
    pat = strdup(p);
    exp = pat ? evprof__instrument_expand(p) : NULL;
    if (exp == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = evprof__output_prepare(exp, &o);
    if (rc < 0)
        goto fail;
    if (buffer != NULL
        && (evprof_buffer_capacity(buffer) != (limit ? limit : CHUNK_EVENTS)
            || evprof_buffer_policy(buffer) != (limit ? EVPROF_DROP
                                                : EVPROF_GROW))) {
        if (retire(buffer) != 0) {
            rc = -ENOMEM;
            goto fail;
        }
        buffer = NULL;
    }
    if (buffer == NULL)
        buffer = new_buffer();
    if (buffer == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    evprof__instrument_drain(buffer);
    lost_before = evprof_buffer_lost(buffer);
    if (!registered) {
        if (atexit(at_exit) != 0
            || pthread_atfork(fork_prepare, fork_parent, fork_child) != 0) {
            rc = -ENOMEM;
            goto fail;
        }
        registered = 1;
    }
    free(pattern);
    evprof__output_free(&out);
    pattern = pat;
    out = o;
    evprof__modules_forget();
    evprof__signals_install();
    __atomic_store_n(&active, buffer, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&lock);
    return 0;
fail:
    free(pat);
    evprof__output_free(&o);
    pthread_mutex_unlock(&lock);
    return rc;
}

/* What the trace holds, when not all the process's calls (META "scope"). */
EVPROF_NOINSTR static const char *scope(void)
{
    return scope_note[0] ? scope_note : NULL;
}

/* Writes the trace of b where `out` says; called with the lock held. */
EVPROF_NOINSTR static int write_out(evprof_buffer *b)
{
    const char *file;
    int rc = evprof__output_begin(&out, &file);

    if (rc < 0) {
        evprof__instrument_drain(b);
        return evprof__output_end(&out, rc);
    }
    return evprof__output_end(&out, evprof__instrument_write(b, file,
                                                             lost_before,
                                                             scope()));
}

int evprof_instrument_stop(void)
{
    evprof_buffer *b;
    int rc;

    pthread_mutex_lock(&lock);
    b = __atomic_exchange_n(&active, NULL, __ATOMIC_ACQ_REL);
    if (b == NULL) {
        pthread_mutex_unlock(&lock);
        return -ESRCH;
    }
    rc = write_out(b);
    pthread_mutex_unlock(&lock);
    return rc;
}

void evprof__instrument_stop_from_signal(void)
{
    struct timespec ms = { 0, 1000000 };
    evprof_buffer *b;
    int i, rc;

    /* Not pthread_mutex_lock: the signal may have come in the middle of a
     * start or stop on this very thread.  A trace being written by another
     * thread gets a second to finish; then we give up. */
    for (i = 0; pthread_mutex_trylock(&lock) != 0; i++) {
        if (i == 1000)
            return;
        nanosleep(&ms, NULL);
    }
    b = __atomic_exchange_n(&active, NULL, __ATOMIC_ACQ_REL);
    if (b != NULL && (rc = write_out(b)) < 0) {
        /* write(2), not stdio: stdio may be what the signal interrupted. */
        static const char msg[] = "evprof-instrument: cannot write the "
            "trace on a signal: ";
        const char *why = evprof_strerror(rc);

        if (write(2, msg, sizeof(msg) - 1) >= 0
            && write(2, why, strlen(why)) >= 0)
            (void)!write(2, "\n", 1);
    }
    pthread_mutex_unlock(&lock);
}

int evprof_instrument_set_limit(size_t max_events)
{
    int rc = 0;

    pthread_mutex_lock(&lock);
    if (active != NULL)
        rc = -EBUSY;
    else
        limit = max_events;
    pthread_mutex_unlock(&lock);
    return rc;
}

evprof_buffer *evprof__instrument_active(void)
{
    return __atomic_load_n(&active, __ATOMIC_ACQUIRE);
}

int evprof_instrument_running(void)
{
    return __atomic_load_n(&active, __ATOMIC_ACQUIRE) != NULL;
}

const char *evprof_instrument_path(void)
{
    return out.path;
}

/* EVPROF_OUTPUT=path starts a recording before main (not in set-user-ID
 * or set-group-ID programs: secure_getenv). */
__attribute__((constructor)) EVPROF_NOINSTR static void from_env(void)
{
#ifdef HAVE_SECURE_GETENV
    const char *p = secure_getenv(EVPROF_INSTRUMENT_ENV);
    const char *m = secure_getenv(EVPROF_INSTRUMENT_LIMIT_ENV);
#else
    const char *p = getenv(EVPROF_INSTRUMENT_ENV);
    const char *m = getenv(EVPROF_INSTRUMENT_LIMIT_ENV);
#endif
    int rc;

    hooks = evprof__hooks_found(&lock, &pass_enter, &pass_exit, &module);
    if (hooks == EVPROF__HOOKS_ALONE)
        snprintf(scope_note, sizeof(scope_note), "only the calls of %s: "
                 "instrumented code elsewhere in the process calls the C "
                 "library's empty hooks", module ? module : "?");
    /* Another copy records (or another tool has the calls): not us. */
    if (p == NULL || *p == '\0' || hooks == EVPROF__HOOKS_OTHER)
        return;
    if (m != NULL && *m != '\0') {
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(m, &end, 10);
        if (errno != 0 || *end != '\0' || end == m || v > SIZE_MAX / 64) {
            fprintf(stderr, "evprof-instrument: %s=%s: not a number of "
                    "events; not recording\n", EVPROF_INSTRUMENT_LIMIT_ENV,
                    m);
            return;
        }
        limit = (size_t)v;
    }
    rc = evprof_instrument_start(p);
    if (rc < 0)
        fprintf(stderr, "evprof-instrument: %s=%s: %s; not recording\n",
                EVPROF_INSTRUMENT_ENV, p, strerror(-rc));
}
