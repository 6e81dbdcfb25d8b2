/* The end of a run: the pages of the thread's last chunk past its newest
 * event go back to the system (evprof__buffer_trim), its events stay, and
 * logging after it goes on; a big chunk freed serves the next GROW chunk
 * of its size, which reads only what it wrote. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <evprof.h>

#include "buffer-private.h"
#include "tap.h"

#define CAPACITY ((size_t)1 << 20) /* 48 MiB of events: a big chunk */
#define FIRST 50000                /* 2.4 MiB of them */
#define MORE 30000

/* Pages of [from, to) resident, or -1 when mincore fails. */
static long resident(const void *from, const void *to)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)from & ~((uintptr_t)page - 1);
    uintptr_t z = (uintptr_t)to;
    size_t n = (z - a + (size_t)page - 1) / (size_t)page, i;
    unsigned char *v = malloc(n);
    long count = 0;

    if (v == NULL || mincore((void *)a, z - a, v) != 0) {
        free(v);
        return -1;
    }
    for (i = 0; i < n; i++)
        count += v[i] & 1;
    free(v);
    return count;
}

/* Every event of b, checked against what log_range wrote: the count, or
 * -1 at the first wrong one. */
static int64_t check_all(evprof_buffer *b, int64_t expected)
{
    evprof_buffer_reader *r;
    evprof_event ev[512];
    uint32_t thr[512];
    int64_t n = 0, got, i;

    if (evprof_buffer_reader_open(b, &r) != 0)
        return -1;
    while ((got = evprof_buffer_read(r, ev, thr, 512)) > 0)
        for (i = 0; i < got; i++, n++)
            if (ev[i].id_frame != n || ev[i].value1 != 3 * n
                || ev[i].value2 != -n || ev[i].event != EVPROF_CALL) {
                evprof_buffer_reader_close(r);
                return -1;
            }
    evprof_buffer_reader_close(r);
    return got < 0 || n != expected ? -1 : n;
}

static void log_range(evprof_buffer *b, int64_t from, int64_t to)
{
    int64_t i;

    for (i = from; i < to; i++)
        evprof_log(b, i, 0, EVPROF_CALL, 3 * i, -i);
}

int main(void)
{
    evprof_buffer *b, *small, *ring;
    struct evprof__chunk *c;
    long page = sysconf(_SC_PAGESIZE);
    const char *past, *end;

    plan(13);

    /* Nothing to do, never a crash. */
    evprof__buffer_trim(NULL);
    ok(1, "trim(NULL) does nothing");

    b = evprof_buffer_new(CAPACITY, EVPROF_GROW);
    if (b == NULL)
        bail("evprof_buffer_new: %s", strerror(errno));
    /* A buffer this thread never logged into: nothing of it is ours. */
    evprof__buffer_trim(b);
    ok(1, "trim before the thread's first event does nothing");

    log_range(b, 0, FIRST);
    c = evprof__tls.tcache.chunk;
    past = (const char *)(c->ev + (c->head - c->base));
    end = (const char *)(c->ev + CAPACITY);
    evprof__buffer_trim(b);
    is_int(FIRST, check_all(b, FIRST), "the events are intact after trim");
    /* The page of the newest event stays; none past its page is held. */
    ok(resident(past - 1, past) == 1, "the newest event's page is held");
    {
        const char *next = (const char *)
            (((uintptr_t)past + (uintptr_t)page - 1)
             & ~((uintptr_t)page - 1));
        long held = resident(next, end);

        is_int(0, held, "no page past the newest event is held");
    }

    /* Logging goes on into the pages given back, from zeroed pages. */
    log_range(b, FIRST, FIRST + MORE);
    is_int(FIRST + MORE, check_all(b, FIRST + MORE),
           "events logged after trim are read back with the others");

    /* Freed, its events serve the next GROW buffer of the same size. */
    {
        const void *was = c->ev;
        evprof_buffer *next;
        evprof_buffer *ring2;

        evprof_buffer_free(b);
        /* Not a ring's chunk (of the same bytes: one slot more). */
        ring2 = evprof_buffer_new(CAPACITY - 1, EVPROF_RING);
        if (ring2 == NULL)
            bail("evprof_buffer_new: %s", strerror(errno));
        log_range(ring2, 0, 1);
        ok(evprof__tls.tcache.chunk->ev != was, "a ring gets fresh memory");
        next = evprof_buffer_new(CAPACITY, EVPROF_GROW);
        if (next == NULL)
            bail("evprof_buffer_new: %s", strerror(errno));
        is_int(0, check_all(next, 0), "a new buffer reads nothing");
        log_range(next, 0, 1000);
        ok(evprof__tls.tcache.chunk->ev == was,
           "the next GROW buffer's chunk is the one freed");
        is_int(1000, check_all(next, 1000),
               "it reads its own events, none of the old ones");
        b = next;
        evprof_buffer_free(ring2);
    }
    evprof_buffer_free(b);

    /* A small chunk is malloc's memory: left alone, events intact. */
    small = evprof_buffer_new(1000, EVPROF_GROW);
    if (small == NULL)
        bail("evprof_buffer_new: %s", strerror(errno));
    log_range(small, 0, 2500);
    evprof__buffer_trim(small);
    is_int(2500, check_all(small, 2500), "small chunks: events intact");
    log_range(small, 2500, 2600);
    is_int(2600, check_all(small, 2600), "small chunks: logging goes on");
    evprof_buffer_free(small);

    /* A RING buffer's slots past its head hold its older events: kept. */
    ring = evprof_buffer_new(CAPACITY, EVPROF_RING);
    if (ring == NULL)
        bail("evprof_buffer_new: %s", strerror(errno));
    log_range(ring, 0, (int64_t)CAPACITY + 1000);
    evprof__buffer_trim(ring);
    {
        static evprof_event out[4096];
        int64_t want = 1000, bad = 0;
        size_t n, i;

        while ((n = evprof_buffer_dump(ring, out, 4096)) > 0)
            for (i = 0; i < n; i++, want++)
                bad += out[i].id_frame != want || out[i].value1 != 3 * want;
        ok(bad == 0 && want == (int64_t)CAPACITY + 1000,
           "a ring buffer keeps its older events");
    }
    evprof_buffer_free(ring);
    return 0;
}
