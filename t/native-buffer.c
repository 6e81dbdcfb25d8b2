/*
 * native-buffer.c: a buffer of this program's own copy of libevprof
 * attached to libevprof-malloc.so (evprof_native_attach_buffer), as the
 * Python package attaches its buffer.  The test runs itself again with
 * the library preloaded.  Each allocation is in the buffer once, with this
 * copy's context and a time between this copy's clock reads around the
 * call, on the thread that made it, also across full chunks; nothing is
 * logged while this copy's hook flag is set, while the active flag is 0,
 * nor after a detach; a forked child allocates and exits cleanly.  A
 * function sink attached next is called once an allocation, not for what
 * it allocates itself, and not after its detach.  Under
 * valgrind the second run is not traced: valgrind's own malloc would come
 * first, in front of the library.
 */
#define _GNU_SOURCE 1
#include <config.h>

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evprof.h"
#include "evprof/native.h"
#include "tap.h"

#if defined(__SANITIZE_ADDRESS__)
# define UNDER_ASAN 1
#elif defined(__has_feature)
# if __has_feature(address_sanitizer)
#  define UNDER_ASAN 1
# endif
#endif

#define TESTS 22

/* Marker sizes nothing else in the process asks for. */
#define M_LOOP 300007   /* + 2 * i, NLOOP of them */
#define NLOOP 100       /* past many chunks of CAPACITY events */
#define CAPACITY 16
#define M_HOOKED 300401
#define M_INACTIVE 300403
#define M_THREAD 300409
#define M_CALLOC 300413
#define M_CHILD 300419
#define M_DETACHED 300427
#define M_FUNCTION 300431
#define CONTEXT 77
#define THREAD_CONTEXT 5

typedef int (*attach_buffer_fn)(const evprof_native_buffer_sink *);
typedef int (*attach_fn)(const evprof_native_sink *);
typedef int (*quiesce_fn)(void);

static int active = 1;
static int64_t before[NLOOP], after[NLOOP];

/* A block allocated, written and freed (a pair with an unused block
 * could be left out by the compiler). */
static void *volatile block;

static void allocate(size_t size, int zeroed)
{
    block = zeroed ? calloc(1, size) : malloc(size);
    if (block == NULL)
        bail("no memory");
    *(volatile char *)block = 1;
    free(block);
}

/* A function sink's calls of the marker size. */
static int fn_calls;

static void fn_log(void *ctx, int64_t event, int64_t domain, int64_t ptr,
                   int64_t size)
{
    (void)ctx;
    (void)ptr;
    if (event == EVPROF_MALLOC && domain == EVPROF_DOMAIN_NATIVE
        && size == M_FUNCTION) {
        fn_calls++;
        /* Allocating in the sink: forwarded, not logged again. */
        allocate(M_FUNCTION, 0);
    }
}

static void *thread_main(void *arg)
{
    (void)arg;
    evprof_context_set(THREAD_CONTEXT);
    allocate(M_THREAD, 0);
    return NULL;
}

struct found {
    int loop, loop_frees, in_time, context_ok, hooked, inactive;
    int thread, thread_context, thread_apart, calloc_, child, detached;
    int64_t pending; /* the block of the last loop malloc, until freed */
};

static void scan(evprof_buffer *b, struct found *f)
{
    size_t n = evprof_buffer_count(b), i;
    evprof_event *ev = calloc(n + 1, sizeof(*ev));
    uint32_t *th = calloc(n + 1, sizeof(*th));
    uint32_t main_thread = UINT32_MAX;

    if (ev == NULL || th == NULL)
        bail("calloc");
    n = evprof_buffer_dump_ex(b, ev, th, n);
    memset(f, 0, sizeof(*f));
    for (i = 0; i < n; i++) {
        int64_t size = ev[i].value2;

        if (ev[i].id_arg != EVPROF_DOMAIN_NATIVE)
            continue;
        if (size >= M_LOOP && size < M_LOOP + 2 * NLOOP
            && (size - M_LOOP) % 2 == 0 && ev[i].event == EVPROF_MALLOC) {
            int64_t k = (size - M_LOOP) / 2;

            f->loop++;
            f->pending = ev[i].value1;
            f->in_time += ev[i].time >= before[k] && ev[i].time <= after[k];
            f->context_ok += ev[i].id_frame == CONTEXT;
            main_thread = th[i];
        } else if (ev[i].event == EVPROF_FREE && f->pending != 0
                   && ev[i].value1 == f->pending) {
            f->loop_frees++;
            f->pending = 0;
        }
        f->hooked += size == M_HOOKED;
        f->inactive += size == M_INACTIVE;
        f->calloc_ += size == M_CALLOC && ev[i].event == EVPROF_CALLOC;
        f->child += size == M_CHILD;
        f->detached += size == M_DETACHED;
        if (size == M_THREAD) {
            f->thread++;
            f->thread_context = ev[i].id_frame == THREAD_CONTEXT;
            f->thread_apart = th[i] != main_thread;
        }
    }
    free(ev);
    free(th);
}

/* Not preloaded yet: runs this program again with the library. */
static int reexec(char **argv)
{
    char file[PATH_MAX + 64], lib[PATH_MAX];
    const char *slash = strrchr(argv[0], '/');

    snprintf(file, sizeof(file), "%.*s../lib/.libs/libevprof-malloc.so",
             slash ? (int)(slash - argv[0] + 1) : 0, argv[0]);
    if (realpath(file, lib) == NULL)
        bail("no %s", file);
    if (getenv("EVPROF_TEST_PRELOADED") != NULL)
        bail("%s was not preloaded", lib);
    setenv("LD_PRELOAD", lib, 1);
    setenv("EVPROF_TEST_PRELOADED", "1", 1);
    execv(argv[0], argv);
    bail("execv: %s", strerror(errno));
}

int main(int argc, char **argv)
{
    attach_buffer_fn attach_buffer;
    attach_fn attach;
    quiesce_fn quiesce;
    evprof_native_buffer_sink sink, bad;
    evprof_buffer *b;
    struct found f;
    pthread_t t;
    pid_t pid;
    int status, i;

    (void)argc;
#ifdef UNDER_ASAN
    plan(TESTS);
    for (i = 0; i < TESTS; i++)
        skip("preloading into a program needs the sanitizer runtime first");
    return 0;
#endif
    attach_buffer = (attach_buffer_fn)dlsym(RTLD_DEFAULT,
                                            "evprof_native_attach_buffer");
    attach = (attach_fn)dlsym(RTLD_DEFAULT, "evprof_native_attach");
    quiesce = (quiesce_fn)dlsym(RTLD_DEFAULT, "evprof_native_quiesce");
    if (attach_buffer == NULL)
        return reexec(argv);
    plan(TESTS);
    ok(attach != NULL && quiesce != NULL, "the library is preloaded");

    b = evprof_buffer_new(CAPACITY, EVPROF_GROW);
    if (b == NULL)
        bail("evprof_buffer_new");
    evprof_native_buffer_sink_init(&sink, b, &active);
    bad = sink;
    bad.abi = EVPROF_NATIVE_BUFFER_ABI + 1;
    is_int(-EINVAL, attach_buffer(&bad), "an unknown abi: -EINVAL");
    bad = sink;
    bad.buf = NULL;
    is_int(-EINVAL, attach_buffer(&bad), "no buffer: -EINVAL");
    is_int(-EINVAL, attach_buffer(NULL), "NULL: -EINVAL");
    is_int(0, attach_buffer(&sink), "attached");
    is_int(-EBUSY, attach_buffer(&sink), "twice: -EBUSY");

    evprof_context_set(CONTEXT);
    for (i = 0; i < NLOOP; i++) {
        char *p;

        before[i] = evprof_clock_ns();
        p = malloc(M_LOOP + 2 * (size_t)i);
        after[i] = evprof_clock_ns();
        if (p == NULL)
            bail("malloc");
        p[0] = 1;
        free(p);
    }
    evprof__in_hook = 1; /* a hook of this copy allocating */
    allocate(M_HOOKED, 0);
    evprof__in_hook = 0;
    __atomic_store_n(&active, 0, __ATOMIC_RELAXED);
    allocate(M_INACTIVE, 0);
    __atomic_store_n(&active, 1, __ATOMIC_RELAXED);
    allocate(M_CALLOC, 1);
    if (pthread_create(&t, NULL, thread_main, NULL) != 0
        || pthread_join(t, NULL) != 0)
        bail("pthread");
    fflush(stdout);
    if ((pid = fork()) < 0)
        bail("fork");
    if (pid == 0) {
        allocate(M_CHILD, 0);
        _exit(0);
    }
    ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status)
       && WEXITSTATUS(status) == 0, "a forked child allocates and exits");
    is_int(0, attach(NULL), "detached");
    is_int(0, quiesce(), "quiesced");
    allocate(M_DETACHED, 0);
    {
        evprof_native_sink fn = { fn_log, NULL };

        is_int(0, attach(&fn), "a function sink attached after it");
        allocate(M_FUNCTION, 0);
        (void)attach(NULL);
        (void)quiesce();
        is_int(1, fn_calls, "the function sink called once, not for what "
               "it allocates itself");
        allocate(M_FUNCTION, 0);
        is_int(1, fn_calls, "nor after its detach");
    }

    scan(b, &f);
    is_int(NLOOP, f.loop, "each malloc once, across full chunks");
    is_int(NLOOP, f.loop_frees, "each free once, paired");
    is_int(NLOOP, f.context_ok, "with this copy's context");
    is_int(NLOOP, f.in_time, "stamped by this copy's clock, in the call");
    is_int(0, f.hooked, "nothing while this copy's hook flag is set");
    is_int(0, f.inactive, "nothing while inactive");
    is_int(1, f.calloc_, "calloc, with nelem * elsize");
    ok(f.thread == 1 && f.thread_context && f.thread_apart,
       "a thread's malloc on its own thread, with its context");
    is_int(0, f.child, "nothing of the child's in the parent's buffer");
    is_int(0, f.detached, "nothing after the detach");
    evprof_buffer_free(b);
    return 0;
}
