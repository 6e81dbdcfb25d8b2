/*
 * sink_out.c: the buffered output of the sinks (sink_out.h).
 *
 * A full buffer goes to a writer thread of its own, which writes it while
 * the sink fills the other one: the time a sink takes is then the larger
 * of its formatting and of the writing (the copy into the page cache, the
 * disk), not their sum.  Without a thread (pthread_create failed), the
 * buffer is written in place.  Order is kept: one buffer is written at a
 * time, and evprof__out_flush returns once everything is written, before
 * a sink writes to the FILE itself.
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

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

struct evprof__out_writer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    FILE *f;
    char *job;          /* the buffer being written, while busy */
    size_t jobn;
    char *spare;        /* the buffer not being filled, while idle */
    int busy, stop, error;
};

static void *writer_main(void *arg)
{
    struct evprof__out_writer *w = arg;

    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->busy && !w->stop)
            pthread_cond_wait(&w->cond, &w->lock);
        if (!w->busy)
            break;
        pthread_mutex_unlock(&w->lock);
        errno = 0;
        if (w->error == 0 && fwrite(w->job, 1, w->jobn, w->f) != w->jobn) {
            int e = errno ? -errno : -EIO;

            pthread_mutex_lock(&w->lock);
            w->error = e;
        } else
            pthread_mutex_lock(&w->lock);
        w->spare = w->job;
        w->job = NULL;
        w->busy = 0;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static struct evprof__out_writer *writer_new(FILE *f)
{
    struct evprof__out_writer *w = calloc(1, sizeof(*w));

    if (w == NULL)
        return NULL;
    w->f = f;
    if ((w->spare = malloc(EVPROF__OUT_SIZE)) == NULL)
        goto fail;
    if (pthread_mutex_init(&w->lock, NULL) != 0)
        goto fail;
    if (pthread_cond_init(&w->cond, NULL) != 0) {
        pthread_mutex_destroy(&w->lock);
        goto fail;
    }
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        goto fail;
    }
    return w;
fail:
    free(w->spare);
    free(w);
    return NULL;
}

/* Waits until the writer is idle; its error. */
static int writer_wait(struct evprof__out_writer *w)
{
    int e;

    pthread_mutex_lock(&w->lock);
    while (w->busy)
        pthread_cond_wait(&w->cond, &w->lock);
    e = w->error;
    pthread_mutex_unlock(&w->lock);
    return e;
}

int evprof__out_init(evprof__out *o, FILE *f)
{
    o->f = f;
    o->n = 0;
    o->error = 0;
    o->w = NULL;
    if ((o->buf = malloc(EVPROF__OUT_SIZE)) == NULL)
        return -ENOMEM;
    o->w = writer_new(f);
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
        errno = 0;
        if (fwrite(o->buf, 1, o->n, o->f) != o->n)
            o->error = errno ? -errno : -EIO;
        o->n = 0;
        return;
    }
    pthread_mutex_lock(&w->lock);
    while (w->busy)
        pthread_cond_wait(&w->cond, &w->lock);
    if (w->error != 0)
        o->error = w->error;
    else {
        w->job = o->buf;
        w->jobn = o->n;
        o->buf = w->spare;
        w->spare = NULL;
        w->busy = 1;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    o->n = 0;
}

int evprof__out_flush(evprof__out *o)
{
    evprof__out_push(o);
    if (o->w != NULL && o->error == 0)
        o->error = writer_wait(o->w);
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
        pthread_mutex_lock(&w->lock);
        w->stop = 1;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        free(w->spare);
        free(w->job);
        free(w);
        o->w = NULL;
    }
    free(o->buf);
    o->buf = NULL;
}
