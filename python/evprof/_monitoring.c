/*
 * _monitoring.c: the sys.monitoring (PEP 669) backend of impl 'c', on
 * Python 3.12 to 3.14, free-threaded builds included.
 *
 * There the profile function of PyEval_SetProfile is itself emulated on
 * sys.monitoring, and each of its events builds a frame object.  This
 * backend registers callbacks of its own instead (one tool id, the
 * callables below), and logs the events the profile function logs, in the
 * same columns (see _core.c), from the code object and offset each
 * callback receives:
 *
 *   PY_START, PY_RESUME, PY_THROW  -> call    (value2 1: a resume)
 *   PY_RETURN, PY_YIELD, PY_UNWIND -> return  (value2 1: a yield)
 *   CALL of a builtin              -> c_call
 *   C_RETURN, C_RAISE of a builtin -> c_return, c_exception
 *
 * The caller of a Python event (its code and the offset of the instruction
 * it waits on) is read from the interpreter's own frame record, as
 * frame.f_back would give it, without making a frame object.  "Builtin"
 * means what the profile function reports: a builtin function, or a method
 * descriptor called on an object (keyed by its definition, as the bound
 * method the profile function got).
 *
 * The callbacks never raise and never run Python code on their fast path;
 * what they allocate on a slow path (the first sight of a builtin) is not
 * logged.  Monitoring is per interpreter: every thread calls them, and
 * without all_threads they log only the thread that started.  Several
 * threads may run them at once (a free-threaded build): what they change
 * is their thread's own (thread-local), and what they read of the
 * profiler, which start and stop change, is read atomically.  The tool
 * id and the registration of these callbacks are _monitoring_tool.c's.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

#include "_core.h"
#include "_monitoring.h"

#if EVP_MONITORING


# include "_monitoring_frames.h"
# include "takeback-private.h"

/* sys.monitoring.MISSING: the arg0 of a call without arguments. */
static PyObject *missing;

/* A field of the profiler that start and stop change while callbacks run
 * on other threads. */
#define SHARED(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* ---- keys --------------------------------------------------------------
 *
 * The registry (object -> key) is behind a few keys each thread keeps of
 * the run it logs: the code of its last Python event, the code of its
 * last caller, and builtins by the address of their definition, most
 * events finding their keys there.  A key stays right for the whole run:
 * the registry holds the object (its address is not reused) and is only
 * emptied between runs; a run is told by its mark (mon_run), never used
 * twice.
 */

enum { N_FN = 8 };  /* builtins kept a thread, a power of two */

struct mon_thread {
    uint64_t mark;        /* the run this thread started, 0: none */
    const void *bottom;   /* a frame record no event sees as a caller */
    /* Where the interpreter keeps this thread's state, NULL: unknown
     * (evp_mon_tstate_slot, looked for at each run until found). */
    PyThreadState *const *tstate;
    uint64_t py_run;      /* run when tstate is known, else 0: mon_py's */
    uint64_t run;         /* the run the keys below are of */
    uintptr_t code[2];    /* 0: the code of the last event, 1: its caller */
    int64_t code_key[2];
    uintptr_t fn[N_FN];   /* a builtin's definition | 1, at (p >> 5) */
    int64_t fn_key[N_FN];
};

static _Thread_local struct mon_thread mon_thread
    __attribute__((tls_model("initial-exec")));

/* The key of a code object, from the registry or added to it; the slow
 * path (a first sight) allocates nothing through PyMem, and is not logged
 * anyway. */
static __attribute__((noinline)) int64_t
code_key_slow(Profiler *self, struct mon_thread *t, int slot,
              PyCodeObject *code)
{
    int64_t k = reg_find(&self->reg, (uintptr_t)code);

    if (k == 0) {
        Py_INCREF(code);
        k = reg_add(&self->reg, (uintptr_t)code, (PyObject *)code);
        /* A streamed run writes each key's names before its events. */
        if (k != 0) {
            struct evp_stream *st = SHARED(self->stream);

            if (st != NULL)
                evp_stream_note(st, k, (PyObject *)code);
        }
    }
    if (k != 0) {
        t->code[slot] = (uintptr_t)code;
        t->code_key[slot] = k;
    }
    return k;
}

static inline int64_t code_key(Profiler *self, struct mon_thread *t,
                               int slot, PyCodeObject *code)
{
    if (EVPROF_LIKELY(t->code[slot] == (uintptr_t)code))
        return t->code_key[slot];
    return code_key_slow(self, t, slot, code);
}

/* A builtin's key from the registry, or added to it on its first sight:
 * described as the profile function would have seen it (a method
 * descriptor bound to its object), nothing of it logged as an allocation
 * of the program, any error dropped. */
static __attribute__((noinline)) int64_t
builtin_key_slow(Profiler *self, struct mon_thread *t, uintptr_t p,
                 PyObject *fn, PyObject *arg0)
{
    PyObject *bound;
    int64_t k = reg_find(&self->reg, p);
    int in;

    if (k == 0) {
        in = evprof__in_hook;
        evprof__in_hook = 1;
        if (PyCFunction_Check(fn)) {
            k = evp_callable_key(self, fn);
        } else {
            saved_error e;

            error_save(&e);
            bound = Py_TYPE(fn)->tp_descr_get(fn, arg0,
                                              (PyObject *)Py_TYPE(arg0));
            k = bound != NULL ? evp_callable_key(self, bound) : 0;
            Py_XDECREF(bound);
            PyErr_Clear();
            error_restore(&e);
        }
        evprof__in_hook = in;
    }
    if (k != 0) {
        t->fn[(p >> 5) & (N_FN - 1)] = p;
        t->fn_key[(p >> 5) & (N_FN - 1)] = k;
    }
    return k;
}

/* The key of what a CALL event calls, 0 when it is not a builtin (it is
 * not reported: the profile function reports none). */
static inline int64_t builtin_key(Profiler *self, struct mon_thread *t,
                                  PyObject *fn, PyObject *arg0)
{
    uintptr_t p;
    size_t i;

    if (PyCFunction_Check(fn))
        p = (uintptr_t)((PyCFunctionObject *)fn)->m_ml | 1;
    else if (Py_IS_TYPE(fn, &PyMethodDescr_Type) && arg0 != missing)
        p = (uintptr_t)((PyMethodDescrObject *)fn)->d_method | 1;
    else
        return 0;
    /* PyMethodDef entries are 32 bytes apart: neighbours kept apart. */
    i = (p >> 5) & (N_FN - 1);
    if (EVPROF_LIKELY(t->fn[i] == p))
        return t->fn_key[i];
    return builtin_key_slow(self, t, p, fn, arg0);
}

/* A run this thread had not logged yet: none of its keys kept. */
static __attribute__((noinline)) void new_run(struct mon_thread *t,
                                              uint64_t run)
{
    uint64_t mark = t->mark;
    const void *bottom = t->bottom;
    PyThreadState *const *tstate = t->tstate;

    memset(t, 0, sizeof(*t));
    t->mark = mark;
    t->bottom = bottom;
    t->tstate = tstate != NULL ? tstate : evp_mon_tstate_slot();
    t->run = run;
    t->py_run = t->tstate != NULL ? run : 0;
}

/* ---- the offset, allocated by the dispatch ------------------------------
 *
 * CPython passes each callback the offset as an int object, made for the
 * event and dropped after the callbacks: past 256 bytes into a code
 * object, a PyObject_Malloc and a PyObject_Free around every event, which
 * the allocator hook would log as the program's.  The malloc is the last
 * event this thread logged (nothing runs between it and the callbacks):
 * it is taken back out of the thread's chunk; and the int is kept alive
 * past the dispatch and dropped at this thread's next event, its free
 * not logged.  Safe because this extension reads its buffer only under
 * the GIL (dump), which the callback holds, a stream's periodic pass
 * leaves a chunk's newest events for later, and a signal handler logging
 * on this thread in between makes the compare-and-swap fail, the event
 * kept (lib/takeback-private.h, shared with the frames of 3.11 in
 * _core.c).  At most one such int a thread outlives a run (dropped at the
 * thread's next event of any run, or never if the thread ends).
 */
static _Thread_local PyObject *held_offset;

static void take_back_malloc(Profiler *self, PyObject *o)
{
    int64_t block = (int64_t)(intptr_t)o;

    (void)evprof__take_back_mallocs(self->buf, &block, 1, NULL);
}

static __attribute__((noinline)) void hold_offset_slow(Profiler *self,
                                                       PyObject *o)
{
    PyObject *old = held_offset;
    int in;

    if (o == old)
        return;
    take_back_malloc(self, o);
    Py_INCREF(o);
    held_offset = o;
    if (old != NULL) {
        in = evprof__in_hook;
        evprof__in_hook = 1;
        Py_DECREF(old);
        evprof__in_hook = in;
    }
}

static inline void hold_offset(Profiler *self, PyObject *o)
{
    if (EVPROF_UNLIKELY(!_Py_IsImmortal(o)))
        hold_offset_slow(self, o);
}

/* ---- the callbacks ----------------------------------------------------- */

/* Whether a vectorcall has fewer than n arguments, told from the low 32
 * bits of nargsf alone (PY_VECTORCALL_ARGUMENTS_OFFSET is its top bit):
 * a count past 2**32 may be taken as too few, the callback then doing
 * nothing. */
#define FEWER_ARGS(nargsf, n) ((uint32_t)(nargsf) < (uint32_t)(n))

/* One callable an event: vectorcall, and no recursion check (one raising
 * RecursionError in the program's deepest call would land in the
 * program). */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    Profiler *prof;
    int64_t event;  /* EVPROF_* logged */
    int64_t flag;   /* value2: 1 for a resume or a yield */
} MonCallback;

/* Each start marks its thread (mon_thread.mark) with a number never used
 * before: one load tells whether the calling thread is the one that
 * started (a thread state's address may be reused by a later thread). */
static uint64_t last_mark; /* atomic */

/* The calling thread's keys if it logs, else NULL; args holds at least
 * the code and the offset.  The offset int is held in every thread (all
 * of them log their allocations). */
static inline struct mon_thread *wanted(Profiler *self,
                                        PyObject *const *args)
{
    struct mon_thread *t = &mon_thread;
    uint64_t run;

    if (EVPROF_UNLIKELY(!__atomic_load_n(&self->active, __ATOMIC_ACQUIRE)))
        return NULL;
    hold_offset(self, args[1]);
    run = SHARED(self->mon_run);
    /* Keys of this run are kept only by a thread that logs in it. */
    if (EVPROF_LIKELY(t->run == run))
        return t;
    if (t->mark != run && !SHARED(self->mon_all))
        return NULL;
    new_run(t, run);
    return t;
}

/* PY_*(code, offset, ...): mon_py's work in full, out of line, for
 * whatever its fast path leaves (a key not kept, a run not started on
 * this thread, an offset int to hold, a chunk to start). */
static __attribute__((noinline)) PyObject *
mon_py_slow(MonCallback *cb, PyObject *const *args)
{
    Profiler *self = cb->prof;
    struct mon_thread *t;
    _PyInterpreterFrame *back;
    PyCodeObject *code;
    int64_t k, bk = 0, lasti = -1;

    t = wanted(self, args);
    if (t == NULL || !PyCode_Check(args[0]))
        Py_RETURN_NONE;
    code = (PyCodeObject *)args[0];
    k = code_key(self, t, 0, code);
    back = py_caller(this_thread(), code);
    /* The frames below the program's (run_code's caller, on a build
     * where they cannot be set aside) are no caller of its code. */
    if (back != NULL && (const void *)back != t->bottom) {
        bk = code_key(self, t, 1, frame_code(back));
        lasti = frame_offset(back);
    }
    (void)evprof_log(SHARED(self->buf), k, bk, cb->event, lasti, cb->flag);
    /* Allocations belong to the function running now: the callee after a
     * start, the caller again after a return. */
    evprof_context_set(cb->event == EVPROF_CALL ? k : bk);
    Py_RETURN_NONE;
}

/* What mon_py does once the thread's state is known: every key found
 * among those kept and logged by evprof__log_fast, else all of it is
 * mon_py_slow's.  A kept code (t->code) is a code object: only those are
 * kept.  event and flag are the callback's (cb->event, cb->flag), given
 * as constants where they are known. */
static inline __attribute__((always_inline)) PyObject *
mon_py_rest(MonCallback *cb, PyObject *const *args, struct mon_thread *t,
            PyThreadState *ts, int64_t event, int64_t flag)
{
    Profiler *self = cb->prof;
    _PyInterpreterFrame *back;
    PyCodeObject *code = (PyCodeObject *)args[0];
    int64_t k, bk = 0, lasti = -1;

    if (EVPROF_UNLIKELY(t->code[0] != (uintptr_t)code))
        return mon_py_slow(cb, args);
    k = t->code_key[0];
    back = py_caller(ts, code);
    if (back != NULL && (const void *)back != t->bottom) {
        if (EVPROF_UNLIKELY(t->code[1] != (uintptr_t)frame_executable(back)))
            return mon_py_slow(cb, args);
        bk = t->code_key[1];
        lasti = complete_frame_offset(back);
    }
    if (EVPROF_UNLIKELY(!evprof__log_fast(SHARED(self->buf), k, bk,
                                          event, lasti, flag)))
        return mon_py_slow(cb, args);
    evprof_context_set(event == EVPROF_CALL ? k : bk);
    Py_RETURN_NONE;
}

/* PY_*(code, offset, ...): the code starts, resumes, returns, yields or
 * unwinds; its caller is the frame below.  The fast path makes no call:
 * the thread's state read from where the interpreter keeps it, so that
 * few registers are saved.  One function for each event and flag
 * (mon_py_call0 ...): they are constants there. */
static inline __attribute__((always_inline)) PyObject *
mon_py(PyObject *obj, PyObject *const *args, size_t nargsf, int64_t event,
       int64_t flag)
{
    MonCallback *cb = (MonCallback *)obj;
    Profiler *self = cb->prof;
    struct mon_thread *t = &mon_thread;

    if (EVPROF_UNLIKELY(FEWER_ARGS(nargsf, 2)))
        Py_RETURN_NONE;
    if (EVPROF_UNLIKELY(!__atomic_load_n(&self->active, __ATOMIC_ACQUIRE)))
        Py_RETURN_NONE;
    /* py_run: the run, and the thread's state known. */
    if (EVPROF_UNLIKELY(!_Py_IsImmortal(args[1])
                        || t->py_run != SHARED(self->mon_run)))
        return mon_py_slow(cb, args);
    return mon_py_rest(cb, args, t, *t->tstate, event, flag);
}

#define MON_PY(name, event, flag)                                           \
    static PyObject *name(PyObject *obj, PyObject *const *args,           \
                          size_t nargsf, PyObject *kwnames)               \
    {                                                                     \
        (void)kwnames;                                                    \
        return mon_py(obj, args, nargsf, event, flag);                    \
    }
MON_PY(mon_py_call0, EVPROF_CALL, 0)
MON_PY(mon_py_call1, EVPROF_CALL, 1)
MON_PY(mon_py_return0, EVPROF_RETURN, 0)
MON_PY(mon_py_return1, EVPROF_RETURN, 1)

/* A builtin called at `offset` of `code`: mon_c's work in full, out of
 * line, for whatever its fast path leaves. */
static __attribute__((noinline)) PyObject *
mon_builtin(MonCallback *cb, PyObject *const *args)
{
    Profiler *self = cb->prof;
    struct mon_thread *t;
    int64_t k, bk, off;

    t = wanted(self, args);
    if (t == NULL || !PyCode_Check(args[0]))
        Py_RETURN_NONE;
    k = builtin_key(self, t, args[2], args[3]);
    if (k == 0)
        Py_RETURN_NONE;
    bk = code_key(self, t, 1, (PyCodeObject *)args[0]);
    if (EVPROF_LIKELY(PyLong_CheckExact(args[1])
                      && PyUnstable_Long_IsCompact((PyLongObject *)args[1])))
        off = PyUnstable_Long_CompactValue((PyLongObject *)args[1]);
    else
        off = -1;
    (void)evprof_log(SHARED(self->buf), k, bk, cb->event, off, 0);
    evprof_context_set(bk);
    Py_RETURN_NONE;
}

/* A Python function called: only its offset int held, if it is not
 * immortal and the run is on. */
static __attribute__((noinline)) PyObject *
mon_hold_only(Profiler *self, PyObject *offset)
{
    if (__atomic_load_n(&self->active, __ATOMIC_ACQUIRE))
        hold_offset_slow(self, offset);
    Py_RETURN_NONE;
}

/* What mon_c calls, not a Python function: logged here when its keys are
 * kept, without a call (so few registers saved), else by mon_builtin. */
static __attribute__((noinline)) PyObject *
mon_builtin_fast(MonCallback *cb, PyObject *const *args)
{
    Profiler *self = cb->prof;
    struct mon_thread *t = &mon_thread;
    PyObject *fn = args[2];
    uintptr_t p;
    size_t i;
    int64_t k, bk, off;

    if (EVPROF_UNLIKELY(!__atomic_load_n(&self->active, __ATOMIC_ACQUIRE)))
        Py_RETURN_NONE;
    if (EVPROF_UNLIKELY(!_Py_IsImmortal(args[1])
                        || t->run != SHARED(self->mon_run)))
        return mon_builtin(cb, args);
    /* builtin_key's test, the exact types only (a subclass, or what is
     * no builtin, is mon_builtin's to tell). */
    if (EVPROF_LIKELY(Py_IS_TYPE(fn, &PyCFunction_Type)))
        p = (uintptr_t)((PyCFunctionObject *)fn)->m_ml | 1;
    else if (Py_IS_TYPE(fn, &PyMethodDescr_Type) && args[3] != missing)
        p = (uintptr_t)((PyMethodDescrObject *)fn)->d_method | 1;
    else
        return mon_builtin(cb, args);
    i = (p >> 5) & (N_FN - 1);
    /* A kept caller (t->code[1]) is a code object: only those are kept. */
    if (EVPROF_UNLIKELY(t->fn[i] != p
                        || t->code[1] != (uintptr_t)args[0]
                        || !small_offset(args[1], &off)))
        return mon_builtin(cb, args);
    k = t->fn_key[i];
    bk = t->code_key[1];
    if (EVPROF_UNLIKELY(!evprof__log_fast(SHARED(self->buf), k, bk,
                                          cb->event, off, 0)))
        return mon_builtin(cb, args);
    evprof_context_set(bk);
    Py_RETURN_NONE;
}

/* CALL, C_RETURN, C_RAISE(code, offset, callable, arg0).  The most
 * frequent call, of a Python function, is not reported (its PY_START is)
 * and returns here, before any register is saved; the rest is
 * mon_builtin_fast's. */
static PyObject *mon_c(PyObject *obj, PyObject *const *args, size_t nargsf,
                       PyObject *kwnames)
{
    (void)kwnames;
    if (EVPROF_UNLIKELY(FEWER_ARGS(nargsf, 4)))
        Py_RETURN_NONE;
    if (Py_IS_TYPE(args[2], &PyFunction_Type)) {
        if (EVPROF_UNLIKELY(!_Py_IsImmortal(args[1])))
            return mon_hold_only(((MonCallback *)obj)->prof, args[1]);
        Py_RETURN_NONE;
    }
    return mon_builtin_fast((MonCallback *)obj, args);
}

static void MonCallback_dealloc(MonCallback *cb)
{
    Py_XDECREF(cb->prof);
    PyObject_Free(cb);
}

static PyTypeObject MonCallback_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "evprof._core.MonitoringCallback",
    .tp_basicsize = sizeof(MonCallback),
    .tp_dealloc = (destructor)MonCallback_dealloc,
    .tp_vectorcall_offset = offsetof(MonCallback, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "A sys.monitoring callback of evprof: logs one kind of "
              "event into its profiler.",
};

PyObject *evp_mon_callback_new(Profiler *self, int ev)
{
    MonCallback *cb = PyObject_New(MonCallback, &MonCallback_Type);
    static const int64_t codes[N_EV] = {
        EVPROF_CALL, EVPROF_CALL, EVPROF_CALL,
        EVPROF_RETURN, EVPROF_RETURN, EVPROF_RETURN,
        EVPROF_C_CALL, EVPROF_C_RETURN, EVPROF_C_EXCEPTION
    };

    if (cb == NULL)
        return NULL;
    Py_INCREF(self);
    cb->prof = self;
    cb->event = codes[ev];
    cb->flag = ev == EV_PY_RESUME || ev == EV_PY_THROW || ev == EV_PY_YIELD;
    if (ev >= EV_CALL)
        cb->vectorcall = mon_c;
    else if (cb->event == EVPROF_CALL)
        cb->vectorcall = cb->flag ? mon_py_call1 : mon_py_call0;
    else
        cb->vectorcall = cb->flag ? mon_py_return1 : mon_py_return0;
    return (PyObject *)cb;
}

int evp_mon_callback_of(PyObject *cb, const Profiler *self)
{
    return Py_IS_TYPE(cb, &MonCallback_Type)
        && ((MonCallback *)cb)->prof == self;
}

int evp_mon_callbacks_ready(PyObject *mon)
{
    if (PyType_Ready(&MonCallback_Type) < 0)
        return -1;
    missing = PyObject_GetAttrString(mon, "MISSING");
    return missing != NULL ? 0 : -1;
}

void evp_mon_mark_run(Profiler *self, int all_threads)
{
    __atomic_store_n(&self->mon_all, all_threads, __ATOMIC_RELAXED);
    mon_thread.mark = __atomic_add_fetch(&last_mark, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&self->mon_run, mon_thread.mark, __ATOMIC_RELAXED);
}

/*
 * run_code's caller and the frames below it (the command line, runpy)
 * stay on the thread's stack where they cannot be set aside (3.14, a
 * free-threaded build: see _gate.c): the innermost of them, complete, is
 * then the bottom that the callbacks of this thread stop at, so the
 * program's first frame has no caller, as when the interpreter runs a
 * script.  Only the compare of one pointer an event.
 */
const void *evp_monitoring_hide_callers(void)
{
    const void *old = mon_thread.bottom;
    PyThreadState *ts = this_thread();
    _PyInterpreterFrame *f = ts != NULL ? top_frame(ts) : NULL;

    mon_thread.bottom = f != NULL ? _PyFrame_GetFirstComplete(f) : NULL;
    return old;
}

void evp_monitoring_set_bottom(const void *bottom)
{
    mon_thread.bottom = bottom;
}

#else /* no sys.monitoring, or a frame record this file does not know */

const void *evp_monitoring_hide_callers(void)
{
    return NULL;
}

void evp_monitoring_set_bottom(const void *bottom)
{
    (void)bottom;
}

#endif
