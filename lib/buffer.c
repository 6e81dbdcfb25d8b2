/*
 * buffer.c: making and freeing buffers, and the slow path of evprof_log
 * (a thread's first event, a full chunk).
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "buffer-private.h"

_Thread_local struct evprof__tls evprof__tls
    __attribute__((tls_model("initial-exec")));

/* Never reused, unlike pthread_t values and buffer addresses. */
static uint64_t next_uid = 1;
static uint64_t next_serial = 1;
static _Thread_local uint64_t my_serial;

static uint64_t thread_serial(void)
{
    if (my_serial == 0)
        my_serial = __atomic_fetch_add(&next_serial, 1, __ATOMIC_RELAXED);
    return my_serial;
}

static int64_t native_thread_id(void)
{
#ifdef HAVE_GETTID
    return (int64_t)gettid();
#elif defined(SYS_gettid)
    return (int64_t)syscall(SYS_gettid);
#else
    return (int64_t)getpid();
#endif
}

/*
 * fork(): a child has only the forking thread, so a buffer lock that another
 * thread held at the fork would stay locked for ever in the child.  Every
 * buffer's lock is taken around fork() and released on both sides, as glibc
 * does for malloc.
 */
static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static evprof_buffer *all_buffers;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
    evprof_buffer *b;

    pthread_mutex_lock(&all_lock);
    for (b = all_buffers; b != NULL; b = b->next_all) {
        pthread_mutex_lock(&b->consume);
        pthread_mutex_lock(&b->lock);
    }
}

static void fork_release(void)
{
    evprof_buffer *b;

    for (b = all_buffers; b != NULL; b = b->next_all) {
        pthread_mutex_unlock(&b->lock);
        pthread_mutex_unlock(&b->consume);
    }
    pthread_mutex_unlock(&all_lock);
}

/* The child has no stream thread: its buffers are drained by nobody but
 * itself, so their slow paths neither wait for room nor wake a stream. */
static void fork_child(void)
{
    evprof_buffer *b;

    for (b = all_buffers; b != NULL; b = b->next_all) {
        b->drain = NULL;
        b->waiting = 0;
    }
    fork_release();
}

static void atfork_register(void)
{
    pthread_atfork(fork_prepare, fork_release, fork_child);
}

evprof_buffer *evprof_buffer_new(size_t capacity, int policy)
{
    evprof_buffer *b;

    if (capacity == 0
        || capacity > (SIZE_MAX - sizeof(struct chunk)) / sizeof(evprof_event) - 1
        || (policy != EVPROF_GROW && policy != EVPROF_RING
            && policy != EVPROF_DROP)) {
        errno = EINVAL;
        return NULL;
    }
    evprof_clock_init();
    evprof__chunk_limit();
    b = calloc(1, sizeof(*b));
    if (b == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    if (pthread_mutex_init(&b->lock, NULL) != 0) {
        free(b);
        errno = ENOMEM;
        return NULL;
    }
    if (pthread_mutex_init(&b->consume, NULL) != 0) {
        pthread_mutex_destroy(&b->lock);
        free(b);
        errno = ENOMEM;
        return NULL;
    }
    b->head.uid = __atomic_fetch_add(&next_uid, 1, __ATOMIC_RELAXED);
    b->head.policy = policy;
    b->capacity = capacity;
    b->chunk_bytes = evprof__chunk_bytes(b);
    pthread_once(&atfork_once, atfork_register);
    pthread_mutex_lock(&all_lock);
    b->next_all = all_buffers;
    if (all_buffers != NULL)
        all_buffers->prev_all = b;
    all_buffers = b;
    pthread_mutex_unlock(&all_lock);
    return b;
}

void evprof_buffer_free(evprof_buffer *b)
{
    struct thread *t, *tnext;
    struct chunk *c, *cnext;

    if (b == NULL)
        return;
    pthread_mutex_lock(&all_lock);
    if (b->prev_all != NULL)
        b->prev_all->next_all = b->next_all;
    else
        all_buffers = b->next_all;
    if (b->next_all != NULL)
        b->next_all->prev_all = b->prev_all;
    pthread_mutex_unlock(&all_lock);
    if (evprof__tls.tcache.buf == b)
        memset(&evprof__tls.tcache, 0, sizeof(evprof__tls.tcache));
    for (t = b->threads; t != NULL; t = tnext) {
        tnext = t->next;
        for (c = t->oldest; c != NULL; c = cnext) {
            cnext = c->next;
            evprof__chunk_free(c);
        }
        free(t);
    }
    evprof__chunk_pool_free(b);
    free(b->by_index);
    pthread_mutex_destroy(&b->consume);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

/* This thread's record in b, made with its first chunk when missing.
 * Called with b->lock held. */
static struct thread *thread_get(evprof_buffer *b)
{
    uint64_t serial = thread_serial();
    struct thread *t;

    for (t = b->threads; t != NULL; t = t->next)
        if (t->serial == serial)
            return t;
    if (b->nthreads == b->by_index_cap) {
        size_t cap = b->by_index_cap ? 2 * b->by_index_cap : 8;
        struct thread **v = realloc(b->by_index, cap * sizeof(*v));
        if (v == NULL)
            return NULL;
        b->by_index = v;
        b->by_index_cap = cap;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->oldest = t->newest = evprof__chunk_get(b, t);
    if (t->oldest == NULL) {
        free(t);
        return NULL;
    }
    t->serial = serial;
    t->info.ident = (uint64_t)pthread_self();
    t->info.native_id = native_thread_id();
    t->index = (uint32_t)b->nthreads;
    b->by_index[b->nthreads++] = t;
    t->next = b->threads;
    b->threads = t;
    return t;
}

static int lose(evprof_buffer *b, int code)
{
    __atomic_fetch_add(&b->lost, 1, __ATOMIC_RELAXED);
    return code;
}

/*
 * Makes room for event `h` in chunk c, whose limit it reached.  Returns the
 * chunk to write (c or a new one), or NULL with *code set.
 */
static struct chunk *make_room(evprof_buffer *b, struct chunk *c, uint64_t h,
                               int *code)
{
    struct evprof__chunk *p = &c->pub;
    struct chunk *n;
    uint64_t tail;

    switch (b->head.policy) {
    case EVPROF_RING:
        /* Wrap: the oldest events get overwritten; dumps count them. */
        p->base += c->slots;
        p->limit = p->base + c->slots;
        return c;
    case EVPROF_DROP:
        tail = load_acquire(&c->tail);
        if (h - tail >= b->capacity) {
            *code = -ENOBUFS;
            return NULL;
        }
        if (h == p->base + c->slots)
            p->base += c->slots;
        p->limit = p->base + c->slots;
        if (p->limit > tail + b->capacity)
            p->limit = tail + b->capacity;
        return c;
    default:
        pthread_mutex_lock(&b->lock);
        n = evprof__chunk_get(b, c->owner);
        if (n != NULL) {
            c->next = n;
            c->owner->newest = n;
            /* After the last head store: a dump seeing `sealed` sees the
             * final head. */
            __atomic_store_n(&c->sealed, 1, __ATOMIC_RELEASE);
            b->sealed++;
            if (b->drain != NULL)
                b->drain->kick(b->drain->arg);
        }
        pthread_mutex_unlock(&b->lock);
        if (n == NULL) {
            *code = -ENOMEM;
            return NULL;
        }
        evprof__tls.tcache.chunk = &n->pub;
        return n;
    }
}

static int log_slow(evprof_buffer *b, int64_t id_frame, int64_t id_arg,
                    int64_t event, int64_t value1, int64_t value2)
{
    struct evprof__tcache *tc = &evprof__tls.tcache;
    struct chunk *c;
    uint64_t h;
    int code = 0;

    if (b == NULL)
        return -EINVAL;
    if (tc->buf == b && tc->uid == b->head.uid) {
        c = (struct chunk *)(void *)tc->chunk;
    } else {
        struct thread *t;

        pthread_mutex_lock(&b->lock);
        t = thread_get(b);
        c = t != NULL ? t->newest : NULL;
        pthread_mutex_unlock(&b->lock);
        if (c == NULL)
            return lose(b, -ENOMEM);
        tc->buf = b;
        tc->uid = b->head.uid;
        tc->chunk = &c->pub;
    }
    h = c->pub.head;
    if (h >= c->pub.limit) {
        c = make_room(b, c, h, &code);
        if (c == NULL)
            return lose(b, code);
        h = c->pub.head;
    }
    __atomic_thread_fence(__ATOMIC_RELEASE);
    evprof__store(c->pub.ev + (h - c->pub.base), id_frame, id_arg, event,
                  evprof_clock_ns(), value1, value2);
    __atomic_store_n(&c->pub.head, h + 1, __ATOMIC_RELEASE);
    return 0;
}

/* What the slow path allocates (a chunk, a thread's record) is the
 * library's own: no hook of the library logs it.  A hook that did would
 * log into b from inside b's lock (an interposed malloc handing the event
 * to a sink that logs into b: a thread waiting for itself). */
int evprof__log_slow(evprof_buffer *b, int64_t id_frame, int64_t id_arg,
                     int64_t event, int64_t value1, int64_t value2)
{
    int in = evprof__in_hook, rc;

    evprof__in_hook = 1;
    rc = log_slow(b, id_frame, id_arg, event, value1, value2);
    evprof__in_hook = in;
    return rc;
}

int evprof_buffer_prepare(evprof_buffer *b, size_t nevents)
{
    struct thread *t;
    struct chunk *c;
    volatile char *p, *end;

    if (b == NULL)
        return -EINVAL;
    pthread_mutex_lock(&b->lock);
    t = thread_get(b);
    c = t != NULL ? t->newest : NULL;
    pthread_mutex_unlock(&b->lock);
    if (c == NULL)
        return -ENOMEM;
    evprof__tls.tcache.buf = b;
    evprof__tls.tcache.uid = b->head.uid;
    evprof__tls.tcache.chunk = &c->pub;
    /* Only this thread writes the chunk, and the slots after head were
     * never written in its first lap: free to scribble on.  One write a
     * page commits it. */
    if (c->pub.base != 0)
        return 0;
    if (nevents > c->slots - c->pub.head)
        nevents = (size_t)(c->slots - c->pub.head);
    p = (volatile char *)(void *)(c->pub.ev + c->pub.head);
    end = p + nevents * sizeof(evprof_event);
    for (; p < end; p += 4096)
        *p = 0;
    return 0;
}

/*
 * A big chunk's events are on huge pages (lib/chunks.c), committed 2 MiB
 * at a time: the last chunk of a run holds up to 2 MiB past its newest
 * event.  Those pages go back: the huge page is split and the pages past
 * the event unmapped (the process no longer holds them; the kernel frees
 * them as soon as it needs memory), and the range is marked for small
 * pages so that the kernel's collapsing thread does not fill it again.
 * Signals are blocked meanwhile, so that no handler of this thread logs
 * past the head while its pages go.  Only the owner writes a chunk: other
 * threads cannot be writing this one.
 */
void evprof__buffer_trim(evprof_buffer *b)
{
    struct chunk *c;
    sigset_t all, old;
    uintptr_t from, huge, end;
    long page = sysconf(_SC_PAGESIZE);

    if (b == NULL || b->head.policy != EVPROF_GROW
        || evprof__tls.tcache.buf != b || evprof__tls.tcache.uid != b->head.uid
        || page <= 0)
        return;
    c = (struct chunk *)(void *)evprof__tls.tcache.chunk;
    if (c->pub.ev == (evprof_event *)(void *)(c + 1))
        return; /* a small chunk, in malloc's memory: on small pages */
    sigfillset(&all);
    if (pthread_sigmask(SIG_BLOCK, &all, &old) != 0)
        return;
    from = (uintptr_t)(c->pub.ev + (c->pub.head - c->pub.base));
    from = (from + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    end = (uintptr_t)(c->pub.ev + c->slots) & ~((uintptr_t)page - 1);
    if (from < end) {
#if defined(MADV_NOHUGEPAGE)
        huge = from & ~(uintptr_t)(EVPROF__HUGE_PAGE - 1);
        (void)madvise((void *)huge, end - huge, MADV_NOHUGEPAGE);
#else
        (void)huge;
#endif
        (void)madvise((void *)from, end - from, MADV_DONTNEED);
    }
    (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
}

size_t evprof_buffer_capacity(const evprof_buffer *b)
{
    return b != NULL ? b->capacity : 0;
}

int evprof_buffer_policy(const evprof_buffer *b)
{
    return b != NULL ? b->head.policy : -EINVAL;
}

size_t evprof_buffer_thread_count(const evprof_buffer *b)
{
    size_t n;

    if (b == NULL)
        return 0;
    pthread_mutex_lock((pthread_mutex_t *)&b->lock);
    n = b->nthreads;
    pthread_mutex_unlock((pthread_mutex_t *)&b->lock);
    return n;
}

int evprof_buffer_thread(const evprof_buffer *b, size_t index,
                         evprof_thread_info *info)
{
    int code = 0;

    if (b == NULL || info == NULL)
        return -EINVAL;
    pthread_mutex_lock((pthread_mutex_t *)&b->lock);
    if (index < b->nthreads)
        *info = b->by_index[index]->info;
    else
        code = -ERANGE;
    pthread_mutex_unlock((pthread_mutex_t *)&b->lock);
    return code;
}
