/*
 * _runs.c: which profiler records each thread's calls, for the gates
 * (_gate.c): a gate called while a profiler records its thread sets that
 * run aside (end()) before its Python half runs, so that no frame of
 * evprof lands on that timeline, and begins it again after, unless the
 * call started a run of its own (which then resumes the one it paused
 * when it stops).
 *
 * A run is noted under the thread that began it, as the Python layer
 * pauses only a profiler started in the calling thread; the list holds a
 * reference to each profiler, given back when its run ends, from
 * whichever thread.  Runs beyond RUNS at once are not noted: their
 * threads' gates then leave them on.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_core.h"

#define RUNS 64

static struct {
    unsigned long thread;
    Profiler *prof;
} runs[RUNS];
static evp_lock runs_lock = EVP_LOCK_INIT;

void evp_runs_began(Profiler *prof)
{
    unsigned long me = PyThread_get_thread_ident();
    int i;

    evp_lock_take(&runs_lock);
    for (i = 0; i < RUNS; i++)
        if (runs[i].prof == NULL) {
            Py_INCREF(prof);
            runs[i].thread = me;
            runs[i].prof = prof;
            break;
        }
    evp_lock_give(&runs_lock);
}

void evp_runs_ended(Profiler *prof)
{
    Profiler *drop = NULL;
    int i;

    evp_lock_take(&runs_lock);
    for (i = 0; i < RUNS; i++)
        if (runs[i].prof == prof) {
            drop = prof;
            runs[i].prof = NULL;
            break;
        }
    evp_lock_give(&runs_lock);
    /* The caller holds a reference too: this is never the last. */
    Py_XDECREF(drop);
}

Profiler *evp_runs_here(void)
{
    unsigned long me = PyThread_get_thread_ident();
    Profiler *found = NULL;
    int i;

    evp_lock_take(&runs_lock);
    for (i = 0; i < RUNS; i++)
        if (runs[i].prof != NULL && runs[i].thread == me) {
            found = runs[i].prof;
            Py_INCREF(found);
            break;
        }
    evp_lock_give(&runs_lock);
    return found;
}

/* In a forked child: the runs of the threads it lacks are over (the
 * forking thread's profiler forgets its own in after_fork()). */
void evp_runs_after_fork(void)
{
    unsigned long me = PyThread_get_thread_ident();
    int i;

    runs_lock = (evp_lock)EVP_LOCK_INIT;
    for (i = 0; i < RUNS; i++)
        if (runs[i].prof != NULL && runs[i].thread != me)
            Py_CLEAR(runs[i].prof);
}
