/*
 * buffer-private.h: the buffer's layout, shared by the files of the library
 * that walk it (buffer.c, dump.c).  Not installed.
 */
#ifndef EVPROF_BUFFER_PRIVATE_H
#define EVPROF_BUFFER_PRIVATE_H 1

#include <pthread.h>

#include "evprof.h"

/* A chunk: the fast-path part first, so evprof.h can see it. */
struct chunk {
    struct evprof__chunk pub;
    uint64_t tail;        /* events consumed by dumps (reader-owned, atomic) */
    int sealed;           /* the owner moved to a newer chunk (atomic) */
    struct chunk *next;   /* newer chunk of the same thread */
    struct thread *owner;
    uint64_t slots;       /* event i lives in ev[i % slots] */
};

/* A thread that logged into the buffer. */
struct thread {
    uint64_t serial;      /* evprof's own per-thread number: never reused */
    evprof_thread_info info;
    uint32_t index;
    struct chunk *oldest; /* chunks of this thread, oldest first */
    struct chunk *newest; /* the one the thread writes */
    struct thread *next;
};

/*
 * What a stream draining a GROW buffer (lib/stream.c) asks of the slow
 * path: keep the chunks' memory within `budget`, and wake the stream when
 * a chunk is full.  Under the buffer's lock.
 */
struct evprof__drain {
    size_t budget;
    int wait;             /* over the budget, wait for a chunk to come back */
    void (*kick)(void *arg); /* a chunk was sealed (called under lock) */
    void *arg;
    uint64_t over_budget; /* chunks allocated past the budget */
    uint64_t waits;       /* times a thread waited for room */
    pthread_cond_t room;  /* with the buffer's lock: a chunk came back */
};

struct evprof_buffer {
    struct evprof__buffer_head head;
    size_t capacity;
    pthread_mutex_t lock;  /* guards the thread and chunk lists */
    /* One consumer (a dump, a stream) at a time, taken before `lock`: a
     * stream reads and encodes chunks under it alone, so that writers'
     * slow paths (which take `lock`) never wait for it. */
    pthread_mutex_t consume;
    struct thread *threads;
    struct thread **by_index;
    size_t nthreads;
    size_t by_index_cap;
    uint64_t lost;         /* atomic */
    /* The chunks' memory (lib/chunks.c), under `lock`. */
    size_t chunk_bytes;    /* of one chunk, header included */
    size_t held, peak;     /* of all chunks, the pool's included */
    uint64_t sealed;       /* sealed chunks not yet retired */
    uint64_t retired;      /* chunks retired so far: stale readers */
    struct chunk *pool;    /* drained chunks kept for reuse while drained */
    struct evprof__drain *drain; /* the stream draining b, or NULL */
    unsigned waiting;      /* threads waiting for room (on drain->room) */
    struct evprof_buffer *prev_all, *next_all; /* all buffers, for fork */
};

/* Chunks from this size on get their events apart from their header, on
 * huge pages where the system has them (lib/chunks.c). */
#define EVPROF__HUGE_CHUNK ((size_t)4 << 20)
#define EVPROF__HUGE_PAGE ((size_t)2 << 20)

/* Slots of a chunk: a RING keeps one spare slot, so that the slot a writer
 * may be filling never holds one of the newest `capacity` events and a
 * concurrent dump can tell intact events from overwritten ones. */
static inline uint64_t chunk_slots(const struct evprof_buffer *b)
{
    return b->head.policy == EVPROF_RING ? (uint64_t)b->capacity + 1
                                         : (uint64_t)b->capacity;
}

/* A thread a stream runs on: it never waits for room (lib/chunks.c). */
extern _Thread_local int evprof__draining;

/* Bytes of a chunk of b, and the machine's limit on them (computed by
 * evprof__chunk_limit, called from evprof_buffer_new). */
size_t evprof__chunk_bytes(const struct evprof_buffer *b);
void evprof__chunk_limit(void);

/* The rest is called with b->lock held.  A chunk for `owner`: from the
 * pool, else from malloc (within the drain's budget, or past it and
 * counted, or after waiting for one to come back); NULL without memory. */
struct chunk *evprof__chunk_get(struct evprof_buffer *b, struct thread *owner);
/* c, sealed and consumed to its end, unlinked: to the pool or freed. */
void evprof__chunk_retire(struct evprof_buffer *b, struct chunk *c);
/* Frees a chunk (its header and its events); NULL is allowed. */
void evprof__chunk_free(struct chunk *c);
/* Frees the pool. */
void evprof__chunk_pool_free(struct evprof_buffer *b);

/* Gives the pages of the calling thread's chunk in b past its newest
 * event back to the system (lib/buffer.c): for the end of a run, whose
 * last chunk is seldom full.  Events logged after it fault their pages in
 * again.  A GROW buffer's chunk of its own allocation only; else nothing. */
void evprof__buffer_trim(evprof_buffer *b);

static inline uint64_t load_acquire(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

#endif /* EVPROF_BUFFER_PRIVATE_H */
