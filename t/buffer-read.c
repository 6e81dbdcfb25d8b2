/* Reading a buffer in place: the events and order of a dump, read again
 * and again, stale after a dump; across chunks and threads. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <evprof.h>

#include "tap.h"

#define PER_THREAD 1000

static evprof_buffer *shared;

static void *logger(void *arg)
{
    int64_t i, tag = (int64_t)(intptr_t)arg;

    for (i = 0; i < PER_THREAD; i++)
        evprof_log(shared, tag, i, 1, i, -i);
    return NULL;
}

/* Everything a new reader gives, `step` events a call; -1 on an error. */
static int64_t read_all(evprof_buffer *b, evprof_event *ev, uint32_t *thr,
                        size_t cap, size_t step)
{
    evprof_buffer_reader *r;
    int64_t n = 0, got;

    if (evprof_buffer_reader_open(b, &r) != 0)
        return -1;
    while ((size_t)n < cap) {
        size_t want = cap - (size_t)n < step ? cap - (size_t)n : step;

        got = evprof_buffer_read(r, ev + n, thr + n, want);
        if (got < 0) {
            evprof_buffer_reader_close(r);
            return -1;
        }
        if (got == 0)
            break;
        n += got;
    }
    evprof_buffer_reader_close(r);
    return n;
}

int main(void)
{
    enum { N = 4 * PER_THREAD + 10 };
    evprof_buffer *b;
    evprof_buffer_reader *r;
    evprof_event *a, *c, *d, one;
    uint32_t *ta, *tc, *td;
    pthread_t th[3];
    int64_t na, nc;
    size_t nd, i;
    int t;

    plan(16);
    a = calloc(N, sizeof(*a));
    c = calloc(N, sizeof(*c));
    d = calloc(N, sizeof(*d));
    ta = calloc(N, sizeof(*ta));
    tc = calloc(N, sizeof(*tc));
    td = calloc(N, sizeof(*td));
    if (!a || !c || !d || !ta || !tc || !td)
        bail("out of memory");

    is_int(-EINVAL, evprof_buffer_reader_open(NULL, &r), "open NULL");
    is_int(-EINVAL, evprof_buffer_read(NULL, &one, NULL, 1), "read NULL");
    evprof_buffer_reader_close(NULL);
    b = evprof_buffer_new(8, EVPROF_RING);
    is_int(-EOPNOTSUPP, evprof_buffer_reader_open(b, &r),
           "a RING buffer is refused");
    evprof_buffer_free(b);

    /* Chunks of 7 events: every read crosses chunks. */
    shared = b = evprof_buffer_new(7, EVPROF_GROW);
    is_int(0, read_all(b, a, ta, N, 5), "an empty buffer reads nothing");
    for (i = 0; i < PER_THREAD; i++)
        evprof_log(b, 99, (int64_t)i, 1, (int64_t)i, -(int64_t)i);
    for (t = 0; t < 3; t++)
        pthread_create(&th[t], NULL, logger, (void *)(intptr_t)t);
    for (t = 0; t < 3; t++)
        pthread_join(th[t], NULL);

    na = read_all(b, a, ta, N, 3);
    is_int(4 * PER_THREAD, na, "every event read, 3 a call");
    nc = read_all(b, c, tc, N, 1000);
    is_int(na, nc, "read again, 1000 a call: as many");
    ok(memcmp(a, c, (size_t)na * sizeof(*a)) == 0
       && memcmp(ta, tc, (size_t)na * sizeof(*ta)) == 0,
       "the same events and threads");
    is_int(4 * PER_THREAD, evprof_buffer_count(b), "nothing taken out");

    /* A reader opened now, then events logged: they are read too. */
    is_int(0, evprof_buffer_reader_open(b, &r), "open");
    evprof_log(b, 98, 0, 2, 0, 0);
    nc = 0;
    for (;;) {
        int64_t got = evprof_buffer_read(r, c + nc, tc + nc, 64);

        if (got <= 0)
            break;
        nc += got;
    }
    is_int(na + 1, nc, "an event logged after the open is read");

    nd = evprof_buffer_dump_ex(b, d, td, N);
    is_int(na + 1, nd, "a dump gives as many");
    ok(memcmp(c, d, nd * sizeof(*d)) == 0
       && memcmp(tc, td, nd * sizeof(*td)) == 0,
       "in the same order, with the same threads");
    for (i = 1; i < nd && d[i - 1].time <= d[i].time; i++)
        ;
    ok(i == nd, "by time");
    is_int(-ESTALE, evprof_buffer_read(r, &one, NULL, 1),
           "after the dump the reader is stale");
    evprof_buffer_reader_close(r);
    is_int(0, read_all(b, a, ta, N, 8), "a new reader: nothing left");

    /* Stale also when the dump frees no chunk. */
    evprof_log(b, 1, 1, 1, 1, 1);
    evprof_log(b, 1, 1, 1, 1, 1);
    evprof_buffer_reader_open(b, &r);
    evprof_buffer_dump(b, &one, 1);
    is_int(-ESTALE, evprof_buffer_read(r, &one, NULL, 1),
           "a dump taking events from a live chunk: stale");
    evprof_buffer_reader_close(r);
    evprof_buffer_free(b);
    free(a);
    free(c);
    free(d);
    free(ta);
    free(tc);
    free(td);
    return 0;
}
