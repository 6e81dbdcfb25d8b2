/*
 * _core.h: the profiler object of evprof._core and what its files share.
 *
 *   _core.c     the object, the logging path of the three impls, module
 *   _frames311.h  the frame objects of 3.11 out of the record (in _core.c)
 *   _registry.c code objects and builtins -> keys
 *   _results.c  the events, threads and keys taken out
 *   _events.c   the events read in place: into arrays, into a trace file
 *   _session.c  start and stop, atomic: begin/end/abort, fork
 *   _threads.c  our profile function in the thread states
 *   _memory.c   the allocator hooks on the PyMem domains
 *   _hooks.c    the callables given to sys.setprofile
 *   _monitoring.c  the sys.monitoring backend of impl 'c' (3.12, 3.13)
 *   _monitoring_tool.c  its tool id and the registration of its callbacks
 *   _sinks.c    the library's sinks: summary, Chrome JSON, Perfetto
 *   _floor.c    the benchmarks' floor hooks
 *   _writer.c   the trace file writer
 *   _stream.c   streaming into a trace file, names written as they appear
 *   _names.c    a key described for the file, in plain C memory
 *   _gate.c     start and stop methods that are no event, run_code
 */
#ifndef EVPROF_PY_CORE_H
#define EVPROF_PY_CORE_H 1

#include "_compat.h"
#include "_registry.h"

#include "evprof.h"

enum { DOM_RAW = 1, DOM_MEM = 2, DOM_OBJ = 4, DOM_ALL = 7 };

/* What impl 'c' installs: the profile function of every version, or the
 * callbacks of sys.monitoring where it is (3.12 and 3.13, the default
 * there). */
enum { EVP_BACKEND_PROFILE = 0, EVP_BACKEND_MONITORING = 1 };

typedef struct {
    PyObject_HEAD
    evprof_buffer *buf;
    size_t size;
    int domains;          /* PyMem domains to hook (DOM_*) */
    int active;           /* events are logged (atomic: evp_active) */
    struct registry reg;
    /* the previous profiler of the thread that installed ours */
    int saved;
    Py_tracefunc saved_func;
    PyObject *saved_obj;
    PyThreadState *saved_tstate;
    uint64_t saved_thread_id; /* tstate_id() of saved_tstate */
    int all_threads;      /* impl 'c' installed in every thread */
    /* what sys.setprofile was given (impl 'python' and 'pybind11'), NULL
     * for the C profile function */
    PyObject *installed;
    /* threading._profile_hook: ours, and the one it replaced */
    int thread_hooked;
    PyObject *thread_hook;
    PyObject *saved_thread_hook;
    PyObject *token;      /* the run begin() started, NULL when stopped */
    /* the thread inside begin/end/install/restore (its ident), 0: none;
     * atomic */
    unsigned long busy;
    int forked;           /* stopped by fork() in this child */
    /* the sys.monitoring backend */
    int backend;          /* EVP_BACKEND_* of impl 'c' */
    int mon_tool;         /* the tool id held, -1: none */
    int mon_all;          /* events of every thread, not only mon_run's */
    uint64_t mon_run;     /* the mark of the thread that started */
    struct evp_stream *stream; /* streaming into a file, or NULL */
    /* read_blocks() calls running: the buffer they read is not to be
     * freed (reset) under them */
    int reading;
} Profiler;

extern PyTypeObject evp_Profiler_Type;

/* The fields that start and stop write while hooks on other threads read
 * them (a free-threaded build runs both at once): whole-word atomic
 * accesses.  The buffer is only replaced while no hook logs. */
static inline int evp_active(const Profiler *self)
{
    return __atomic_load_n(&self->active, __ATOMIC_RELAXED);
}

static inline void evp_set_active(Profiler *self, int on)
{
    __atomic_store_n(&self->active, on, __ATOMIC_RELEASE);
}

static inline evprof_buffer *evp_buffer(const Profiler *self)
{
    return __atomic_load_n(&self->buf, __ATOMIC_ACQUIRE);
}

static inline struct evp_stream *evp_stream_of(const Profiler *self)
{
    return __atomic_load_n(&self->stream, __ATOMIC_ACQUIRE);
}

/* _core.c */
int evp_profile_callback(PyObject *obj, PyFrameObject *frame, int what,
                         PyObject *arg);
int evp_do_log(Profiler *self, PyObject *const *args, Py_ssize_t nargs);
int evp_log_marker(Profiler *self, PyObject *frame, int64_t event);
int64_t evp_callable_key(Profiler *self, PyObject *fn);
int evp_prepare(Profiler *self);
int evp_reset(Profiler *self);

/* _results.c: methods of Profiler */
PyObject *evp_Profiler_count(Profiler *self, PyObject *noarg);
PyObject *evp_Profiler_lost(Profiler *self, PyObject *noarg);
PyObject *evp_Profiler_dump(Profiler *self, PyObject *args);
PyObject *evp_Profiler_threads(Profiler *self, PyObject *noarg);
PyObject *evp_Profiler_key_base(Profiler *self, PyObject *noarg);
PyObject *evp_Profiler_registry(Profiler *self, PyObject *noarg);
PyObject *evp_Profiler_reset(Profiler *self, PyObject *noarg);

/* _events.c: methods of Profiler */
PyObject *evp_Profiler_read(Profiler *self, PyObject *args, PyObject *kw);
PyObject *evp_Profiler_read_blocks(Profiler *self, PyObject *args,
                                   PyObject *kw);
PyObject *evp_Profiler_write_trace(Profiler *self, PyObject *args,
                                   PyObject *kw);

/* _memory.c */
int evp_memory_install(Profiler *self);
void evp_memory_uninstall(Profiler *self);
int evp_memory_owned(const Profiler *self);
void evp_memory_after_fork(void);
PyObject *evp_memory_hooked(PyObject *mod, PyObject *noarg);
PyObject *evp_pool_count(PyObject *mod, PyObject *noarg);

/* _numpy.c */
PyObject *evp_Profiler_numpy_install(Profiler *self, PyObject *noarg);
PyObject *evp_Profiler_numpy_remove(Profiler *self, PyObject *noarg);
PyObject *evp_Profiler_numpy_owned(Profiler *self, PyObject *noarg);
void evp_numpy_remove(Profiler *self);
void evp_numpy_after_fork(void);

/* _native.c */
PyObject *evp_Profiler_native_install(Profiler *self, PyObject *noarg);
PyObject *evp_Profiler_native_remove(Profiler *self, PyObject *noarg);
void evp_native_remove(Profiler *self);
void evp_native_after_fork(void);

/* Objects to drop once no thread state is held any more (a decref may run
 * arbitrary code).  Few: one a thread that had ours. */
struct drops {
    PyObject *v[16];
    int n;
    PyObject *list;   /* the overflow, or NULL */
};

/* _threads.c */
int evp_threads_init(void);
/* _tnotes.c: the ThreadNotes type, added to the module. */
int evp_tnotes_add(PyObject *module);
void evp_drop_later(struct drops *d, PyObject *o);
void evp_drop_now(struct drops *d);
int evp_is_ours(const Profiler *self, const PyThreadState *ts);
void evp_forget_saved(Profiler *self, struct drops *d);
void evp_thread_hook_restore(Profiler *self, struct drops *d);
void evp_save_current(Profiler *self, struct drops *d);
void evp_forget_install(Profiler *self, struct drops *d);
int evp_install(Profiler *self, PyObject *installed, PyObject *thread_hook,
                int all, struct drops *d);
int evp_restore(Profiler *self, struct drops *d);
void evp_set_current(Py_tracefunc func, PyObject *obj, struct drops *d);

/* _session.c: methods of Profiler */
PyObject *evp_Profiler_begin(Profiler *self, PyObject *args, PyObject *kw);
PyObject *evp_Profiler_end(Profiler *self, PyObject *args);
PyObject *evp_Profiler_abort(Profiler *self, PyObject *token);
PyObject *evp_Profiler_save_profile(Profiler *self, PyObject *noarg);
PyObject *evp_Profiler_install(Profiler *self, PyObject *args, PyObject *kw);
PyObject *evp_Profiler_restore_profile(Profiler *self, PyObject *args,
                                       PyObject *kw);
PyObject *evp_Profiler_after_fork(Profiler *self, PyObject *noarg);
PyObject *evp_after_fork(PyObject *mod, PyObject *noarg);
PyObject *evp_Profiler_take_forked(Profiler *self, PyObject *noarg);
PyObject *evp_Profiler_call(PyObject *self, PyObject *args, PyObject *kw);
/* _gate.c */
int evp_gate_add(PyObject *m);
/* _gate.c's steps, for _gate_run.c. */
int evp_gate_start_run(PyObject *prep, PyObject *frame);
PyObject *evp_gate_stop_run(PyObject *obj, PyObject *frame);
int evp_gate_run_add(PyObject *m);

/* _runs.c: the run recording each thread (a new reference, or NULL). */
void evp_runs_began(Profiler *prof);
void evp_runs_ended(Profiler *prof);
Profiler *evp_runs_here(void);
void evp_runs_after_fork(void);
int64_t evp_code_key(Profiler *self, PyCodeObject *code);

int evp_session_traverse(Profiler *self, visitproc visit, void *arg);
void evp_session_clear(Profiler *self);

/* _hooks.c */
int evp_hooks_ready(void);
PyObject *evp_Profiler_hook(Profiler *self, PyObject *noarg);
PyObject *evp_weak_method(PyObject *mod, PyObject *args);

/* _monitoring.c: 1 where sys.monitoring backs impl 'c' (3.12, 3.13) */
extern const int evp_monitoring_available;
int evp_monitoring_ready(void);
int evp_monitoring_start(Profiler *self, int all_threads);
int evp_monitoring_stop(Profiler *self);
void evp_monitoring_after_fork(Profiler *self);
/* The calling thread's innermost frame becomes the bottom of what its
 * events see (none of the frames from there down is anyone's caller);
 * returns the bottom it replaces, which evp_monitoring_set_bottom puts
 * back. */
const void *evp_monitoring_hide_callers(void);
void evp_monitoring_set_bottom(const void *bottom);

/* _sinks.c */
PyObject *evp_sink_run(PyObject *mod, PyObject *args, PyObject *kw);

/* _stream.c */
struct evp_stream;
void evp_stream_note(struct evp_stream *st, int64_t key, PyObject *obj);
void evp_stream_release(Profiler *self);
void evp_stream_forget(struct evp_stream *st);
PyObject *evp_Profiler_stream_open(Profiler *self, PyObject *args,
                                   PyObject *kw);
PyObject *evp_Profiler_stream_meta(Profiler *self, PyObject *meta);
PyObject *evp_Profiler_stream_stats(Profiler *self, PyObject *noarg);
PyObject *evp_Profiler_stream_close(Profiler *self, PyObject *noarg);

/* _floor.c */
PyObject *evp_null_profiler_start(PyObject *mod, PyObject *noarg);
PyObject *evp_clock_profiler_start(PyObject *mod, PyObject *noarg);
PyObject *evp_null_profiler_stop(PyObject *mod, PyObject *noarg);

#endif
