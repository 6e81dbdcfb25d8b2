/*
 * buffer_read.c: reading a buffer's events without taking them out.
 *
 * A dump (dump.c) moves events out and frees the chunks it emptied; a
 * reader leaves everything in place, so the same events can be read again
 * (a report read twice, a trace saved and then a DataFrame): memory holds
 * one copy of each event, in its chunk.  The order is a dump's: oldest
 * first, merged by time across threads.  Each call takes the buffer's
 * locks for its own length only; a consumer that takes events out between
 * two calls (a dump, a stream) makes the reader stale rather than let it
 * read a chunk that may be gone.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#include "buffer-private.h"

struct rcursor {
    struct chunk *c;
    uint64_t pos, end;
};

struct evprof_buffer_reader {
    evprof_buffer *b;
    uint64_t retired;     /* b->retired when opened */
    size_t n, cap;        /* cursors: one a thread, by thread index */
    struct rcursor *cur;
};

/* Cursors for the threads that logged since the last call (lock held). */
static int add_threads(evprof_buffer_reader *r)
{
    evprof_buffer *b = r->b;

    if (b->nthreads > r->cap) {
        size_t cap = b->nthreads;
        struct rcursor *v = realloc(r->cur, cap * sizeof(*v));

        if (v == NULL)
            return -ENOMEM;
        r->cur = v;
        r->cap = cap;
    }
    for (; r->n < b->nthreads; r->n++) {
        struct rcursor *cu = &r->cur[r->n];

        cu->c = b->by_index[r->n]->oldest;
        cu->pos = load_acquire(&cu->c->tail);
        cu->end = cu->pos;
    }
    return 0;
}

int evprof_buffer_reader_open(evprof_buffer *b, evprof_buffer_reader **out)
{
    evprof_buffer_reader *r;
    int rc;

    if (out == NULL)
        return -EINVAL;
    *out = NULL;
    if (b == NULL)
        return -EINVAL;
    if (b->head.policy == EVPROF_RING)
        return -EOPNOTSUPP;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    r->b = b;
    pthread_mutex_lock(&b->consume);
    pthread_mutex_lock(&b->lock);
    r->retired = b->retired;
    rc = add_threads(r);
    pthread_mutex_unlock(&b->lock);
    pthread_mutex_unlock(&b->consume);
    if (rc != 0) {
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* The next event of a cursor, or NULL; moves on to newer chunks. */
static const evprof_event *peek(struct rcursor *cu)
{
    for (;;) {
        if (cu->pos < cu->end)
            return &cu->c->pub.ev[cu->pos % cu->c->slots];
        /* `sealed` first: once set, head is final. */
        if (!__atomic_load_n(&cu->c->sealed, __ATOMIC_ACQUIRE))
            return NULL;
        cu->end = load_acquire(&cu->c->pub.head);
        if (cu->pos < cu->end)
            continue;
        if (cu->c->next == NULL)
            return NULL;
        cu->c = cu->c->next;
        cu->pos = load_acquire(&cu->c->tail);
        cu->end = load_acquire(&cu->c->pub.head);
    }
}

int64_t evprof_buffer_read(evprof_buffer_reader *r, evprof_event *out,
                           uint32_t *thread, size_t max)
{
    evprof_buffer *b;
    size_t i, n = 0;
    int rc = 0;

    if (r == NULL || (out == NULL && max > 0))
        return -EINVAL;
    if (max == 0)
        return 0;
    b = r->b;
    pthread_mutex_lock(&b->consume);
    pthread_mutex_lock(&b->lock);
    if (b->retired != r->retired)
        rc = -ESTALE;
    else
        rc = add_threads(r);
    for (i = 0; rc == 0 && i < r->n; i++) {
        struct rcursor *cu = &r->cur[i];

        /* Taken out in place (a stream) since the last call. */
        if (load_acquire(&cu->c->tail) > cu->pos)
            rc = -ESTALE;
        else
            cu->end = load_acquire(&cu->c->pub.head);
    }
    while (rc == 0 && n < max) {
        const evprof_event *best = NULL, *e;
        size_t bi = 0;

        for (i = 0; i < r->n; i++) {
            e = peek(&r->cur[i]);
            if (e != NULL && (best == NULL || e->time < best->time)) {
                best = e;
                bi = i;
            }
        }
        if (best == NULL)
            break;
        out[n].id_frame = __atomic_load_n(&best->id_frame, __ATOMIC_RELAXED);
        out[n].id_arg = __atomic_load_n(&best->id_arg, __ATOMIC_RELAXED);
        out[n].event = __atomic_load_n(&best->event, __ATOMIC_RELAXED);
        out[n].time = __atomic_load_n(&best->time, __ATOMIC_RELAXED);
        out[n].value1 = __atomic_load_n(&best->value1, __ATOMIC_RELAXED);
        out[n].value2 = __atomic_load_n(&best->value2, __ATOMIC_RELAXED);
        if (thread != NULL)
            thread[n] = (uint32_t)bi;
        n++;
        r->cur[bi].pos++;
    }
    pthread_mutex_unlock(&b->lock);
    pthread_mutex_unlock(&b->consume);
    return rc != 0 ? rc : (int64_t)n;
}

void evprof_buffer_reader_close(evprof_buffer_reader *r)
{
    if (r == NULL)
        return;
    free(r->cur);
    free(r);
}
