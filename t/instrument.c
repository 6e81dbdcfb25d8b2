/*
 * The evprof-instrument library: this test is itself built with
 * -finstrument-functions.  The API (errors, a recording, names), then
 * t/instr-prog run with EVPROF_OUTPUT: plain, exit() from a thread, a
 * thread exiting mid-call, fork(), ended by SIGTERM, SIGINT, SIGKILL; then
 * instrumented shared objects (t/instr-plugin*.so) loaded with dlopen by a
 * program that is not instrumented (t/instr-host) and by one that is.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <evprof/instrument.h>

#include "tap.h"
#include "trace-check.h"

static char dir[] = "/tmp/evprof-instr-XXXXXX";
static char prog[PATH_MAX], host[PATH_MAX], plugin[PATH_MAX],
    bare[PATH_MAX];

__attribute__((noinline)) int square(int x);
__attribute__((noinline)) int square(int x)
{
    return x * x;
}

__attribute__((noinline)) static int sum_squares(int n)
{
    int i, s = 0;

    for (i = 0; i < n; i++)
        s += square(i);
    return s;
}

static void *worker(void *arg)
{
    *(int *)arg = sum_squares(50);
    return NULL;
}

/* Runs `exe` with arguments a1, a2 (or NULL) and EVPROF_OUTPUT=out; its
 * exit status (128 + the signal that killed it). */
static int run_exe(const char *exe, const char *a1, const char *a2,
                   const char *out)
{
    pid_t pid = fork();
    int status;

    if (pid < 0)
        bail("fork");
    if (pid == 0) {
        setenv("EVPROF_OUTPUT", out, 1);
        execl(exe, exe, a1, a2, (char *)NULL);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) != pid)
        bail("waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The META value of `key` in the trace at path, copied; "" if none. */
static const char *meta_of(const char *path, const char *key)
{
    static char value[1024];
    evprof_trace_reader *r;
    const char *v = NULL;

    value[0] = '\0';
    if (evprof_trace_reader_open(path, &r) == 0
        && evprof_trace_reader_finish(r) == 0)
        v = evprof_trace_reader_meta(r, key);
    snprintf(value, sizeof(value), "%s", v ? v : "");
    evprof_trace_reader_close(r);
    return value;
}

/* Shared objects loaded with dlopen. */
static void plugins(void)
{
    struct trace_calls st;
    char path[PATH_MAX], msg[512], file[512];
    int line = 0, good;

    snprintf(path, sizeof(path), "%s/plugin.evt", dir);
    is_int(0, run_exe(host, plugin, NULL, path),
           "plugin with its own copy, in a program that is not "
           "instrumented: ran");
    good = trace_check_calls(path, &st, msg, sizeof(msg)) == 0;
    ok(good && st.calls > 0, "its calls are recorded (%llu)",
       (unsigned long long)st.calls);
    if (!good)
        diag("%s", msg);
    ok(trace_find_function(path, "plugin_fib", file, sizeof(file), &line)
       == 0, "plugin_fib is named");
    ok(strstr(meta_of(path, "scope"), "only the calls of") != NULL,
       "the trace says it holds the plugin's calls only: %s",
       meta_of(path, "scope"));
    is_string("", meta_of(path, "warning"), "no warning");

    snprintf(path, sizeof(path), "%s/plugin-closed.evt", dir);
    is_int(128 + SIGTERM, run_exe(host, plugin, "close", path),
           "unloaded, then SIGTERM: killed by it (no handler left in "
           "unmapped code)");
    ok(trace_find_function(path, "plugin_fib", file, sizeof(file), &line)
       == 0, "the trace was written at dlclose, plugin_fib named");

    snprintf(path, sizeof(path), "%s/prog-plugin.evt", dir);
    is_int(0, run_exe(prog, "dlopen", plugin, path),
           "plugin with its own copy, in an instrumented program: ran, its "
           "copy's start gives -EEXIST");
    good = trace_check_calls(path, &st, msg, sizeof(msg)) == 0;
    ok(good, "one trace, well-formed (%llu calls)",
       (unsigned long long)st.calls);
    if (!good)
        diag("%s", msg);
    ok(trace_find_function(path, "plugin_fib", file, sizeof(file), &line)
       == 0 && trace_find_function(path, "fib", file, sizeof(file), &line)
       == 0, "the plugin's calls (named after dlclose) and the program's");
    is_string("", meta_of(path, "scope"), "the whole process: no scope");

    snprintf(path, sizeof(path), "%s/prog-bare.evt", dir);
    is_int(0, run_exe(prog, "dlopen", bare, path),
           "plugin without a copy, in an instrumented program: ran");
    ok(trace_find_function(path, "plugin_fib", file, sizeof(file), &line)
       == 0, "its functions are named, though unloaded before the trace "
       "was written (%s)", file[0] ? file : "no source file");

    snprintf(path, sizeof(path), "%s/nothing.evt", dir);
    is_int(0, run_exe(host, bare, NULL, path),
           "plugin without a copy, in a program without one: ran");
    ok(access(path, F_OK) != 0, "nothing recorded, no file: nothing "
       "of evprof-instrument is loaded");
}

/* Runs instr-prog `mode` with EVPROF_OUTPUT=out; its exit status. */
static int run(const char *mode, const char *out)
{
    pid_t pid = fork();
    int status;

    if (pid < 0)
        bail("fork");
    if (pid == 0) {
        setenv("EVPROF_OUTPUT", out, 1);
        execl(prog, prog, mode, (char *)NULL);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) != pid)
        bail("waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * Runs instr-prog `mode` with EVPROF_OUTPUT=out, with SIGINT ignored when
 * `ignore_int`; once it says "ready", sends it `sig` (and `sig2` if not
 * 0).  Its exit status (128 + the signal that killed it); what it said
 * after "ready" in said[].
 */
static int run_killed(const char *mode, const char *out, int ignore_int,
                      int sig, int sig2, char *said, size_t len)
{
    int fd[2], status;
    size_t n = 0;
    ssize_t k;
    char c;
    pid_t pid;

    if (pipe(fd) != 0)
        bail("pipe");
    pid = fork();
    if (pid < 0)
        bail("fork");
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        /* A test run from a background job inherits SIGINT ignored. */
        signal(SIGINT, ignore_int ? SIG_IGN : SIG_DFL);
        setenv("EVPROF_OUTPUT", out, 1);
        execl(prog, prog, mode, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    /* "ready\n" */
    while (read(fd[0], &c, 1) == 1 && c != '\n')
        ;
    kill(pid, sig);
    if (sig2)
        kill(pid, sig2);
    while (n + 1 < len && (k = read(fd[0], said + n, len - 1 - n)) > 0)
        n += (size_t)k;
    said[n] = '\0';
    close(fd[0]);
    if (waitpid(pid, &status, 0) != pid)
        bail("waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The number of files in dir. */
static int count_files(const char *d)
{
    char cmd[PATH_MAX + 32];
    FILE *p;
    int n = 0;

    snprintf(cmd, sizeof(cmd), "ls -A '%s'", d);
    p = popen(cmd, "r");
    while (p != NULL && fgets(cmd, sizeof(cmd), p) != NULL)
        n++;
    if (p != NULL)
        pclose(p);
    return n;
}

static void check(const char *what, const char *path, int want_open,
                  int want_threads)
{
    struct trace_calls st;
    char msg[512], file[512];
    int line = 0;

    if (!ok(trace_check_calls(path, &st, msg, sizeof(msg)) == 0,
            "%s: a well-formed trace, calls balanced and nested", what))
        diag("%s", msg);
    diag("%s: %llu events, %llu calls, %llu returns, %llu open, %llu "
         "orphan returns, %llu threads, depth %llu", what,
         (unsigned long long)st.events, (unsigned long long)st.calls,
         (unsigned long long)st.returns, (unsigned long long)st.open,
         (unsigned long long)st.orphans, (unsigned long long)st.threads,
         (unsigned long long)st.max_depth);
    ok(want_open ? st.open > 0 : st.open == 0, "%s: %s calls open at the "
       "end", what, want_open ? "some" : "no");
    ok(st.threads >= (uint64_t)want_threads, "%s: %d threads or more", what,
       want_threads);
    file[0] = '\0';
    line = trace_find_function(path, "fib", file, sizeof(file), &line) == 0
        ? line : -1;
    ok(line >= 0, "%s: fib is named (%s:%d)", what, file, line);
}

int main(int argc, char **argv)
{
    char path[PATH_MAX], bad[PATH_MAX], pat[PATH_MAX];
    struct trace_calls st;
    char msg[512], file[512];
    evprof_trace_reader *r;
    pthread_t t;
    int res = 0, line = 0;
    const char *slash;

    (void)argc;
    plan(49 + 4 * 5 + 1 + 4 + 15);
    if (mkdtemp(dir) == NULL)
        bail("mkdtemp");
    slash = strrchr(argv[0], '/');
    snprintf(file, sizeof(file), "%.*sinstr-prog",
             slash ? (int)(slash - argv[0] + 1) : 0, argv[0]);
    if (realpath(file, prog) == NULL)
        bail("no %s", file);
    snprintf(file, sizeof(file), "%.*sinstr-host",
             slash ? (int)(slash - argv[0] + 1) : 0, argv[0]);
    if (realpath(file, host) == NULL)
        bail("no %s", file);
    snprintf(file, sizeof(file), "%.*s.libs/instr-plugin.so",
             slash ? (int)(slash - argv[0] + 1) : 0, argv[0]);
    if (realpath(file, plugin) == NULL)
        bail("no %s", file);
    snprintf(file, sizeof(file), "%.*s.libs/instr-plugin-bare.so",
             slash ? (int)(slash - argv[0] + 1) : 0, argv[0]);
    if (realpath(file, bare) == NULL)
        bail("no %s", file);
    snprintf(path, sizeof(path), "%s/api.evt", dir);

    /* Errors. */
    is_int(0, evprof_instrument_running(), "not running at first");
    is_int(-ESRCH, evprof_instrument_stop(), "stop before start: -ESRCH");
    is_int(-EINVAL, evprof_instrument_start(NULL), "start(NULL): -EINVAL");
    is_int(-EINVAL, evprof_instrument_start(""), "start(\"\"): -EINVAL");
    snprintf(bad, sizeof(bad), "%s/no/such/dir.evt", dir);
    is_int(-ENOENT, evprof_instrument_start(bad),
           "an unwritable path fails at start: -ENOENT");
    is_int(-EISDIR, evprof_instrument_start(dir), "a directory: -EISDIR");
    is_int(0, evprof_instrument_running(), "still not running");

    /* A recording through the API, two threads. */
    is_int(0, evprof_instrument_start(path), "start");
    is_int(-EBUSY, evprof_instrument_start(path), "start twice: -EBUSY");
    ok(evprof_instrument_running(), "running");
    pthread_create(&t, NULL, worker, &res);
    sum_squares(10);
    pthread_join(t, NULL);
    is_int(0, evprof_instrument_stop(), "stop writes the trace");
    is_int(-ESRCH, evprof_instrument_stop(), "stop twice: -ESRCH");
    square(3); /* not recorded */
    if (!ok(trace_check_calls(path, &st, msg, sizeof(msg)) == 0,
            "API: calls balanced and nested"))
        diag("%s", msg);
    /* sum_squares(10) + square x10, worker + sum_squares(50) + square x50 */
    is_int(10 + 1 + 50 + 1 + 1, (int64_t)st.calls, "API: every call seen");
    is_int(2, (int64_t)st.threads, "API: 2 threads");
    res = trace_find_function(path, "square", file, sizeof(file), &line);
    ok(res == 0, "square named (%s:%d)", file, line);
    if (evprof_trace_reader_open(path, &r) == 0
        && evprof_trace_reader_finish(r) == 0) {
        const char *res_name = evprof_trace_reader_meta(r, "resolver");

        is_string("evprof-instrument", evprof_trace_reader_meta(r, "source"),
                  "meta source");
        if (res_name != NULL && strcmp(res_name, "libdw") == 0)
            ok(strstr(file, "instrument.c") != NULL && line > 0,
               "libdw: square is in t/instrument.c, line %d", line);
        else
            skip("no libdw: no source files");
    } else {
        ok(0, "trace readable: %s", evprof_trace_reader_error(r));
        skip("no trace");
    }
    evprof_trace_reader_close(r);
    is_int(0, evprof_instrument_start(path), "restart after a stop");
    square(4);
    is_int(0, evprof_instrument_stop(), "stop again");
    ok(trace_check_calls(path, &st, msg, sizeof(msg)) == 0 && st.calls == 1,
       "the second recording holds only its own call (%llu)",
       (unsigned long long)st.calls);

    /* A bounded recording: the first 10 events of each thread. */
    is_int(0, evprof_instrument_set_limit(10), "limit: 10 events a thread");
    is_int(0, evprof_instrument_start(path), "start with a limit");
    is_int(-EBUSY, evprof_instrument_set_limit(0), "no new limit while "
           "recording: -EBUSY");
    sum_squares(20);
    is_int(0, evprof_instrument_stop(), "stop");
    if (evprof_trace_reader_open(path, &r) == 0
        && evprof_trace_reader_finish(r) == 0) {
        is_int(10, (int64_t)evprof_trace_reader_events(r), "10 events kept");
        /* sum_squares and 20 squares: 42 events. */
        is_int(32, (int64_t)evprof_trace_reader_lost(r), "32 counted lost");
    } else {
        ok(0, "trace readable: %s", evprof_trace_reader_error(r));
        skip("no trace");
    }
    evprof_trace_reader_close(r);
    /* A second bounded recording reports only its own losses. */
    is_int(0, evprof_instrument_start(path), "start again, same limit");
    sum_squares(20);
    is_int(0, evprof_instrument_stop(), "stop");
    if (evprof_trace_reader_open(path, &r) == 0
        && evprof_trace_reader_finish(r) == 0)
        is_int(32, (int64_t)evprof_trace_reader_lost(r),
               "32 lost again, not 64");
    else
        ok(0, "trace readable: %s", evprof_trace_reader_error(r));
    evprof_trace_reader_close(r);
    is_int(0, evprof_instrument_set_limit(0), "no limit again");

    /* Whole programs, started by EVPROF_OUTPUT.  plain changes directory:
     * a relative path is taken from where the program started. */
    if (chdir(dir) != 0)
        bail("chdir");
    is_int(0, run("plain", "plain.evt"), "plain: ran (relative path, chdir)");
    snprintf(path, sizeof(path), "%s/plain.evt", dir);
    check("plain", path, 0, 3);
    snprintf(path, sizeof(path), "%s/exit.evt", dir);
    is_int(0, run("exit-thread", path), "exit() from a thread: ran");
    check("exit() from a thread", path, 1, 2);
    snprintf(path, sizeof(path), "%s/texit.evt", dir);
    is_int(0, run("thread-exit", path), "pthread_exit mid-call: ran");
    check("pthread_exit mid-call", path, 1, 2);
    snprintf(path, sizeof(path), "%s/term.evt", dir);
    is_int(128 + SIGTERM, run_killed("wait", path, 0, SIGTERM, 0, msg,
                                     sizeof(msg)),
           "SIGTERM mid-run: the program dies of it");
    check("SIGTERM", path, 1, 2);
    snprintf(path, sizeof(path), "%s/int.evt", dir);
    is_int(128 + SIGINT, run_killed("wait", path, 0, SIGINT, 0, msg,
                                    sizeof(msg)),
           "SIGINT mid-run: the program dies of it");
    check("SIGINT", path, 1, 2);
    snprintf(path, sizeof(path), "%s/handler.evt", dir);
    is_int(42, run_killed("handler", path, 0, SIGTERM, 0, msg, sizeof(msg)),
           "SIGTERM, the program's own handler: it ran, exit status 42");
    is_string("handled\n", msg, "the program's handler was called");
    check("SIGTERM to a program with a handler", path, 1, 2);
    snprintf(path, sizeof(path), "%s/ignored.evt", dir);
    is_int(128 + SIGTERM, run_killed("wait", path, 1, SIGINT, SIGTERM, msg,
                                     sizeof(msg)),
           "SIGINT ignored by the program stays ignored; SIGTERM kills it");
    check("SIGINT ignored, then SIGTERM", path, 1, 2);
    /* An earlier trace at the path outlives a run that never ends well. */
    {
        char sub[PATH_MAX - 16];
        uint64_t before = 0;

        snprintf(sub, sizeof(sub), "%s/kill", dir);
        if (mkdir(sub, 0777) != 0)
            bail("mkdir %s", sub);
        snprintf(path, sizeof(path), "%s/kill.evt", sub);
        is_int(0, run("plain", path), "SIGKILL: an earlier trace written");
        if (trace_check_calls(path, &st, msg, sizeof(msg)) == 0)
            before = st.events;
        is_int(128 + SIGKILL, run_killed("wait", path, 0, SIGKILL, 0, msg,
                                         sizeof(msg)),
               "SIGKILL mid-run: killed");
        ok(trace_check_calls(path, &st, msg, sizeof(msg)) == 0
           && before > 0 && st.events == before,
           "the earlier trace is still there, whole (%llu events)",
           (unsigned long long)before);
        is_int(1, count_files(sub), "no temporary file left beside it");
        unlink(path);
        rmdir(sub);
    }
    plugins();
    snprintf(pat, sizeof(pat), "%s/fork-%%p.evt", dir);
    is_int(0, run("fork", pat), "fork: ran, the child exited cleanly");
    {
        char cmd[PATH_MAX + 64];
        FILE *p;
        int files = 0, good = 0;

        snprintf(cmd, sizeof(cmd), "ls %s/fork-*.evt", dir);
        p = popen(cmd, "r");
        while (p != NULL && fgets(path, sizeof(path), p) != NULL) {
            path[strcspn(path, "\n")] = '\0';
            files++;
            if (trace_check_calls(path, &st, msg, sizeof(msg)) == 0)
                good++;
            else
                diag("%s", msg);
        }
        if (p != NULL)
            pclose(p);
        is_int(2, files, "fork with %%p: parent and child each wrote a file");
        is_int(2, good, "fork: both are well-formed");
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            diag("cannot remove %s", dir);
    }
    return 0;
}
