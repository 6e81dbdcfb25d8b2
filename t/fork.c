/* fork() while another thread holds a buffer's lock (dumping): the child
 * can still log and dump, and the parent carries on. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <evprof.h>

#include "tap.h"

/* Fewer under valgrind (check-valgrind sets it), which runs one thread at
 * a time and makes each fork slow. */
static int forks(void)
{
    const char *s = getenv("EVPROF_TEST_FORKS");
    return s != NULL && atoi(s) > 0 ? atoi(s) : 200;
}

static evprof_buffer *b;
static int stop;

static void *dumper(void *arg)
{
    evprof_event e[4];

    (void)arg;
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        evprof_log(b, 1, 0, EVPROF_CALL, 0, 0);
        (void)evprof_buffer_dump(b, e, 4);
        sched_yield();
    }
    return NULL;
}

int main(void)
{
    pthread_t tid;
    evprof_event e[8];
    int i, clean = 0, status, nforks = forks();

    plan(3);
    /* Capacity 1: every second log takes the locked slow path. */
    b = evprof_buffer_new(1, EVPROF_GROW);
    if (b == NULL || pthread_create(&tid, NULL, dumper, NULL) != 0)
        bail("setup failed");
    for (i = 0; i < nforks; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            size_t n = 0;
            int j;

            alarm(10);  /* a deadlock ends as SIGALRM, not a hang */
            for (j = 0; j < 5; j++)
                evprof_log(b, 2, 0, EVPROF_CALL, j, 0);
            while (evprof_buffer_dump(b, e, 8) > 0)
                n++;
            _exit(n > 0 ? 0 : 3);
        }
        if (pid < 0)
            break;
        if (waitpid(pid, &status, 0) == pid && WIFEXITED(status)
            && WEXITSTATUS(status) == 0)
            clean++;
    }
    is_int(nforks, clean, "%d children logged and dumped without deadlock",
           nforks);
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    pthread_join(tid, NULL);
    is_int(0, evprof_log(b, 3, 0, EVPROF_CALL, 0, 0), "parent still logs");
    ok(evprof_buffer_dump(b, e, 8) > 0, "and dumps");
    evprof_buffer_free(b);
    return 0;
}
