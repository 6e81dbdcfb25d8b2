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

struct evprof_buffer {
    struct evprof__buffer_head head;
    size_t capacity;
    pthread_mutex_t lock;  /* guards the thread and chunk lists */
    struct thread *threads;
    struct thread **by_index;
    size_t nthreads;
    size_t by_index_cap;
    uint64_t lost;         /* atomic */
    struct evprof_buffer *prev_all, *next_all; /* all buffers, for fork */
};

/* Slots of a chunk: a RING keeps one spare slot, so that the slot a writer
 * may be filling never holds one of the newest `capacity` events and a
 * concurrent dump can tell intact events from overwritten ones. */
static inline uint64_t chunk_slots(const struct evprof_buffer *b)
{
    return b->head.policy == EVPROF_RING ? (uint64_t)b->capacity + 1
                                         : (uint64_t)b->capacity;
}

static inline uint64_t load_acquire(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

#endif /* EVPROF_BUFFER_PRIVATE_H */
