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
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evprof/instrument.h"
#include "symbols-private.h"

/* 12 MiB chunks: big enough for the buffer to ask for huge pages, which
 * halves the cost of a recorded call (a page fault every 85 events
 * otherwise); untouched pages of a thread that records little cost nothing. */
#define CHUNK_EVENTS 262144

static evprof_buffer *active;   /* the buffer while recording, else NULL */
static evprof_buffer *buffer;   /* kept across recordings */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *pattern;           /* as given: "%p" is expanded per process */
static char *path;              /* the file of this process */
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

EVPROF_NOINSTR void __cyg_profile_func_enter(void *fn, void *site)
{
    evprof_buffer *b = __atomic_load_n(&active, __ATOMIC_ACQUIRE);

    if (b != NULL)
        evprof_hook_enter(b, fn, site);
}

EVPROF_NOINSTR void __cyg_profile_func_exit(void *fn, void *site)
{
    evprof_buffer *b = __atomic_load_n(&active, __ATOMIC_ACQUIRE);

    if (b != NULL)
        evprof_hook_exit(b, fn, site);
}

/*
 * `pat` with "%p" replaced by the pid and "%%" by "%", made absolute (the
 * program may change directory before the file is written at exit); NULL
 * if no memory.
 */
EVPROF_NOINSTR static char *expand(const char *pat)
{
    size_t n = strlen(pat) + 1, i;
    const char *s;
    char pid[32], cwd[PATH_MAX], *out, *o;

    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    cwd[0] = '\0';
    if (pat[0] != '/' && getcwd(cwd, sizeof(cwd) - 1) != NULL)
        strcat(cwd, "/");
    else
        cwd[0] = '\0';
    n += strlen(cwd);
    for (s = pat; *s; s++)
        if (s[0] == '%' && s[1] == 'p')
            n += strlen(pid);
    out = malloc(n);
    if (out == NULL)
        return NULL;
    strcpy(out, cwd);
    for (s = pat, o = out + strlen(cwd); *s; s++) {
        if (s[0] == '%' && s[1] == 'p') {
            for (i = 0; pid[i]; i++)
                *o++ = pid[i];
            s++;
        } else if (s[0] == '%' && s[1] == '%') {
            *o++ = '%';
            s++;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

/* Creates (truncates) the file now, so that a bad path fails early. */
EVPROF_NOINSTR static int check_writable(const char *p)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);

    if (fd < 0)
        return errno ? -errno : -EIO;
    close(fd);
    return 0;
}

/* Drops what a buffer still holds (events logged after a stop). */
EVPROF_NOINSTR static void drain(evprof_buffer *b)
{
    evprof_event ev[256];

    while (evprof_buffer_dump(b, ev, 256) > 0)
        ;
}

EVPROF_NOINSTR static void at_exit(void)
{
    int rc;

    if (__atomic_load_n(&active, __ATOMIC_ACQUIRE) == NULL)
        return;
    rc = evprof_instrument_stop();
    if (rc < 0 && rc != -ESRCH)
        fprintf(stderr, "evprof-instrument: cannot write the trace %s: %s\n",
                path ? path : "(null)", strerror(-rc));
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
    p = expand(pattern);
    if (p == NULL || check_writable(p) != 0) {
        free(p);
        return;
    }
    buffer = new_buffer();
    if (buffer == NULL) {
        free(p);
        return;
    }
    lost_before = 0;
    free(path);
    path = p;
    __atomic_store_n(&active, buffer, __ATOMIC_RELEASE);
}

int evprof_instrument_start(const char *p)
{
    char *pat, *exp;
    int rc;

    if (p == NULL || *p == '\0')
        return -EINVAL;
    pthread_mutex_lock(&lock);
    if (active != NULL) {
        pthread_mutex_unlock(&lock);
        return -EBUSY;
    }
    pat = strdup(p);
    exp = pat ? expand(p) : NULL;
    if (exp == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = check_writable(exp);
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
    drain(buffer);
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
    free(path);
    pattern = pat;
    path = exp;
    __atomic_store_n(&active, buffer, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&lock);
    return 0;
fail:
    free(pat);
    free(exp);
    pthread_mutex_unlock(&lock);
    return rc;
}

/* ---- writing: events, then the names of the addresses they hold ------ */

/* A set of addresses (open addressing; 0 is the empty slot). */
struct set {
    uintptr_t *v;
    size_t cap, n;
};

EVPROF_NOINSTR static int set_add(struct set *s, uintptr_t a)
{
    size_t i;

    if (a == 0)
        return 0;
    if (2 * (s->n + 1) > s->cap) {
        struct set t = { NULL, s->cap ? 2 * s->cap : 1024, 0 };

        t.v = calloc(t.cap, sizeof(*t.v));
        if (t.v == NULL)
            return -ENOMEM;
        for (i = 0; i < s->cap; i++)
            if (s->v[i] != 0)
                set_add(&t, s->v[i]);
        free(s->v);
        *s = t;
    }
    for (i = (a * 0x9E3779B97F4A7C15u) >> 7 & (s->cap - 1); s->v[i] != 0;
         i = (i + 1) & (s->cap - 1))
        if (s->v[i] == a)
            return 0;
    s->v[i] = a;
    s->n++;
    return 0;
}

EVPROF_NOINSTR static char *hex_name(uintptr_t a)
{
    char *s = malloc(2 + 2 * sizeof(a) + 1);

    if (s != NULL)
        snprintf(s, 2 + 2 * sizeof(a) + 1, "0x%lx", (unsigned long)a);
    return s;
}

/* Names for every function address, lines for every call site. */
EVPROF_NOINSTR static int write_tables(evprof_trace_writer *w,
                                       struct set *fns, struct set *sites)
{
    evprof__symbols *sy = evprof__symbols_new();
    evprof_trace_name *names = NULL;
    evprof_trace_line *lines = NULL;
    char **hex = NULL;
    size_t i, nn = 0, nl = 0, nh = 0;
    evprof__sym s;
    int rc = 0;

    names = calloc(fns->n + sites->n + 1, sizeof(*names));
    lines = calloc(sites->n + 1, sizeof(*lines));
    hex = calloc(fns->n + 1, sizeof(*hex));
    if (names == NULL || lines == NULL || hex == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (i = 0; i < fns->cap; i++) {
        uintptr_t a = fns->v[i];

        if (a == 0)
            continue;
        names[nn].key = (int64_t)a;
        names[nn].kind = EVPROF_NAME_NATIVE;
        if (sy != NULL && evprof__symbols_find(sy, a, &s) == 0) {
            names[nn].name = s.name;
            names[nn].module = s.module;
            names[nn].file = s.file;
            names[nn].first_line = s.line;
        } else {
            if (sy != NULL)
                names[nn].module = s.module;
            names[nn].name = hex[nh++] = hex_name(a);
        }
        nn++;
    }
    for (i = 0; sy != NULL && i < sites->cap; i++) {
        uintptr_t a = sites->v[i];

        /* The line of the call: key = the calling function, offset = the
         * return address's distance from its start. */
        if (a != 0 && evprof__symbols_find(sy, a, &s) == 0 && s.line > 0
            && s.start != 0) {
            lines[nl].key = (int64_t)s.start;
            lines[nl].offset = (int64_t)(a - s.start);
            lines[nl].line = s.line;
            nl++;
        }
    }
    rc = evprof_trace_write_names(w, names, nn);
    if (rc == 0 && nl > 0)
        rc = evprof_trace_write_lines(w, lines, nl);
out:
    for (i = 0; hex != NULL && i < nh; i++)
        free(hex[i]);
    free(hex);
    free(names);
    free(lines);
    evprof__symbols_free(sy);
    return rc;
}

EVPROF_NOINSTR static int write_trace(evprof_buffer *b, const char *file)
{
    evprof_trace_writer *w;
    evprof_event *ev = NULL;
    uint32_t *thr = NULL;
    evprof_thread_info *info = NULL;
    struct set fns = { NULL, 0, 0 }, sites = { NULL, 0, 0 };
    char exe[PATH_MAX];
    size_t n, i, nt;
    ssize_t k;
    int rc;

    rc = evprof_trace_writer_open(file, &w);
    if (rc < 0) {
        drain(b);
        return rc;
    }
    evprof_trace_write_meta(w, "source", "evprof-instrument");
    evprof_trace_write_meta(w, "id_frame", "function address");
    evprof_trace_write_meta(w, "id_arg", "call site address");
#ifdef HAVE_LIBDW
    evprof_trace_write_meta(w, "resolver", "libdw");
#else
    evprof_trace_write_meta(w, "resolver", "elf-symtab");
#endif
    k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (k > 0) {
        exe[k] = '\0';
        evprof_trace_write_meta(w, "program", exe);
    }
    ev = malloc(CHUNK_EVENTS * sizeof(*ev));
    thr = malloc(CHUNK_EVENTS * sizeof(*thr));
    if (ev == NULL || thr == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    while ((n = evprof_buffer_dump_ex(b, ev, thr, CHUNK_EVENTS)) > 0) {
        rc = evprof_trace_write_events(w, ev, thr, n);
        for (i = 0; i < n && rc == 0; i++)
            if ((rc = set_add(&fns, (uintptr_t)ev[i].id_frame)) == 0)
                rc = set_add(&sites, (uintptr_t)ev[i].id_arg);
        if (rc < 0)
            goto out;
    }
    nt = evprof_buffer_thread_count(b);
    info = calloc(nt + 1, sizeof(*info));
    if (info == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (i = 0; i < nt; i++)
        if (evprof_buffer_thread(b, i, &info[i]) != 0)
            break;
    rc = evprof_trace_write_threads(w, info, i);
    if (rc == 0)
        rc = evprof_trace_writer_add_lost(w, evprof_buffer_lost(b)
                                          - lost_before);
    if (rc == 0)
        rc = write_tables(w, &fns, &sites);
out:
    i = (size_t)evprof_trace_writer_close(w);
    if (rc == 0)
        rc = (int)i;
    free(ev);
    free(thr);
    free(info);
    free(fns.v);
    free(sites.v);
    return rc;
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
    rc = write_trace(b, path);
    pthread_mutex_unlock(&lock);
    return rc;
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

int evprof_instrument_running(void)
{
    return __atomic_load_n(&active, __ATOMIC_ACQUIRE) != NULL;
}

const char *evprof_instrument_path(void)
{
    return path;
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

    if (p == NULL || *p == '\0')
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
