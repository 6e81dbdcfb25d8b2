/*
 * stream.c: a buffer streamed into a trace file while threads log: every
 * event on disk once and in its thread's order, memory within the budget,
 * flush, a concurrent dump, write errors, fork, and a streaming process
 * killed (its file read up to the last complete section).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <evprof.h>

#include "tap.h"

#define NT 4

static char dir[] = "/tmp/evprof-stream-XXXXXX";
static char path[256];
/* Smaller under valgrind (check-valgrind sets it), which runs one thread
 * at a time. */
static int slow;

static struct logger {
    pthread_t tid;
    evprof_buffer *b;
    int64_t who;
    uint64_t n;
} lg[NT];

static void *logger(void *arg)
{
    struct logger *l = arg;
    uint64_t i;

    for (i = 0; i < l->n; i++)
        if (evprof_log(l->b, l->who, 0, EVPROF_CALL, (int64_t)i, 0) != 0)
            break;
    return NULL;
}

static void start_loggers(evprof_buffer *b, int n, uint64_t each)
{
    int i;

    for (i = 0; i < n; i++) {
        lg[i].b = b;
        lg[i].who = i;
        lg[i].n = each;
        if (pthread_create(&lg[i].tid, NULL, logger, &lg[i]) != 0)
            bail("pthread_create");
    }
}

static void join_loggers(int n)
{
    int i;

    for (i = 0; i < n; i++)
        pthread_join(lg[i].tid, NULL);
}

/*
 * Reads the file at `path`: each event's (id_frame = logger, value1 =
 * its sequence number) checked to follow the previous one of its logger,
 * time never going back; seen[who][seq] counted when seen is not NULL.
 * Returns the last code of read_events (0 at a complete file's end).
 */
struct readback {
    uint64_t events, out_of_order, backwards, strangers;
    uint64_t next[NT];
    int64_t last_time[NT];
};

static int read_back(struct readback *rb, unsigned char **seen,
                     uint64_t nseen, char *msg, size_t msglen)
{
    enum { BATCH = 8192 };
    static evprof_event ev[BATCH];
    evprof_trace_reader *r;
    int64_t n, i;
    int rc;

    memset(rb, 0, sizeof(*rb));
    rc = evprof_trace_reader_open(path, &r);
    while (rc == 0 && (n = evprof_trace_read_events(r, ev, NULL, BATCH)) != 0) {
        if (n < 0) {
            rc = (int)n;
            break;
        }
        for (i = 0; i < n; i++) {
            int64_t who = ev[i].id_frame;
            uint64_t seq = (uint64_t)ev[i].value1;

            if (who < 0 || who >= NT) {
                rb->strangers++;
                continue;
            }
            if (seen != NULL) {
                if (seq < nseen)
                    seen[who][seq]++;
            } else if (seq != rb->next[who]) {
                rb->out_of_order++;
            }
            rb->next[who] = seq + 1;
            if (ev[i].time < rb->last_time[who])
                rb->backwards++;
            rb->last_time[who] = ev[i].time;
        }
        rb->events += (uint64_t)n;
    }
    if (msg != NULL)
        snprintf(msg, msglen, "%s", evprof_trace_reader_error(r));
    evprof_trace_reader_close(r);
    return rc;
}

static const char *meta_of(const char *key, char *out, size_t len)
{
    evprof_trace_reader *r;
    const char *v;

    out[0] = '\0';
    if (evprof_trace_reader_open(path, &r) == 0
        && evprof_trace_reader_finish(r) == 0
        && (v = evprof_trace_reader_meta(r, key)) != NULL)
        snprintf(out, len, "%s", v);
    evprof_trace_reader_close(r);
    return out;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 4 threads streamed under a 4 MiB budget, writers waiting for room. */
static void big(void)
{
    const size_t budget = (size_t)4 << 20;
    uint64_t each = slow ? 100000 : 10000000;
    evprof_stream_options opt = {budget, 0, EVPROF_STREAM_WAIT};
    evprof_stream_stats st;
    evprof_trace_writer *w;
    evprof_stream *s;
    evprof_buffer *b;
    struct readback rb;
    struct rusage ru0, ru1;
    double t0, t1;
    char text[64];
    int rc, i, in_order = 1, complete = 1;

    getrusage(RUSAGE_SELF, &ru0);
    b = evprof_buffer_new(evprof_stream_capacity(budget, NT), EVPROF_GROW);
    if (b == NULL || evprof_trace_writer_open(path, &w) != 0)
        bail("setup");
    diag("%" PRIu64 " events a thread, chunks of %zu events", each,
         evprof_buffer_capacity(b));
    t0 = now_s();
    is_int(0, evprof_stream_start(w, b, &opt, &s), "stream started");
    start_loggers(b, NT, each);
    join_loggers(NT);
    rc = evprof_stream_stop(s, &st);
    t1 = now_s();
    getrusage(RUSAGE_SELF, &ru1);
    is_int(0, rc, "stopped");
    diag("%.1f M events/s streamed; peak held %zu bytes (budget %zu), "
         "%" PRIu64 " waits", (double)(NT * each) / (t1 - t0) / 1e6,
         st.peak_bytes, budget, st.waits);
    is_int((int64_t)(NT * each), (int64_t)st.events, "all events written");
    is_int(0, (int64_t)st.lost, "none lost");
    ok(st.peak_bytes <= budget && st.over_budget == 0,
       "peak held %zu bytes within the budget of %zu, never over",
       st.peak_bytes, budget);
#if defined(__SANITIZE_ADDRESS__)
    skip("RSS under AddressSanitizer (shadow memory, quarantine)");
#else
    if (slow)
        skip("RSS under valgrind");
    else
        ok(ru1.ru_maxrss - ru0.ru_maxrss < (long)(budget >> 10) + 16384,
           "RSS grew by %ld KiB (the events are %" PRIu64 " MiB)",
           ru1.ru_maxrss - ru0.ru_maxrss, NT * each * 48 >> 20);
#endif
    is_int(0, evprof_buffer_count(b), "the buffer is empty");
    is_int(0, evprof_trace_writer_close(w), "closed");
    evprof_buffer_free(b);
    rc = read_back(&rb, NULL, 0, text, sizeof(text));
    is_int(0, rc, "read back whole: %s", text);
    for (i = 0; i < NT; i++)
        complete &= rb.next[i] == each;
    in_order = rb.out_of_order == 0 && rb.strangers == 0;
    ok(rb.events == NT * each && complete, "%" PRIu64 " events on disk, "
       "every thread's up to its last", rb.events);
    ok(in_order, "each thread's in its order (%" PRIu64 " out of order)",
       rb.out_of_order);
    is_int(0, (int64_t)rb.backwards, "time never goes back in a thread");
    is_string("0", meta_of("stream-over-budget", text, sizeof(text)),
              "META stream-over-budget");
}

/* Without EVPROF_STREAM_WAIT: past the budget when the disk lags, and said
 * so; nothing lost either way. */
static void grow_past(void)
{
    const size_t budget = (size_t)1 << 20;
    uint64_t each = slow ? 20000 : 500000;
    evprof_stream_options opt = {budget, 0, 0};
    evprof_stream_stats st;
    evprof_trace_writer *w;
    evprof_stream *s;
    evprof_buffer *b = evprof_buffer_new(evprof_stream_capacity(budget, 2),
                                         EVPROF_GROW);
    struct readback rb;
    char text[64];
    int rc;

    if (b == NULL || evprof_trace_writer_open(path, &w) != 0)
        bail("setup");
    is_int(0, evprof_stream_start(w, b, &opt, &s), "stream, no waiting");
    start_loggers(b, 2, each);
    join_loggers(2);
    is_int(0, evprof_stream_stop(s, &st), "stopped");
    diag("peak %zu bytes, %" PRIu64 " chunks over the budget", st.peak_bytes,
         st.over_budget);
    ok((st.peak_bytes > budget) == (st.over_budget > 0) && st.waits == 0,
       "over the budget exactly when counted so, never waiting");
    is_int(0, evprof_trace_writer_close(w), "closed");
    evprof_buffer_free(b);
    rc = read_back(&rb, NULL, 0, NULL, 0);
    ok(rc == 0 && rb.events == 2 * each && rb.out_of_order == 0,
       "all %" PRIu64 " events, in order", rb.events);
    snprintf(text, sizeof(text), "%" PRIu64, st.over_budget);
    {
        char seen[64];

        is_string(text, meta_of("stream-over-budget", seen, sizeof(seen)),
                  "META says how many");
    }
}

static void flush(void)
{
    evprof_trace_writer *w;
    evprof_stream *s;
    evprof_stream_stats st;
    evprof_buffer *b = evprof_buffer_new(100, EVPROF_GROW);
    struct readback rb;
    char msg[256];
    int i, rc;

    if (b == NULL || evprof_trace_writer_open(path, &w) != 0)
        bail("setup");
    /* A long period: only the flush writes the partly filled chunk. */
    {
        evprof_stream_options opt = {0, 60000, 0};

        is_int(0, evprof_stream_start(w, b, &opt, &s), "stream");
    }
    for (i = 0; i < 1050; i++)
        evprof_log(b, 0, 0, EVPROF_CALL, i, 0);
    is_int(0, evprof_stream_flush(s), "flush");
    rc = read_back(&rb, NULL, 0, msg, sizeof(msg));
    ok(rc == -ENODATA && rb.events == 1050 && rb.out_of_order == 0,
       "the live file holds the 1050 events, then -ENODATA: %s", msg);
    rc = evprof_stream_get_stats(s, &st);
    ok(rc == 0 && st.events == 1050 && st.held_bytes > 0,
       "stats: 1050 written, %zu bytes held", st.held_bytes);
    for (; i < 1500; i++)
        evprof_log(b, 0, 0, EVPROF_CALL, i, 0);
    is_int(0, evprof_stream_flush(s), "flush again");
    rc = read_back(&rb, NULL, 0, NULL, 0);
    ok(rc == -ENODATA && rb.events == 1500, "1500 now");
    is_int(-EBUSY, evprof_trace_writer_close(w),
           "closing the writer under a stream: -EBUSY");
    is_int(0, evprof_stream_stop(s, NULL), "stop");
    is_int(0, evprof_trace_writer_close(w), "close");
    ok(read_back(&rb, NULL, 0, NULL, 0) == 0 && rb.events == 1500,
       "complete: 1500");
    evprof_buffer_free(b);
}

/* A dump and the stream at once: each event goes to exactly one. */
static evprof_buffer *dumped_b;
static int dumping;
static unsigned char *marks[NT];
static uint64_t dumped;

static void *dumper(void *arg)
{
    evprof_event ev[97];
    size_t n, i;

    (void)arg;
    while (__atomic_load_n(&dumping, __ATOMIC_ACQUIRE)) {
        n = evprof_buffer_dump(dumped_b, ev, 97);
        for (i = 0; i < n; i++)
            marks[ev[i].id_frame][ev[i].value1]++;
        dumped += n;
    }
    return NULL;
}

static void with_dump(void)
{
    uint64_t each = slow ? 20000 : 300000, seq, twice = 0, missing = 0;
    evprof_trace_writer *w;
    evprof_stream *s;
    evprof_stream_stats st;
    struct readback rb;
    pthread_t tid;
    int i;

    dumped_b = evprof_buffer_new(64, EVPROF_GROW);
    for (i = 0; i < 2; i++)
        marks[i] = calloc(each, 1);
    if (dumped_b == NULL || marks[0] == NULL || marks[1] == NULL
        || evprof_trace_writer_open(path, &w) != 0)
        bail("setup");
    is_int(0, evprof_stream_start(w, dumped_b, NULL, &s), "stream");
    dumping = 1;
    if (pthread_create(&tid, NULL, dumper, NULL) != 0)
        bail("pthread_create");
    start_loggers(dumped_b, 2, each);
    join_loggers(2);
    __atomic_store_n(&dumping, 0, __ATOMIC_RELEASE);
    pthread_join(tid, NULL);
    is_int(0, evprof_stream_stop(s, &st), "stopped");
    is_int(0, evprof_trace_writer_close(w), "closed");
    ok(read_back(&rb, marks, each, NULL, 0) == 0, "the file reads");
    for (i = 0; i < 2; i++)
        for (seq = 0; seq < each; seq++) {
            twice += marks[i][seq] > 1;
            missing += marks[i][seq] == 0;
        }
    diag("%" PRIu64 " events dumped, %" PRIu64 " streamed", dumped,
         st.events);
    ok(twice == 0 && missing == 0 && dumped + st.events == 2 * each,
       "each event once: %" PRIu64 " twice, %" PRIu64 " missing", twice,
       missing);
    for (i = 0; i < 2; i++)
        free(marks[i]);
    evprof_buffer_free(dumped_b);
}

/* The disk full: a file size limit, as a small file system would be. */
static void write_error(void)
{
    struct rlimit old, small;
    evprof_trace_writer *w;
    evprof_stream *s;
    evprof_stream_stats st;
    evprof_buffer *b = evprof_buffer_new(1000, EVPROF_GROW);
    struct readback rb;
    char msg[256];
    int i, rc;

    if (b == NULL || getrlimit(RLIMIT_FSIZE, &old) != 0)
        bail("setup");
    signal(SIGXFSZ, SIG_IGN);
    small = old;
    small.rlim_cur = 20000; /* packed, 20000 events take some 60 kB */
    if (setrlimit(RLIMIT_FSIZE, &small) != 0
        || evprof_trace_writer_open(path, &w) != 0)
        bail("setup");
    is_int(0, evprof_stream_start(w, b, NULL, &s), "stream into 20 kB");
    for (i = 0; i < 20000; i++)
        evprof_log(b, 0, 0, EVPROF_CALL, i, 0);
    is_int(-EFBIG, evprof_stream_flush(s), "flush: -EFBIG");
    for (; i < 30000; i++)
        evprof_log(b, 0, 0, EVPROF_CALL, i, 0);
    rc = evprof_stream_stop(s, &st);
    is_int(-EFBIG, rc, "stop: -EFBIG, and we are alive");
    ok(st.error == -EFBIG && st.lost > 0 && st.events + st.lost == 30000,
       "%" PRIu64 " written, %" PRIu64 " counted lost", st.events, st.lost);
    is_int(-EFBIG, evprof_trace_writer_close(w), "close: -EFBIG");
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    is_int(0, evprof_buffer_count(b), "the buffer was drained all the same");
    evprof_buffer_free(b);
    rc = read_back(&rb, NULL, 0, msg, sizeof(msg));
    ok(rc == -ENODATA && rb.events == st.events && rb.out_of_order == 0,
       "the file: the %" PRIu64 " events written, then -ENODATA: %s",
       rb.events, msg);

    b = evprof_buffer_new(1000, EVPROF_GROW);
    if (b == NULL)
        bail("setup");
    if (evprof_trace_writer_open("/dev/full", &w) == 0) {
        is_int(-ENOSPC, evprof_stream_start(w, b, NULL, &s),
               "a stream into /dev/full: -ENOSPC at the start");
        is_int(-ENOSPC, evprof_trace_writer_close(w), "and at close");
    } else {
        skip("no /dev/full");
        skip("no /dev/full");
    }
    evprof_buffer_free(b);
}

/* fork() while streaming: the stream is inert in the child, whose events
 * stay in its own memory; the parent's file knows nothing of them. */
static evprof_buffer *fb;
static evprof_trace_writer *fw;
static evprof_stream *fs;

static void fork_child(void)
{
    evprof_event ev[64];
    size_t n, mine = 0, i;
    int j, code = 0;

    alarm(20);
    for (j = 0; j < 1000; j++)
        evprof_log(fb, 999, 0, EVPROF_CALL, j, 0);
    while ((n = evprof_buffer_dump(fb, ev, 64)) > 0)
        for (i = 0; i < n; i++)
            mine += ev[i].id_frame == 999;
    if (mine != 1000)
        code |= 1;
    if (evprof_stream_flush(fs) != -ESRCH)
        code |= 2;
    if (evprof_stream_stop(fs, NULL) != -ESRCH)
        code |= 4;
    /* What exit() would do (the TAP harness's atexit must not run here):
     * stdio flushes the writer's FILE, which holds nothing of the
     * parent's. */
    fflush(NULL);
    _exit(code);
}

static void forked(void)
{
    uint64_t each = slow ? 20000 : 200000;
    struct readback rb;
    int status = -1, rc;
    pid_t pid;

#if defined(__SANITIZE_ADDRESS__)
    /* GCC's AddressSanitizer keeps its allocator's locks across fork(): a
     * child forked while another thread allocates can hang in malloc (the
     * child is killed by its alarm). */
    for (rc = 0; rc < 5; rc++)
        skip("fork while threads allocate, under AddressSanitizer");
    return;
#endif
    fb = evprof_buffer_new(500, EVPROF_GROW);
    if (fb == NULL || evprof_trace_writer_open(path, &fw) != 0)
        bail("setup");
    is_int(0, evprof_stream_start(fw, fb, NULL, &fs), "stream");
    start_loggers(fb, 1, each);
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        fork_child();
    join_loggers(1);
    rc = pid > 0 && waitpid(pid, &status, 0) == pid;
    ok(rc && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "the child logged to its own memory, and its stream said -ESRCH "
       "(status %d)", status);
    is_int(0, evprof_stream_stop(fs, NULL), "the parent's stream stops");
    is_int(0, evprof_trace_writer_close(fw), "closed");
    evprof_buffer_free(fb);
    rc = read_back(&rb, NULL, 0, NULL, 0);
    ok(rc == 0 && rb.events == each
       && rb.out_of_order == 0 && rb.strangers == 0,
       "the parent's file: its %" PRIu64 " events, none of the child's",
       rb.events);
}

/* A process streaming, killed: its file is read up to the last complete
 * section. */
static void killed(void)
{
    int fd[2], status;
    char c = 0, msg[256];
    struct readback rb;
    pid_t pid;
    int rc;

    if (pipe(fd) != 0)
        bail("pipe");
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        evprof_stream_options opt = {0, 2, 0};
        evprof_trace_writer *w;
        evprof_stream *s;
        evprof_buffer *b = evprof_buffer_new(1000, EVPROF_GROW);
        int64_t i;

        alarm(60);
        if (b == NULL || evprof_trace_writer_open(path, &w) != 0
            || evprof_stream_start(w, b, &opt, &s) != 0)
            _exit(1);
        for (i = 0;; i++) {
            evprof_log(b, 0, 0, EVPROF_CALL, i, 0);
            if (i == 50000 && (evprof_stream_flush(s) != 0
                               || write(fd[1], "x", 1) != 1))
                _exit(2);
        }
    }
    close(fd[1]);
    ok(pid > 0 && read(fd[0], &c, 1) == 1, "the child streams");
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    close(fd[0]);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "killed");
    rc = read_back(&rb, NULL, 0, msg, sizeof(msg));
    ok(rc == -ENODATA && rb.events > 50000 && rb.out_of_order == 0
       && rb.backwards == 0, "%" PRIu64 " events in order, then -ENODATA",
       rb.events);
    ok(strstr(msg, "truncated at offset") != NULL
       && strstr(msg, "no END section") != NULL, "%s", msg);
}

/*
 * evprof_stream_before_drain: the logger announces each key before it
 * logs it, the hook names every key announced; read back one event at a
 * time, each event's name is known when it is.
 */
static int64_t announced; /* atomic: keys 1..announced may be logged */
static int64_t named;     /* the hook's own */
static unsigned hook_calls;

static void name_keys(void *ctx, evprof_trace_writer *w)
{
    int64_t upto = __atomic_load_n(&announced, __ATOMIC_ACQUIRE);
    char text[32];

    *(int *)ctx += 1;
    for (; named < upto; named++) {
        evprof_trace_name n = {named + 1, EVPROF_NAME_OTHER, 0, text, "m",
                               ""};

        snprintf(text, sizeof(text), "k%" PRId64, named + 1);
        if (evprof_trace_write_names(w, &n, 1) != 0)
            break;
    }
    hook_calls++;
}

static void names_first(void)
{
    const int64_t total = slow ? 20000 : 200000;
    evprof_buffer *b = evprof_buffer_new(1000, EVPROF_GROW);
    evprof_stream_options opt = {0, 1, 0};
    evprof_trace_writer *w;
    evprof_trace_reader *r;
    evprof_trace_name nm;
    evprof_stream *s;
    evprof_event ev;
    int64_t k, n, read = 0, missing = 0;
    int calls = 0;

    if (b == NULL || evprof_trace_writer_open(path, &w) != 0
        || evprof_stream_start(w, b, &opt, &s) != 0)
        bail("setup");
    is_int(0, evprof_stream_before_drain(s, name_keys, &calls),
           "before_drain set");
    is_int(-EINVAL, evprof_stream_before_drain(NULL, name_keys, NULL),
           "before_drain of NULL");
    for (k = 1; k <= total; k++) {
        if (k % 100 == 1)
            __atomic_store_n(&announced, k + 99, __ATOMIC_RELEASE);
        if (evprof_log(b, k, 0, EVPROF_CALL, 0, 0) != 0)
            break;
        if (k % 10000 == 0 && evprof_stream_flush(s) != 0)
            break;
    }
    is_int(0, evprof_stream_stop(s, NULL), "stopped");
    is_int(0, evprof_trace_writer_close(w), "closed");
    if (evprof_trace_reader_open(path, &r) != 0)
        bail("reopen");
    while ((n = evprof_trace_read_events(r, &ev, NULL, 1)) == 1) {
        read++;
        if (evprof_trace_reader_find_name(r, ev.id_frame, &nm) != 0)
            missing++;
    }
    ok(n == 0 && read == total && missing == 0,
       "%" PRId64 " events, each named before it (%" PRId64 " not)", read,
       missing);
    ok(calls > 1 && (unsigned)calls == hook_calls,
       "the hook ran at each drain (%d times) with its context", calls);
    evprof_trace_reader_close(r);
    evprof_buffer_free(b);
}

static void refusals(void)
{
    evprof_buffer *ring = evprof_buffer_new(100, EVPROF_RING);
    evprof_buffer *drop = evprof_buffer_new(100, EVPROF_DROP);
    evprof_buffer *big = evprof_buffer_new((size_t)1 << 20, EVPROF_GROW);
    evprof_buffer *b = evprof_buffer_new(100, EVPROF_GROW);
    evprof_buffer *b2 = evprof_buffer_new(100, EVPROF_GROW);
    evprof_stream_options roomy = {(size_t)128 << 20, 0, 0};
    evprof_trace_writer *w, *w2;
    evprof_stream *s, *s2;

    if (!ring || !drop || !big || !b || !b2
        || evprof_trace_writer_open(path, &w) != 0)
        bail("setup");
    is_int(-EINVAL, evprof_stream_start(NULL, b, NULL, &s), "no writer");
    is_int(-EINVAL, evprof_stream_start(w, NULL, NULL, &s), "no buffer");
    is_int(-EINVAL, evprof_stream_start(w, b, NULL, NULL), "no out");
    is_int(-EINVAL, evprof_stream_start(w, ring, NULL, &s), "RING refused");
    is_int(-EINVAL, evprof_stream_start(w, drop, NULL, &s), "DROP refused");
    is_int(-EINVAL, evprof_stream_start(w, big, NULL, &s),
           "chunks of 48 MiB under a 32 MiB budget refused");
    is_int(0, evprof_stream_start(w, big, &roomy, &s) == 0
              ? evprof_stream_stop(s, NULL) : -1,
           "under a 128 MiB budget: 2 chunks fit");
    is_int(0, evprof_stream_start(w, b, NULL, &s), "started");
    is_int(-EBUSY, evprof_stream_start(w, b2, NULL, &s2),
           "a second stream into the writer: -EBUSY");
    if (evprof_trace_writer_open("/dev/null", &w2) != 0)
        bail("setup");
    is_int(-EBUSY, evprof_stream_start(w2, b, NULL, &s2),
           "a second stream of the buffer: -EBUSY");
    is_int(0, evprof_stream_stop(s, NULL), "stopped");
    is_int(0, evprof_stream_start(w2, b, NULL, &s2) == 0
              ? evprof_stream_stop(s2, NULL) : -1, "then it can be streamed");
    is_int(-EINVAL, evprof_stream_flush(NULL), "flush NULL");
    is_int(-EINVAL, evprof_stream_stop(NULL, NULL), "stop NULL");
    ok(evprof_stream_capacity((size_t)4 << 20, 4) * 48 * 16 <= (size_t)4 << 20
       && evprof_stream_capacity((size_t)4 << 20, 4) > 1000
       && evprof_stream_capacity(10, 4) == 1, "evprof_stream_capacity");
    evprof_trace_writer_close(w);
    evprof_trace_writer_close(w2);
    evprof_buffer_free(ring);
    evprof_buffer_free(drop);
    evprof_buffer_free(big);
    evprof_buffer_free(b);
    evprof_buffer_free(b2);
}

int main(void)
{
    slow = getenv("EVPROF_TEST_FORKS") != NULL;
    if (mkdtemp(dir) == NULL)
        bail("mkdtemp");
    snprintf(path, sizeof(path), "%s/t.evt", dir);
    plan(13 + 6 + 10 + 5 + 9 + 5 + 4 + 6 + 15);
    big();
    grow_past();
    flush();
    with_dump();
    write_error();
    forked();
    killed();
    names_first();
    refusals();
    unlink(path);
    rmdir(dir);
    return 0;
}
