/*
 * native.c: libevprof-malloc.so, preloaded into t/native-prog with
 * EVPROF_OUTPUT: each of its marker allocations is in the trace once, with
 * its event, domain and size; the frees pair with them; the mapping and
 * its unmapping are there; the thread's are on their own thread; and the
 * domain names.
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evprof.h"
#include "tap.h"

#if defined(__SANITIZE_ADDRESS__)
# define UNDER_ASAN 1
#elif defined(__has_feature)
# if __has_feature(address_sanitizer)
#  define UNDER_ASAN 1
# endif
#endif

#define NMARK 10

static const struct mark {
    int64_t event, size;
    const char *what;
} marks[NMARK] = {
    { EVPROF_MALLOC, 100003, "malloc" },
    { EVPROF_CALLOC, 100051, "calloc (nelem * elsize)" },
    { EVPROF_REALLOC, 200017, "realloc" },
    { EVPROF_MALLOC, 100057, "posix_memalign" },
    { EVPROF_MALLOC, 100096, "aligned_alloc" },
    { EVPROF_MALLOC, 100069, "memalign" },
    { EVPROF_MALLOC, 100103, "valloc" },
    { EVPROF_MALLOC, 100109, "malloc in a thread" },
    { EVPROF_MALLOC, 1 << 20, "mmap" },
    { EVPROF_FREE, -(1 << 20), "munmap" },
};

static void test_domains(void)
{
    is_string("raw", evprof_domain_name(EVPROF_DOMAIN_RAW), "domain raw");
    is_string("native", evprof_domain_name(EVPROF_DOMAIN_NATIVE),
              "domain native");
    is_string("mmap", evprof_domain_name(EVPROF_DOMAIN_MMAP), "domain mmap");
    ok(evprof_domain_name(EVPROF_DOMAIN_COUNT) == NULL
       && evprof_domain_name(-1) == NULL, "unknown domains have no name");
    is_int(EVPROF_DOMAIN_NUMPY, evprof_domain_code("numpy"),
           "numpy by name");
    is_int(-EINVAL, evprof_domain_code("heap"), "an unknown name: -EINVAL");
    is_int(-EINVAL, evprof_domain_code(NULL), "NULL: -EINVAL");
}

/* Runs prog with the library preloaded and EVPROF_OUTPUT=out; its exit
 * status, its stdout in `said`. */
static int run(const char *prog, const char *lib, const char *out,
               char *said, size_t len)
{
    int fd[2], status;
    ssize_t n;
    pid_t pid;

    if (pipe(fd) != 0 || (pid = fork()) < 0)
        bail("pipe/fork");
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        setenv("LD_PRELOAD", lib, 1);
        setenv("EVPROF_OUTPUT", out, 1);
        execl(prog, prog, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    n = read(fd[0], said, len - 1);
    said[n > 0 ? n : 0] = '\0';
    close(fd[0]);
    if (waitpid(pid, &status, 0) != pid)
        bail("waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* valgrind's count of heap allocations of prog ("total heap usage: N
 * allocs"), or -1 when valgrind cannot be run. */
static long valgrind_allocs(const char *prog)
{
    char cmd[PATH_MAX + 128], line[512];
    long n = -1;
    FILE *f;

    snprintf(cmd, sizeof(cmd), "valgrind --log-fd=1 '%s' 2>/dev/null", prog);
    if ((f = popen(cmd, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        const char *at = strstr(line, "total heap usage: ");
        char *end;

        if (at != NULL) {
            n = strtol(at + 18, &end, 10);
            if (strncmp(end, " allocs", 7) != 0)
                n = -1;
        }
    }
    if (pclose(f) != 0)
        return -1;
    return n;
}

struct seen {
    int count[NMARK];
    int64_t ptr[NMARK];
    int64_t live[NMARK]; /* the block while it is not freed, else 0 */
    uint32_t thread[NMARK];
    int freed[NMARK];
    int moved; /* realloc_free events of the realloc's old block */
    long allocs; /* of the malloc family (not mmap) */
    uint64_t other_domain;
};

static void scan(evprof_trace_reader *r, struct seen *s)
{
    evprof_event ev[1024];
    uint32_t th[1024];
    ssize_t n, i;
    int k;

    memset(s, 0, sizeof(*s));
    while ((n = evprof_trace_read_events(r, ev, th, 1024)) > 0) {
        for (i = 0; i < n; i++) {
            const evprof_event *e = &ev[i];

            if (e->id_arg != EVPROF_DOMAIN_NATIVE
                && e->id_arg != EVPROF_DOMAIN_MMAP) {
                s->other_domain++;
                continue;
            }
            for (k = 0; k < NMARK; k++) {
                if (marks[k].event == e->event
                    && marks[k].size == e->value2
                    && (e->id_arg == EVPROF_DOMAIN_MMAP) == (k >= 8)) {
                    s->count[k]++;
                    s->ptr[k] = s->live[k] = e->value1;
                    s->thread[k] = th[i];
                }
            }
            if (e->event == EVPROF_FREE)
                for (k = 0; k < 8; k++)
                    if (s->live[k] != 0 && e->value1 == s->live[k]) {
                        s->freed[k]++;
                        s->live[k] = 0;
                    }
            if (e->event == EVPROF_REALLOC_FREE)
                s->moved++;
            if (e->id_arg == EVPROF_DOMAIN_NATIVE
                && (e->event == EVPROF_MALLOC || e->event == EVPROF_CALLOC
                    || e->event == EVPROF_REALLOC))
                s->allocs++;
        }
    }
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/evprof-native-XXXXXX", file[PATH_MAX + 64];
    char prog[PATH_MAX], lib[PATH_MAX], out[PATH_MAX + 16], said[64];
    const char *slash;
    evprof_trace_reader *r;
    struct seen s;
    int k, rc;

    (void)argc;
    plan(7 + 5 + 3 * NMARK + 8);
    test_domains();
#ifdef UNDER_ASAN
    for (k = 0; k < 5 + 3 * NMARK + 8; k++)
        skip("preloading into a program needs the sanitizer runtime first");
    return 0;
#endif
    if (mkdtemp(dir) == NULL)
        bail("mkdtemp");
    slash = strrchr(argv[0], '/');
    snprintf(file, sizeof(file), "%.*snative-prog",
             slash ? (int)(slash - argv[0] + 1) : 0, argv[0]);
    if (realpath(file, prog) == NULL)
        bail("no %s", file);
    snprintf(file, sizeof(file), "%.*s../lib/.libs/libevprof-malloc.so",
             slash ? (int)(slash - argv[0] + 1) : 0, argv[0]);
    if (realpath(file, lib) == NULL)
        bail("no %s", file);
    snprintf(out, sizeof(out), "%s/p.evt", dir);

    rc = run(prog, lib, out, said, sizeof(said));
    is_int(0, rc, "the program runs under the preload");
    is_string("done\n", said, "and says what it says alone");
    rc = evprof_trace_reader_open(out, &r);
    is_int(0, rc, "its trace reads back");
    if (rc != 0)
        bail("no trace: %s", evprof_strerror(rc));
    scan(r, &s);
    is_int(0, evprof_trace_reader_finish(r), "to its end");
    ok(evprof_trace_reader_thread_count(r) >= 2, "with both threads");
    for (k = 0; k < NMARK; k++) {
        is_int(1, s.count[k], "%s: logged once", marks[k].what);
        ok(s.ptr[k] != 0, "%s: with its block", marks[k].what);
        if (k < 8)
            is_int(1, s.freed[k], "%s: freed once", marks[k].what);
        else
            ok(s.thread[k] == s.thread[0], "%s: on the main thread",
               marks[k].what);
    }
    ok(s.thread[7] != s.thread[0], "the thread's malloc is on its own "
       "thread");
    ok(s.thread[1] == s.thread[0] && s.thread[2] == s.thread[0],
       "the others on the main thread");
    ok(s.moved >= 1, "the realloc that moved says which block it freed");
    is_int(0, (int64_t)s.other_domain, "no event of another domain");
    evprof_trace_reader_close(r);
    {
        long vg = valgrind_allocs(prog);

        if (vg < 0)
            skip("valgrind cannot be run here");
        else
            is_int(vg, s.allocs, "as many allocations as valgrind counts");
    }

    /* Without EVPROF_OUTPUT the preload records nothing, silently. */
    unsetenv("EVPROF_OUTPUT");
    snprintf(out, sizeof(out), "%s/none.evt", dir);
    {
        pid_t pid = fork();
        int status;

        if (pid == 0) {
            setenv("LD_PRELOAD", lib, 1);
            execl(prog, prog, (char *)NULL);
            _exit(127);
        }
        waitpid(pid, &status, 0);
        ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "without EVPROF_OUTPUT the program runs");
    }
    ok(access(out, F_OK) != 0, "and no file is written");
    unlink(out);
    snprintf(out, sizeof(out), "%s/p.evt", dir);
    unlink(out);
    rmdir(dir);
    ok(1, "cleaned up");
    return 0;
}
