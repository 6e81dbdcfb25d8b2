/*
 * sink_out.c: the buffered output of the sinks (sink_out.h).
 *
 * A full buffer goes to a writer thread of its own, which writes it while
 * the sink fills the next one of a few (NBUF, 1 MiB each: the memory is
 * bounded): the time a sink takes is then the larger of its formatting
 * and of the writing (the copy into the page cache, the disk), not their
 * sum.  The thread lives from the sink's begin to its free, so a fork
 * between two runs copies none.  Without a thread (pthread_create or
 * malloc failed), a buffer is written in place when full.  Order is kept:
 * the buffers are written one at a time in the order they filled, and
 * evprof__out_flush returns once everything is written, before a sink
 * writes to the FILE itself.  The first failed write's error is kept and
 * returned (nothing is written after it), by the next push and by the
 * flush, so the sink stops at its next buffer.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sink_out.h"

#define D10(a, b) a b "0" a b "1" a b "2" a b "3" a b "4" a b "5" a b "6" \
    a b "7" a b "8" a b "9"
#define D100(a) D10(a, "0") D10(a, "1") D10(a, "2") D10(a, "3") \
    D10(a, "4") D10(a, "5") D10(a, "6") D10(a, "7") D10(a, "8") D10(a, "9")

const char evprof__d3[3001] = D100("0") D100("1") D100("2") D100("3")
    D100("4") D100("5") D100("6") D100("7") D100("8") D100("9");

void evprof__us_cache_set(evprof__us_cache *c, uint64_t ms)
{
    c->n = (size_t)(evprof__put_u64(c->s, ms) - c->s);
    c->ms = ms;
}

/*
 * Written behind: the pages of a regular file already written are handed
 * to the disk (sync_file_range, without waiting) every WINDOW bytes, and
 * those BEHIND windows back, waited for (long written by then, unless the
 * disk is slower than the sink), dropped from the page cache
 * (posix_fadvise DONTNEED: clean pages only, so no data is ever lost; it
 * does nothing on tmpfs).  The next writes then get pages just freed
 * instead of new ones: an output of gigabytes does not fill memory with
 * pages nobody reads again, and where the kernel's fresh pages are slow
 * to get (a virtual machine's memory touched for the first time: 5 times
 * slower than pages reused) it is written several times faster.  Only
 * advice: its failures change nothing.  A disk slower than that (two
 * waits in a row longer than SLOW_NS: under about 300 MB/s) would make
 * the run wait for it where the page cache absorbs the writes: writing
 * behind stops there, for the rest of the run.
 */
#define WINDOW ((off_t)8 << 20)
#define BEHIND 3
#define SLOW_NS 25000000

typedef struct behind {
    int fd;             /* -1: not a regular file */
    off_t kicked;       /* handed to the disk up to here */
    off_t dropped;      /* dropped up to here */
    int slow;           /* waits in a row longer than SLOW_NS */
} behind;

static void behind_init(behind *b, FILE *f)
{
    struct stat st;
    int fd = fileno(f);
    off_t at;

    b->fd = -1;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)
        || (at = lseek(fd, 0, SEEK_CUR)) < 0)
        return;
    b->fd = fd;
    b->kicked = b->dropped = at;
    b->slow = 0;
}

static int64_t behind_now(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* After a write: the file's offset (what stdio keeps back is at most its
 * own small buffer). */
static void behind_wrote(behind *b)
{
    off_t at, old;

    if (b->fd < 0 || (at = lseek(b->fd, 0, SEEK_CUR)) < 0
        || at - b->kicked < WINDOW)
        return;
#ifdef SYNC_FILE_RANGE_WRITE
    (void)sync_file_range(b->fd, b->kicked, at - b->kicked,
                          SYNC_FILE_RANGE_WRITE);
#endif
    b->kicked = at;
    old = at - BEHIND * WINDOW;
    if (old <= b->dropped)
        return;
    /* Every page of the range clean: DONTNEED then frees them all, with
     * no retry through every CPU's page lists for pages it could not. */
#ifdef SYNC_FILE_RANGE_WRITE
    {
        int64_t t0 = behind_now();

        (void)sync_file_range(b->fd, b->dropped, old - b->dropped,
                              SYNC_FILE_RANGE_WAIT_BEFORE
                              | SYNC_FILE_RANGE_WRITE
                              | SYNC_FILE_RANGE_WAIT_AFTER);
        b->slow = behind_now() - t0 > SLOW_NS ? b->slow + 1 : 0;
    }
#endif
    (void)posix_fadvise(b->fd, b->dropped, old - b->dropped,
                        POSIX_FADV_DONTNEED);
    b->dropped = old;
    if (b->slow >= 2)
        b->fd = -1;
}

/* A ring of buffers: the sink fills ring[fill], the writer writes
 * ring[head] (when queued > 0), and the queued - 1 after it wait their
 * turn; fill = head + queued, modulo NBUF.  The sink waits only when all
 * the others are queued, so a slow write now and then (a page cache
 * that has to find pages, the disk) is absorbed. */
#define NBUF 4

struct evprof__out_writer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t work;    /* to the writer: a buffer queued, or stop */
    pthread_cond_t room;    /* to the sink: a buffer written */
    FILE *f;
    behind behind;
    char *ring[NBUF];
    size_t len[NBUF];
    unsigned head, queued, fill;
    int stop, error;        /* error: the first failed write's */
};

/* Writes n bytes of p to f: 0 or the negative errno. */
static int write_out(FILE *f, const char *p, size_t n)
{
    errno = 0;
    if (fwrite(p, 1, n, f) != n)
        return errno ? -errno : -EIO;
    return 0;
}

static void *writer_main(void *arg)
{
    struct evprof__out_writer *w = arg;

    pthread_mutex_lock(&w->lock);
    for (;;) {
        unsigned at;
        int e = 0;

        while (w->queued == 0 && !w->stop)
            pthread_cond_wait(&w->work, &w->lock);
        if (w->queued == 0)
            break;
        at = w->head;
        /* After a failure the rest is not written: the sink stops at
         * its next buffer, and returns the first error. */
        if (w->error == 0) {
            pthread_mutex_unlock(&w->lock);
            if ((e = write_out(w->f, w->ring[at], w->len[at])) == 0)
                behind_wrote(&w->behind);
            pthread_mutex_lock(&w->lock);
            if (e != 0 && w->error == 0)
                w->error = e;
        }
        w->head = (at + 1) % NBUF;
        w->queued--;
        pthread_cond_signal(&w->room);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void writer_free(struct evprof__out_writer *w)
{
    unsigned i;

    /* ring[fill] is the sink's (o->buf), freed with it. */
    for (i = 0; i < NBUF; i++)
        if (i != w->fill)
            free(w->ring[i]);
    free(w);
}

/* A writer whose ring holds buf as its first buffer; NULL when it cannot
 * be had (no memory, no thread): the sink then writes in place. */
static struct evprof__out_writer *writer_new(FILE *f, char *buf)
{
    struct evprof__out_writer *w = calloc(1, sizeof(*w));
    sigset_t all, old;
    unsigned i;
    int rc;

    if (w == NULL)
        return NULL;
    w->f = f;
    behind_init(&w->behind, f);
    w->ring[0] = buf;
    for (i = 1; i < NBUF; i++)
        if ((w->ring[i] = malloc(EVPROF__OUT_SIZE)) == NULL)
            goto fail;
    if (pthread_mutex_init(&w->lock, NULL) != 0)
        goto fail;
    if (pthread_cond_init(&w->work, NULL) != 0)
        goto fail_lock;
    if (pthread_cond_init(&w->room, NULL) != 0)
        goto fail_work;
    /* The writer takes no signal: a signal meant for the process goes to
     * a thread of the caller's (which runs its handlers, as Python's
     * must), never interrupts a write, and a write into a closed pipe or
     * past RLIMIT_FSIZE fails with EPIPE or EFBIG, returned by the sink,
     * instead of killing the process. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&w->thread, NULL, writer_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0)
        return w;
    pthread_cond_destroy(&w->room);
fail_work:
    pthread_cond_destroy(&w->work);
fail_lock:
    pthread_mutex_destroy(&w->lock);
fail:
    w->fill = 0; /* buf stays the caller's */
    writer_free(w);
    return NULL;
}

int evprof__out_init(evprof__out *o, FILE *f)
{
    o->f = f;
    o->n = 0;
    o->error = 0;
    o->w = NULL;
    if ((o->buf = malloc(EVPROF__OUT_SIZE)) == NULL)
        return -ENOMEM;
    o->w = writer_new(f, o->buf);
    return 0;
}

void evprof__out_push(evprof__out *o)
{
    struct evprof__out_writer *w = o->w;

    if (o->n == 0 || o->error != 0) {
        o->n = 0;
        return;
    }
    if (w == NULL) {
        o->error = write_out(o->f, o->buf, o->n);
        o->n = 0;
        return;
    }
    pthread_mutex_lock(&w->lock);
    while (w->queued == NBUF - 1 && w->error == 0)
        pthread_cond_wait(&w->room, &w->lock);
    if (w->error != 0)
        o->error = w->error;
    else {
        w->len[w->fill] = o->n;
        w->fill = (w->fill + 1) % NBUF;
        w->queued++;
        o->buf = w->ring[w->fill];
        pthread_cond_signal(&w->work);
    }
    pthread_mutex_unlock(&w->lock);
    o->n = 0;
}

int evprof__out_flush(evprof__out *o)
{
    struct evprof__out_writer *w = o->w;

    evprof__out_push(o);
    if (w != NULL && o->error == 0) {
        pthread_mutex_lock(&w->lock);
        while (w->queued > 0)
            pthread_cond_wait(&w->room, &w->lock);
        o->error = w->error;
        pthread_mutex_unlock(&w->lock);
    }
    return o->error;
}

void evprof__out_write(evprof__out *o, const void *p, size_t n)
{
    const char *s = p;

    while (n > 0) {
        size_t room = EVPROF__OUT_SIZE - o->n, k = n < room ? n : room;

        memcpy(o->buf + o->n, s, k);
        o->n += k;
        s += k;
        n -= k;
        if (o->n == EVPROF__OUT_SIZE)
            evprof__out_push(o);
    }
}

void evprof__out_free(evprof__out *o)
{
    struct evprof__out_writer *w = o->w;

    if (w != NULL) {
        /* What is still queued is written (the sink's end flushed it, or
         * it failed and the writer passes over it), then the writer
         * ends: no thread outlives the sink's run. */
        pthread_mutex_lock(&w->lock);
        w->stop = 1;
        pthread_cond_signal(&w->work);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
        pthread_cond_destroy(&w->room);
        pthread_cond_destroy(&w->work);
        pthread_mutex_destroy(&w->lock);
        writer_free(w);
        o->w = NULL;
    }
    free(o->buf);
    o->buf = NULL;
}
