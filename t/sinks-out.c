/*
 * The sinks' output on outputs of many buffers (a writer thread writes
 * them while the sink fills the next ones): the same bytes into a file,
 * into a pipe read slowly and, when no thread can be made, written in
 * place; /dev/null works; and the first failed write's error is the
 * run's, as it came: a full device -ENOSPC, a pipe its reader closed
 * -EPIPE, a file past RLIMIT_FSIZE -EFBIG, the run stopping soon after
 * it (the progress does not reach the end).
 */
#define _GNU_SOURCE 1 /* pthread_setattr_default_np */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <evprof.h>

#include "sink-fixture.h"
#include "tap.h"

#define TRACE "t/sinks-out.evt"
#define OUT "t/sinks-out.out"
/* Chrome JSON of about 58 bytes an event: 23 MiB, Perfetto 5 MiB. */
#define EVENTS 400000

static const char *const sinks[] = { "chrome", "perfetto" };
#define NSINKS 2

typedef struct seen {
    uint64_t done, total;
} seen;

static int progress(void *ctx, uint64_t done, uint64_t total)
{
    seen *s = ctx;

    s->done = done;
    s->total = total;
    return 0;
}

/* The sink into f; its status, and in *s how far it read. */
static int run_into(const char *sink, FILE *f, seen *s)
{
    evprof_sink_options opt;
    char err[256];

    evprof_sink_options_init(&opt);
    opt.progress = progress;
    opt.progress_ctx = s;
    memset(s, 0, sizeof(*s));
    return evprof_sink_run(TRACE, sink, f, &opt, err, sizeof(err));
}

/* The bytes of path, *n of them; bails out on failure. */
static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long len;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
        bail("%s: %s", path, strerror(errno));
    if ((buf = malloc((size_t)len + 1)) == NULL
        || fread(buf, 1, (size_t)len, f) != (size_t)len)
        bail("%s: read", path);
    fclose(f);
    *n = (size_t)len;
    return buf;
}

/* ---- a pipe read slowly --------------------------------------------- */

typedef struct drain {
    int fd;
    char *buf;
    size_t n, cap;
} drain;

static void *drain_main(void *arg)
{
    drain *d = arg;
    ssize_t k;
    unsigned i = 0;

    for (;;) {
        if (d->cap - d->n < 4096) {
            d->cap = d->cap ? 2 * d->cap : 1 << 20;
            if ((d->buf = realloc(d->buf, d->cap)) == NULL)
                bail("out of memory");
        }
        /* Small reads, a pause now and then: the sink's buffers queue
         * up behind the writer, which waits for the reader. */
        if ((k = read(d->fd, d->buf + d->n, 4096)) <= 0)
            break;
        d->n += (size_t)k;
        if (++i % 512 == 0)
            usleep(1000);
    }
    return NULL;
}

static void through_pipe(const char *sink, const char *want, size_t wantn)
{
    pthread_t t;
    drain d = { -1, NULL, 0, 0 };
    int fds[2], rc;
    FILE *f;
    seen s;

    if (pipe(fds) != 0 || (f = fdopen(fds[1], "wb")) == NULL)
        bail("pipe: %s", strerror(errno));
    d.fd = fds[0];
    if (pthread_create(&t, NULL, drain_main, &d) != 0)
        bail("pthread_create");
    rc = run_into(sink, f, &s);
    fclose(f);
    pthread_join(t, NULL);
    close(fds[0]);
    ok(rc == 0 && d.n == wantn && memcmp(d.buf, want, wantn) == 0,
       "%s into a pipe read slowly: the bytes of the file (%d, %zu of %zu"
       " bytes)", sink, rc, d.n, wantn);
    free(d.buf);
}

/* ---- failures ------------------------------------------------------- */

static void closed_pipe(const char *sink)
{
    int fds[2], rc;
    FILE *f;
    seen s;

    if (pipe(fds) != 0 || (f = fdopen(fds[1], "wb")) == NULL)
        bail("pipe: %s", strerror(errno));
    close(fds[0]);
    rc = run_into(sink, f, &s);
    fclose(f);
    ok(rc == -EPIPE && s.done < s.total,
       "%s into a pipe its reader closed: -EPIPE, the run stopped (%d, read"
       " %llu of %llu)", sink, rc, (unsigned long long)s.done,
       (unsigned long long)s.total);
}

static void full_device(const char *sink)
{
    FILE *f = fopen("/dev/full", "wb");
    seen s;
    int rc;

    if (f == NULL) {
        skip("no /dev/full");
        return;
    }
    rc = run_into(sink, f, &s);
    fclose(f);
    ok(rc == -ENOSPC && s.done < s.total,
       "%s into /dev/full: -ENOSPC, the run stopped (%d, read %llu of %llu)",
       sink, rc, (unsigned long long)s.done, (unsigned long long)s.total);
}

static void file_limit(const char *sink)
{
    struct rlimit old, small;
    char err[256];
    int rc;

    if (getrlimit(RLIMIT_FSIZE, &old) != 0)
        bail("getrlimit: %s", strerror(errno));
    small = old;
    small.rlim_cur = 3 << 20;
    if (old.rlim_max != RLIM_INFINITY && old.rlim_max < small.rlim_cur) {
        skip("RLIMIT_FSIZE too small already");
        return;
    }
    unlink(OUT);
    if (setrlimit(RLIMIT_FSIZE, &small) != 0)
        bail("setrlimit: %s", strerror(errno));
    rc = evprof_sink_run_path(TRACE, sink, OUT, NULL, err, sizeof(err));
    setrlimit(RLIMIT_FSIZE, &old);
    is_int(-EFBIG, rc, "%s into a file past RLIMIT_FSIZE: -EFBIG (%s)", sink,
           err);
}

/* ---- the runs ------------------------------------------------------- */

static void one_sink(const char *sink)
{
    pthread_attr_t attr, huge;
    char *want, *got, err[256];
    size_t wantn, gotn = 0;
    FILE *f;
    seen s;
    int rc;

    unlink(OUT);
    rc = evprof_sink_run_path(TRACE, sink, OUT, NULL, err, sizeof(err));
    if (rc != 0)
        bail("%s: %d (%s)", sink, rc, err);
    want = slurp(OUT, &wantn);
    ok(wantn > (4 << 20), "%s: an output of %zu bytes, several buffers",
       sink, wantn);
    through_pipe(sink, want, wantn);

    if ((f = fopen("/dev/null", "wb")) == NULL)
        bail("/dev/null: %s", strerror(errno));
    rc = run_into(sink, f, &s);
    fclose(f);
    ok(rc == 0 && s.done == s.total, "%s into /dev/null (%d)", sink, rc);

    /* No thread can be made (a stack larger than memory): the sink
     * writes its buffers itself, the same bytes. */
    if (pthread_getattr_default_np(&attr) != 0
        || pthread_attr_init(&huge) != 0
        || pthread_attr_setstacksize(&huge, (size_t)1 << 46) != 0
        || pthread_setattr_default_np(&huge) != 0)
        bail("pthread_setattr_default_np");
    unlink(OUT);
    rc = evprof_sink_run_path(TRACE, sink, OUT, NULL, err, sizeof(err));
    if (pthread_setattr_default_np(&attr) != 0)
        bail("pthread_setattr_default_np");
    pthread_attr_destroy(&huge);
    pthread_attr_destroy(&attr);
    got = rc == 0 ? slurp(OUT, &gotn) : NULL;
    ok(got != NULL && gotn == wantn && memcmp(got, want, wantn) == 0,
       "%s without threads: the same bytes (%d)", sink, rc);
    free(got);
    free(want);

    full_device(sink);
    closed_pipe(sink);
    file_limit(sink);
}

int main(void)
{
    size_t i;

    /* As Python runs: a closed pipe or a file past its limit fails the
     * write instead of ending the process. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    plan(7 * NSINKS);
    fixture_fib(TRACE, EVENTS);
    for (i = 0; i < NSINKS; i++)
        one_sink(sinks[i]);
    unlink(TRACE);
    unlink(OUT);
    return 0;
}
