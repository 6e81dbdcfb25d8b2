/*
 * _monitoring.h: what the sys.monitoring backend's two files share: its
 * callbacks and their keys (_monitoring.c), its tool id and their
 * registration (_monitoring_tool.c).
 */
#ifndef EVPROF_PY_MONITORING_H
#define EVPROF_PY_MONITORING_H 1

#include "_core.h"

/* The frame record that _monitoring.c reads is the one of 3.12, 3.13 and
 * 3.14: a later version falls back to the profile function until it is
 * checked. */
#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030F0000
# define EVP_MONITORING 1
#else
# define EVP_MONITORING 0
#endif

#if EVP_MONITORING

/* The events registered, one callback each. */
enum {
    EV_PY_START, EV_PY_RESUME, EV_PY_THROW, EV_PY_RETURN, EV_PY_YIELD,
    EV_PY_UNWIND, EV_CALL, EV_C_RETURN, EV_C_RAISE, N_EV
};

/* The callback type ready, sys.monitoring.MISSING kept: 0, or -1 with an
 * exception. */
int evp_mon_callbacks_ready(PyObject *mon);
/* A new callback of self for the event ev (EV_*), or NULL. */
PyObject *evp_mon_callback_new(Profiler *self, int ev);
/* Whether cb is a callback of self. */
int evp_mon_callback_of(PyObject *cb, const Profiler *self);
/* A start: the calling thread marked as the one that starts self's run,
 * of every thread or of this one only. */
void evp_mon_mark_run(Profiler *self, int all_threads);
/* The address of the interpreter's own variable that holds the calling
 * thread's state, valid for this thread's life, or NULL where it cannot
 * be told for sure (PyThreadState_GetUnchecked is called then). */
PyThreadState *const *evp_mon_tstate_slot(void);

#endif
#endif
