/*
 * sink_read.c: the events of a trace for a sink, decoded on a thread of
 * their own.  The reader decodes the next block while the sink formats
 * the last one (the CPU a sink spends is then the larger of the two, on
 * two cores): three blocks go round between the two threads, so memory
 * stays three blocks whatever the trace's length.  A block is an
 * EVENTS_PACKED section, decoded straight into it (a copy of every event
 * through the reader's array costs a tenth of a sink's time), so it grows
 * to the largest section (TRACE_PACKED_MAX_EVENTS at most, 3 MiB), or the
 * block size asked for of EVENTS sections.  When no thread can be made,
 * the blocks are read and handed over in turn on the caller's.
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "sink-read-private.h"

#define NBLOCKS 3

typedef struct block {
    evprof_event *ev;
    uint32_t *th;
    size_t cap;          /* events ev and th hold */
    int64_t n;           /* events, 0 at the end, or the reader's error */
    uint64_t offset;     /* of the reader once they were read */
} block;

typedef struct relay {
    evprof_trace_reader *r;
    size_t size;         /* events a block */
    block b[NBLOCKS];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t head, full;   /* the next block for the sink, blocks full */
    int stop, ended;     /* the sink stops; the reader is done */
} relay;

static void *decode_main(void *arg)
{
    relay *p = arg;
    size_t at = 0;

    for (;;) {
        block *b = &p->b[at];
        int64_t n;

        pthread_mutex_lock(&p->lock);
        while (p->full == NBLOCKS && !p->stop)
            pthread_cond_wait(&p->cond, &p->lock);
        if (p->stop) {
            pthread_mutex_unlock(&p->lock);
            break;
        }
        pthread_mutex_unlock(&p->lock);
        n = evprof__trace_read_whole(p->r, &b->ev, &b->th, &b->cap,
                                     p->size);
        b->n = n;
        b->offset = p->r->offset;
        pthread_mutex_lock(&p->lock);
        p->full++;
        if (n <= 0)
            p->ended = 1;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
        if (n <= 0)
            break;
        at = (at + 1) % NBLOCKS;
    }
    return NULL;
}

/* In turn on one thread. */
static int read_inline(evprof__sink_reading *s, block *b)
{
    int64_t n;
    int rc;

    while ((n = evprof__trace_read_whole(s->r, &b->ev, &b->th, &b->cap,
                                         s->block)) > 0) {
        if ((rc = s->events(s->state, b->ev, b->th, (size_t)n)) < 0)
            return rc;
        if ((rc = s->tick(s->tick_ctx, s->r->offset)) < 0)
            return rc;
    }
    if (n < 0)
        s->reader_error = 1;
    return (int)n;
}

int evprof__sink_read(evprof__sink_reading *s)
{
    relay p;
    pthread_t thread;
    size_t i;
    int rc = 0;

    s->reader_error = 0;
    memset(&p, 0, sizeof(p));
    p.r = s->r;
    p.size = s->block;
    for (i = 0; i < NBLOCKS; i++) {
        p.b[i].ev = malloc(p.size * sizeof(*p.b[i].ev));
        p.b[i].th = malloc(p.size * sizeof(*p.b[i].th));
        if (p.b[i].ev == NULL || p.b[i].th == NULL) {
            rc = -ENOMEM;
            goto done;
        }
        p.b[i].cap = p.size;
    }
    if (pthread_mutex_init(&p.lock, NULL) != 0) {
        rc = read_inline(s, &p.b[0]);
        goto done;
    }
    if (pthread_cond_init(&p.cond, NULL) != 0) {
        pthread_mutex_destroy(&p.lock);
        rc = read_inline(s, &p.b[0]);
        goto done;
    }
    if (pthread_create(&thread, NULL, decode_main, &p) != 0) {
        rc = read_inline(s, &p.b[0]);
        goto done_sync;
    }
    for (;;) {
        block *b;

        pthread_mutex_lock(&p.lock);
        while (p.full == 0)
            pthread_cond_wait(&p.cond, &p.lock);
        pthread_mutex_unlock(&p.lock);
        b = &p.b[p.head];
        if (b->n <= 0) {
            if (b->n < 0) {
                s->reader_error = 1;
                rc = (int)b->n;
            }
            break;
        }
        if ((rc = s->events(s->state, b->ev, b->th, (size_t)b->n)) < 0
            || (rc = s->tick(s->tick_ctx, b->offset)) < 0)
            break;
        p.head = (p.head + 1) % NBLOCKS;
        pthread_mutex_lock(&p.lock);
        p.full--;
        pthread_cond_broadcast(&p.cond);
        pthread_mutex_unlock(&p.lock);
    }
    pthread_mutex_lock(&p.lock);
    p.stop = 1;
    pthread_cond_broadcast(&p.cond);
    pthread_mutex_unlock(&p.lock);
    pthread_join(thread, NULL);
done_sync:
    pthread_cond_destroy(&p.cond);
    pthread_mutex_destroy(&p.lock);
done:
    for (i = 0; i < NBLOCKS; i++) {
        free(p.b[i].ev);
        free(p.b[i].th);
    }
    return rc;
}
