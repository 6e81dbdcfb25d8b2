/*
 * _core.c: the C half of the evprof Python package.
 *
 * One type, evprof._core.Profiler, owns an evprof_buffer (the C library's
 * lock-free per-thread buffer), a registry of the code objects and builtin
 * callables seen in events (one strong reference each, never a frame), and
 * the profile hooks:
 *
 *   - profile_callback(), a Py_tracefunc installed with PyEval_SetProfile
 *     (impl='c'), also reached through the C method c_log_event given to
 *     sys.setprofile (impl='pybind11') or called from a Python log_event
 *     (impl='python'): all three log exactly the same events;
 *   - evprof_alloc_hook on the PyMem domains RAW, MEM and OBJ: pure C, it
 *     never calls into Python and needs no GIL.
 *
 * Per event (six int64 columns, see evprof.h):
 *   call/return/exception: id_frame = key of the code, id_arg = key of the
 *     caller's code (0: none), value1 = the caller's instruction offset;
 *   c_call/c_return/c_exception: id_frame = key of the builtin, id_arg = key
 *     of the calling code, value1 = its instruction offset;
 *   memory: id_frame = key of the code running on the thread (the thread's
 *     evprof context), id_arg = domain (0 raw, 1 mem, 2 obj), value1 = the
 *     block, value2 = its size.
 * Lines are resolved from (code, offset) at report time, in Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evprof.h"
#include "_writer.h"

/* ---- compatibility: 3.8 to 3.13 ---------------------------------------- */

#if PY_VERSION_HEX < 0x03090000
static PyCodeObject *PyFrame_GetCode(PyFrameObject *f)
{
    Py_INCREF(f->f_code);
    return f->f_code;
}

static PyFrameObject *PyFrame_GetBack(PyFrameObject *f)
{
    Py_XINCREF(f->f_back);
    return f->f_back;
}
#endif

/* The offset in bytes of the instruction a frame runs (a call site while
 * the frame waits for its callee), as code.co_lines() counts them. */
static int64_t frame_lasti(PyFrameObject *f)
{
#if PY_VERSION_HEX >= 0x030B0000
    return (int64_t)PyFrame_GetLasti(f);
#elif PY_VERSION_HEX >= 0x030A0000
    return f->f_lasti < 0 ? -1 : (int64_t)f->f_lasti * 2;
#else
    return (int64_t)f->f_lasti;
#endif
}

typedef struct { PyObject *a, *b, *c; } saved_error;

static void error_save(saved_error *s)
{
#if PY_VERSION_HEX >= 0x030C0000
    s->a = PyErr_GetRaisedException();
    s->b = s->c = NULL;
#else
    PyErr_Fetch(&s->a, &s->b, &s->c);
#endif
}

static void error_restore(saved_error *s)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(s->a);
#else
    PyErr_Restore(s->a, s->b, s->c);
#endif
}

/* ---- registry: object -> key (1, 2, ...), one reference each ------------ */

struct slot {
    uintptr_t ptr; /* 0: empty */
    int64_t key;
};

struct registry {
    struct slot *tab;
    size_t mask;     /* table size - 1 (a power of two) */
    PyObject **obj;  /* obj[key - base - 1] */
    size_t n, cap;
    int64_t base;    /* keys of earlier runs are <= base: never reused */
};

static size_t reg_hash(uintptr_t p, size_t mask)
{
    return (size_t)(((uint64_t)p >> 3) * UINT64_C(0x9E3779B97F4A7C15) >> 17)
        & mask;
}

/* The key of ptr, or 0. */
static inline int64_t reg_find(const struct registry *r, uintptr_t p)
{
    size_t i;

    if (r->tab == NULL)
        return 0;
    for (i = reg_hash(p, r->mask);; i = (i + 1) & r->mask) {
        if (r->tab[i].ptr == p)
            return r->tab[i].key;
        if (r->tab[i].ptr == 0)
            return 0;
    }
}

static int reg_grow(struct registry *r)
{
    size_t size = r->tab ? 2 * (r->mask + 1) : 1024, i, j;
    struct slot *t = calloc(size, sizeof(*t));

    if (t == NULL)
        return -1;
    if (r->tab != NULL) {
        for (i = 0; i <= r->mask; i++) {
            if (r->tab[i].ptr == 0)
                continue;
            for (j = reg_hash(r->tab[i].ptr, size - 1); t[j].ptr != 0;
                 j = (j + 1) & (size - 1))
                ;
            t[j] = r->tab[i];
        }
        free(r->tab);
    }
    r->tab = t;
    r->mask = size - 1;
    return 0;
}

/* Adds ptr -> entry (a new reference, stolen) and returns the key; 0 (and
 * the reference dropped) when out of memory.  Plain malloc: nothing of the
 * registry goes through the hooked PyMem allocators. */
static int64_t reg_add(struct registry *r, uintptr_t p, PyObject *entry)
{
    size_t i;

    if ((r->n + 1) * 2 > (r->tab ? r->mask + 1 : 0) && reg_grow(r) != 0)
        goto fail;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 256;
        PyObject **v = realloc(r->obj, cap * sizeof(*v));
        if (v == NULL)
            goto fail;
        r->obj = v;
        r->cap = cap;
    }
    r->obj[r->n++] = entry;
    for (i = reg_hash(p, r->mask); r->tab[i].ptr != 0; i = (i + 1) & r->mask)
        ;
    r->tab[i].ptr = p;
    r->tab[i].key = r->base + (int64_t)r->n;
    return r->tab[i].key;
fail:
    Py_DECREF(entry);
    return 0;
}

static void reg_clear(struct registry *r)
{
    PyObject **obj = r->obj;
    size_t n = r->n, i;

    /* Detached first: a decref may run arbitrary code. */
    free(r->tab);
    r->tab = NULL;
    r->mask = 0;
    r->obj = NULL;
    r->n = r->cap = 0;
    for (i = 0; i < n; i++)
        Py_DECREF(obj[i]);
    free(obj);
}

/* ---- the profiler object ---------------------------------------------- */

enum { DOM_RAW = 1, DOM_MEM = 2, DOM_OBJ = 4, DOM_ALL = 7 };

typedef struct {
    PyObject_HEAD
    evprof_buffer *buf;
    size_t size;
    int domains;          /* PyMem domains to hook (DOM_*) */
    int active;           /* events are logged */
    struct registry reg;
    /* the previous profiler of the thread that installed ours */
    int saved;
    Py_tracefunc saved_func;
    PyObject *saved_obj;
    PyThreadState *saved_tstate;
    int all_threads;      /* impl 'c' installed in every thread */
} Profiler;

static PyTypeObject Profiler_Type;

/* The key of a code object, registered on first sight. */
static inline int64_t code_key(Profiler *self, PyCodeObject *code)
{
    int64_t k = reg_find(&self->reg, (uintptr_t)code);

    if (EVPROF_LIKELY(k != 0))
        return k;
    Py_INCREF(code);
    return reg_add(&self->reg, (uintptr_t)code, (PyObject *)code);
}

/* (qualname, module) of a callable, as the seed's _choose/_choose_mod. */
static PyObject *describe(PyObject *fn)
{
    PyObject *name, *mod, *t;

    name = PyObject_GetAttrString(fn, "__qualname__");
    if (name == NULL) {
        PyErr_Clear();
        name = PyUnicode_FromString(Py_TYPE(fn)->tp_name);
    }
    mod = PyObject_GetAttrString(fn, "__module__");
    if (mod == NULL) {
        PyErr_Clear();
        mod = PyObject_GetAttrString((PyObject *)Py_TYPE(fn), "__module__");
        if (mod == NULL) {
            PyErr_Clear();
            mod = Py_None;
            Py_INCREF(mod);
        }
    }
    if (name == NULL) {
        PyErr_Clear();
        Py_DECREF(mod);
        return NULL;
    }
    t = PyTuple_Pack(2, name, mod);
    Py_DECREF(name);
    Py_DECREF(mod);
    if (t == NULL)
        PyErr_Clear();
    return t;
}

/* The key of a builtin callable.  A builtin method bound to an object is
 * keyed by its definition (PyMethodDef) and described at once, so that
 * neither the bound method nor its object is kept alive. */
static int64_t callable_key(Profiler *self, PyObject *fn)
{
    uintptr_t p;
    int64_t k;
    PyObject *entry;

    if (PyCFunction_Check(fn)) {
        PyCFunctionObject *cf = (PyCFunctionObject *)fn;
        p = (uintptr_t)cf->m_ml | 1;
        k = reg_find(&self->reg, p);
        if (k != 0)
            return k;
        if (cf->m_self == NULL || PyModule_Check(cf->m_self)) {
            Py_INCREF(fn);
            entry = fn;
        } else {
            saved_error e;

            error_save(&e);
            entry = describe(fn);
            error_restore(&e);
            if (entry == NULL)
                return 0;
        }
    } else {
        p = (uintptr_t)fn;
        k = reg_find(&self->reg, p);
        if (k != 0)
            return k;
        Py_INCREF(fn);
        entry = fn;
    }
    return reg_add(&self->reg, p, entry);
}

/* The shared logging path of the three implementations. */
static void log_frame_event(Profiler *self, PyFrameObject *frame, int what,
                            PyObject *arg)
{
    PyCodeObject *code;
    PyFrameObject *back;
    int64_t k, bk = 0, lasti = -1, ev;

    switch (what) {
    case PyTrace_CALL:
    case PyTrace_RETURN:
    case PyTrace_EXCEPTION:
        ev = what == PyTrace_CALL ? EVPROF_CALL
            : what == PyTrace_RETURN ? EVPROF_RETURN : EVPROF_EXCEPTION;
        code = PyFrame_GetCode(frame);
        k = code_key(self, code);
        Py_DECREF(code);
        back = PyFrame_GetBack(frame);
        if (back != NULL) {
            code = PyFrame_GetCode(back);
            bk = code_key(self, code);
            Py_DECREF(code);
            lasti = frame_lasti(back);
            Py_DECREF(back);
        }
        (void)evprof_log(self->buf, k, bk, ev, lasti, 0);
        /* Allocations belong to the function running now: the callee
         * after a call, the caller again after a return. */
        if (ev == EVPROF_CALL)
            evprof_context_set(k);
        else if (ev == EVPROF_RETURN)
            evprof_context_set(bk);
        return;
    case PyTrace_C_CALL:
    case PyTrace_C_RETURN:
    case PyTrace_C_EXCEPTION:
        ev = what == PyTrace_C_CALL ? EVPROF_C_CALL
            : what == PyTrace_C_RETURN ? EVPROF_C_RETURN
                                       : EVPROF_C_EXCEPTION;
        k = arg != NULL ? callable_key(self, arg) : 0;
        code = PyFrame_GetCode(frame);
        bk = code_key(self, code);
        Py_DECREF(code);
        (void)evprof_log(self->buf, k, bk, ev, frame_lasti(frame), 0);
        evprof_context_set(bk);
        return;
    default:
        return;
    }
}

/* The profile function (impl='c'): no Python call per event, and it never
 * sets or clears an exception, so a pending one is left as it was. */
static int profile_callback(PyObject *obj, PyFrameObject *frame, int what,
                            PyObject *arg)
{
    Profiler *self = (Profiler *)obj;

    if (EVPROF_LIKELY(self->active))
        log_frame_event(self, frame, what, arg);
    return 0;
}

/* The floor of the benchmarks: a profile function that does nothing. */
static int null_callback(PyObject *obj, PyFrameObject *frame, int what,
                         PyObject *arg)
{
    (void)obj;
    (void)frame;
    (void)what;
    (void)arg;
    return 0;
}

/* The floor of any timeline: a profile function that only reads the clock
 * (what each event must cost at least; the benchmark shows both floors). */
static volatile int64_t clock_sink;

static int clock_callback(PyObject *obj, PyFrameObject *frame, int what,
                          PyObject *arg)
{
    (void)obj;
    (void)frame;
    (void)what;
    (void)arg;
    clock_sink = evprof_clock_ns();
    return 0;
}

/* ---- memory hooks (process-wide: one profiler at a time) --------------- */

static const PyMemAllocatorDomain domain_of[3] = {
    PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ
};

static struct {
    evprof_alloc_hook *hook;    /* installed and logging, or NULL */
    PyMemAllocatorEx saved;     /* put back at stop when ours is on top */
} mem[3];
static Profiler *mem_owner;

/*
 * Every hook ever installed, by domain.  None is ever freed: other code may
 * keep the family it wrapped (tracemalloc calls the raw family it found at
 * its last start even after it stopped, before it looks again), and a
 * thread without the GIL may still be inside one.  Instead a hook is reused
 * with the next profiler's buffer: the one found on top (left there, off,
 * by a stop under another hook, and put back when that one was removed),
 * or the one that wraps the same family.  So start/stop cycles, with or
 * without tracemalloc in between, neither grow the allocator chain nor
 * leak.  Plain malloc, as the registry.
 */
static struct {
    evprof_alloc_hook **v;
    size_t n, cap;
} pool[3];

static evprof_alloc_hook *pool_by_ctx(int d, void *ctx)
{
    size_t i;

    for (i = 0; i < pool[d].n; i++)
        if ((void *)pool[d].v[i] == ctx)
            return pool[d].v[i];
    return NULL;
}

static evprof_alloc_hook *pool_by_inner(int d, const PyMemAllocatorEx *a)
{
    size_t i;

    for (i = 0; i < pool[d].n; i++) {
        const evprof_allocator *in = evprof_alloc_hook_inner(pool[d].v[i]);

        if (in->ctx == a->ctx && in->malloc == a->malloc
            && in->calloc == a->calloc && in->realloc == a->realloc
            && in->free == a->free)
            return pool[d].v[i];
    }
    return NULL;
}

static int pool_add(int d, evprof_alloc_hook *h)
{
    if (pool[d].n == pool[d].cap) {
        size_t cap = pool[d].cap ? 2 * pool[d].cap : 4;
        evprof_alloc_hook **v = realloc(pool[d].v, cap * sizeof(*v));

        if (v == NULL)
            return -1;
        pool[d].v = v;
        pool[d].cap = cap;
    }
    pool[d].v[pool[d].n++] = h;
    return 0;
}

static PyObject *pool_count(PyObject *mod, PyObject *noarg)
{
    (void)mod;
    (void)noarg;
    return PyLong_FromSize_t(pool[0].n + pool[1].n + pool[2].n);
}

static void memory_undo(int upto)
{
    int d;

    for (d = upto - 1; d >= 0; d--) {
        PyMemAllocatorEx cur;

        if (mem[d].hook == NULL)
            continue;
        (void)evprof_alloc_hook_enable(mem[d].hook, 0);
        PyMem_GetAllocator(domain_of[d], &cur);
        if (cur.ctx == (void *)mem[d].hook)
            PyMem_SetAllocator(domain_of[d], &mem[d].saved);
        /* else someone hooked over ours: ours stays, off, forwarding */
        mem[d].hook = NULL;
    }
}

static int memory_install(Profiler *self)
{
    int d;

    if (self->domains == 0)
        return 0;
    if (mem_owner != NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "another profiler already hooks the allocators");
        return -1;
    }
    for (d = 0; d < 3; d++) {
        evprof_alloc_hook *h;
        PyMemAllocatorEx cur;
        int on_top = 0;

        if (!(self->domains & (1 << d)))
            continue;
        PyMem_GetAllocator(domain_of[d], &cur);
        h = pool_by_ctx(d, cur.ctx);
        if (h != NULL) {
            /* Ours, off, on top: turned on again where it is; its inner
             * family is what stop puts back. */
            const evprof_allocator *in = evprof_alloc_hook_inner(h);

            mem[d].saved.ctx = in->ctx;
            mem[d].saved.malloc = in->malloc;
            mem[d].saved.calloc = in->calloc;
            mem[d].saved.realloc = in->realloc;
            mem[d].saved.free = in->free;
            on_top = 1;
        } else {
            mem[d].saved = cur;
            h = pool_by_inner(d, &cur);
            if (h == NULL) {
                evprof_allocator inner;

                inner.ctx = cur.ctx;
                inner.malloc = cur.malloc;
                inner.calloc = cur.calloc;
                inner.realloc = cur.realloc;
                inner.free = cur.free;
                h = evprof_alloc_hook_new(&inner, self->buf, d);
                if (h == NULL || pool_add(d, h) != 0) {
                    evprof_alloc_hook_free(h);
                    PyErr_NoMemory();
                    memory_undo(d);
                    return -1;
                }
            }
        }
        if (evprof_alloc_hook_set_buffer(h, self->buf) != 0) {
            PyErr_SetString(PyExc_RuntimeError,
                            "an allocator hook of evprof is still logging");
            memory_undo(d);
            return -1;
        }
        if (!on_top) {
            evprof_allocator wrap;
            PyMemAllocatorEx a;

            if (evprof_alloc_hook_allocator(h, &wrap) != 0) {
                PyErr_SetString(PyExc_SystemError, "no allocator hook");
                memory_undo(d);
                return -1;
            }
            a.ctx = wrap.ctx;
            a.malloc = wrap.malloc;
            a.calloc = wrap.calloc;
            a.realloc = wrap.realloc;
            a.free = wrap.free;
            PyMem_SetAllocator(domain_of[d], &a);
        }
        (void)evprof_alloc_hook_enable(h, 1);
        mem[d].hook = h;
    }
    mem_owner = self;
    Py_INCREF(self);
    return 0;
}

static void memory_uninstall(Profiler *self)
{
    if (mem_owner != self)
        return;
    memory_undo(3);
    mem_owner = NULL;
    Py_DECREF(self);
}

/* ---- profile function install / restore ------------------------------- */

static void save_profile(Profiler *self)
{
    PyThreadState *ts = PyThreadState_Get();

    if (self->saved) {
        Py_CLEAR(self->saved_obj);
    }
    self->saved = 1;
    self->saved_tstate = ts;
    self->saved_func = ts->c_profilefunc;
    self->saved_obj = ts->c_profileobj;
    Py_XINCREF(self->saved_obj);
}

#if PY_VERSION_HEX >= 0x03090000 && PY_VERSION_HEX < 0x030E0000
/* (3.14 may drop _PyEval_SetProfile: there only new threads are hooked.) */
# if PY_VERSION_HEX >= 0x030D0000
/* Exported by 3.13, but declared in an internal header only. */
extern int _PyEval_SetProfile(PyThreadState *tstate, Py_tracefunc func,
                              PyObject *arg);
# endif
# define HAVE_OTHER_THREADS 1
/* Installs ours (on) in every other thread that has no profile function,
 * or removes it (off) from those where it still is: the profilers of other
 * tools are never replaced nor removed. */
/* Off: removes ours (the C profile function of self, or `installed`, the
 * hook given to sys/threading.setprofile) from every thread but `skip` (the
 * thread that saved a profiler, restored apart), the calling one included:
 * the thread that started may have ended, or stop() run elsewhere. */
static void other_threads(Profiler *self, int on, PyObject *installed,
                          PyThreadState *skip)
{
    PyThreadState *me = PyThreadState_Get(), *ts;

    for (ts = PyInterpreterState_ThreadHead(PyThreadState_GetInterpreter(me));
         ts != NULL; ts = PyThreadState_Next(ts)) {
        if (ts == (on ? me : skip))
            continue;
        if (on && ts->c_profilefunc == NULL)
            (void)_PyEval_SetProfile(ts, profile_callback, (PyObject *)self);
        else if (!on && ((ts->c_profilefunc == profile_callback
                          && ts->c_profileobj == (PyObject *)self)
                         || (installed != NULL
                             && ts->c_profileobj == installed)))
            (void)_PyEval_SetProfile(ts, NULL, NULL);
        PyErr_Clear();
    }
}
#else
# define HAVE_OTHER_THREADS 0
#endif

static PyObject *Profiler_save_profile(Profiler *self, PyObject *noarg)
{
    (void)noarg;
    save_profile(self);
    Py_RETURN_NONE;
}

static PyObject *Profiler_install(Profiler *self, PyObject *args,
                                  PyObject *kw)
{
    static char *kwlist[] = {"all_threads", NULL};
    int all = 0;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|p:install", kwlist, &all))
        return NULL;
    save_profile(self);
    self->all_threads = all && HAVE_OTHER_THREADS;
#if HAVE_OTHER_THREADS
    if (self->all_threads)
        other_threads(self, 1, NULL, NULL);
#endif
    PyEval_SetProfile(profile_callback, (PyObject *)self);
    Py_RETURN_NONE;
}

/* The thread state ts if it is still alive in the calling thread's
 * interpreter (a thread that ended left a dangling pointer), else NULL. */
static PyThreadState *live_tstate(PyThreadState *ts)
{
    PyThreadState *me = PyThreadState_Get(), *t;

    if (ts == NULL || ts == me)
        return ts;
#if PY_VERSION_HEX < 0x03090000
    t = PyInterpreterState_ThreadHead(me->interp);
#else
    t = PyInterpreterState_ThreadHead(PyThreadState_GetInterpreter(me));
#endif
    for (; t != NULL; t = PyThreadState_Next(t))
        if (t == ts)
            return ts;
    return NULL;
}

/* restore_profile(installed=None): puts the saved profiler back in the
 * thread that saved it (also when called from another thread, e.g. stop()
 * from a worker or a __del__ run by the GC elsewhere), but only where ours
 * is still in place: the C profile function of self, or `installed` (the
 * callable given to sys.setprofile).  A profile function that user code or
 * another tool put over ours is left alone.  Returns True when ours was
 * found and removed, False when it had been replaced or removed. */
static PyObject *Profiler_restore_profile(Profiler *self, PyObject *args,
                                          PyObject *kw)
{
    static char *kwlist[] = {"installed", NULL};
    PyObject *installed = Py_None, *obj;
    PyThreadState *me = PyThreadState_Get(), *ts;
    Py_tracefunc func;
    int ours;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:restore_profile", kwlist,
                                     &installed))
        return NULL;
    ts = self->saved ? live_tstate(self->saved_tstate) : me;
#if HAVE_OTHER_THREADS
    /* Threads that got ours (threads=True; impl='c' also those already
     * running): removed, where it still is. */
    other_threads(self, 0, installed != Py_None ? installed : NULL, ts);
#endif
    self->all_threads = 0;
    if (self->saved && ts == NULL) {
        /* The thread that started has ended: nothing to put back there,
         * nothing was missed. */
        Py_CLEAR(self->saved_obj);
        self->saved = 0;
        self->saved_tstate = NULL;
        Py_RETURN_TRUE;
    }
    ours = ts != NULL
        && ((ts->c_profilefunc == profile_callback
             && ts->c_profileobj == (PyObject *)self)
            || (installed != Py_None && ts->c_profileobj == installed));
    func = self->saved ? self->saved_func : NULL;
    obj = self->saved ? self->saved_obj : NULL;
    self->saved_obj = NULL;
    self->saved = 0;
    self->saved_tstate = NULL;
    /* Also where nothing is left (ours removed because it raised, as a
     * Python profile function does at the recursion limit). */
    if (ours || (ts != NULL && ts->c_profilefunc == NULL && func != NULL)) {
        if (ts == me)
            PyEval_SetProfile(func, obj);
#if HAVE_OTHER_THREADS
        else if (_PyEval_SetProfile(ts, func, obj) < 0)
            PyErr_Clear();
#else
        else
            ours = 0; /* cannot reach another thread's profiler here */
#endif
    }
    Py_XDECREF(obj);
    return PyBool_FromLong(ours);
}

/* ---- methods ---------------------------------------------------------- */

static int event_what(PyObject *event)
{
    static const char *names[] = {"call", "exception", "line", "return",
                                  "c_call", "c_exception", "c_return"};
    int i;

    if (!PyUnicode_Check(event)) {
        PyErr_Format(PyExc_TypeError, "event must be a str, not %.100s",
                     Py_TYPE(event)->tp_name);
        return -1;
    }
    for (i = 0; i < 7; i++)
        if (PyUnicode_CompareWithASCIIString(event, names[i]) == 0)
            return i;
    PyErr_Format(PyExc_ValueError, "unknown profile event %R", event);
    return -1;
}

/* Checks the arguments of a sys.setprofile-style call and logs it; 0, or
 * -1 with an exception set. */
static int do_log(Profiler *self, PyObject *const *args, Py_ssize_t nargs)
{
    int what;

    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError,
                     "c_log_event expects 3 arguments (frame, event, arg), "
                     "got %zd", nargs);
        return -1;
    }
    if (!PyFrame_Check(args[0])) {
        PyErr_Format(PyExc_TypeError, "frame must be a frame, not %.100s",
                     Py_TYPE(args[0])->tp_name);
        return -1;
    }
    what = event_what(args[1]);
    if (what < 0)
        return -1;
    if (self->active)
        log_frame_event(self, (PyFrameObject *)args[0], what, args[2]);
    return 0;
}

static PyObject *Profiler_c_log_event(Profiler *self, PyObject *const *args,
                                      Py_ssize_t nargs)
{
    if (do_log(self, args, nargs) != 0)
        return NULL;
    Py_RETURN_NONE;
}

/* Given to threading.setprofile for impl='c': the first event of a new
 * thread installs the C profile function there, then is logged. */
static PyObject *Profiler_c_install_thread(Profiler *self,
                                           PyObject *const *args,
                                           Py_ssize_t nargs)
{
    if (do_log(self, args, nargs) != 0)
        return NULL;
    if (self->active)
        PyEval_SetProfile(profile_callback, (PyObject *)self);
    Py_RETURN_NONE;
}

/* ---- the callable given to sys.setprofile (impl='pybind11') ---------- */

#if PY_VERSION_HEX < 0x03090000
# define Py_TPFLAGS_HAVE_VECTORCALL _Py_TPFLAGS_HAVE_VECTORCALL
# define PyObject_Vectorcall _PyObject_Vectorcall
#endif

/* A profile hook object with a vectorcall of its own: unlike a builtin
 * method it takes no recursion-depth check on each call, so a program at
 * its recursion limit does not get the hook removed by a RecursionError
 * raised inside the profiler (and the events after it lost). */
typedef struct {
    PyObject_HEAD
    Profiler *prof;
    vectorcallfunc vectorcall;
} Hook;

static PyTypeObject Hook_Type;

static PyObject *Hook_vectorcall(PyObject *obj, PyObject *const *args,
                                 size_t nargsf, PyObject *kwnames)
{
    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0) {
        PyErr_SetString(PyExc_TypeError,
                        "the profile hook takes no keyword arguments");
        return NULL;
    }
    if (do_log(((Hook *)obj)->prof, args, PyVectorcall_NARGS(nargsf)) != 0)
        return NULL;
    Py_RETURN_NONE;
}

/* The seed gave sys.setprofile the bound method c_log_event: the hook
 * compares (and hashes) equal to `profiler.c_log_event`, as
 * sys.getprofile() == prof._buffer.c_log_event held there. */
static PyObject *Hook_bound(Hook *h)
{
    return PyObject_GetAttrString((PyObject *)h->prof, "c_log_event");
}

static PyObject *Hook_richcompare(PyObject *a, PyObject *b, int op)
{
    PyObject *bound, *res;

    if (op != Py_EQ && op != Py_NE)
        Py_RETURN_NOTIMPLEMENTED;
    if (Py_TYPE(b) == &Hook_Type)
        return PyBool_FromLong((((Hook *)a)->prof == ((Hook *)b)->prof)
                               == (op == Py_EQ));
    if (!PyCFunction_Check(b))
        Py_RETURN_NOTIMPLEMENTED;
    bound = Hook_bound((Hook *)a);
    if (bound == NULL)
        return NULL;
    res = PyObject_RichCompare(bound, b, op);
    Py_DECREF(bound);
    return res;
}

static Py_hash_t Hook_hash(PyObject *h)
{
    PyObject *bound = Hook_bound((Hook *)h);
    Py_hash_t x;

    if (bound == NULL)
        return -1;
    x = PyObject_Hash(bound);
    Py_DECREF(bound);
    return x;
}

static void Hook_dealloc(Hook *h)
{
    Py_XDECREF(h->prof);
    PyObject_Free(h);
}

static PyTypeObject Hook_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "evprof._core.Hook",
    .tp_basicsize = sizeof(Hook),
    .tp_dealloc = (destructor)Hook_dealloc,
    .tp_vectorcall_offset = offsetof(Hook, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_richcompare = Hook_richcompare,
    .tp_hash = Hook_hash,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "hook(frame, event, arg): logs a profile event into its "
              "profiler (what impl='pybind11' gives to sys.setprofile).",
};

static PyObject *Profiler_hook(Profiler *self, PyObject *noarg)
{
    Hook *h = PyObject_New(Hook, &Hook_Type);

    (void)noarg;
    if (h == NULL)
        return NULL;
    Py_INCREF(self);
    h->prof = self;
    h->vectorcall = Hook_vectorcall;
    return (PyObject *)h;
}

/* ---- impl='python': the profile function, holding its profiler weakly ---
 *
 * sys.setprofile(prof.log_event) kept the profiler alive for as long as it
 * was installed: a profiler dropped while running could never be collected
 * (its __del__ stops it) and logged until the process exited.  This hook
 * calls func(obj, frame, event, arg) with obj held by a weak reference
 * (nothing when it is gone), and compares equal to the bound method
 * obj.func, which the seed installed. */
typedef struct {
    PyObject_HEAD
    PyObject *ref;   /* weakref to obj */
    PyObject *func;  /* the function of the method */
    vectorcallfunc vectorcall;
} WeakHook;

static PyTypeObject WeakHook_Type;

/* A new reference to obj, or NULL (no error) when it is gone. */
static PyObject *weakhook_obj(WeakHook *h)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyObject *o = NULL;

    if (PyWeakref_GetRef(h->ref, &o) < 0)
        PyErr_Clear();
    return o;
#else
    PyObject *o = PyWeakref_GetObject(h->ref);

    if (o == NULL) {
        PyErr_Clear();
        return NULL;
    }
    if (o == Py_None)
        return NULL;
    Py_INCREF(o);
    return o;
#endif
}

static PyObject *WeakHook_vectorcall(PyObject *obj, PyObject *const *args,
                                     size_t nargsf, PyObject *kwnames)
{
    WeakHook *h = (WeakHook *)obj;
    PyObject *stack[4], *o, *res;
    Py_ssize_t n = PyVectorcall_NARGS(nargsf), i;

    if (n != 3 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0)) {
        PyErr_SetString(PyExc_TypeError,
                        "the profile hook takes (frame, event, arg)");
        return NULL;
    }
    o = weakhook_obj(h);
    if (o == NULL)
        Py_RETURN_NONE;
    stack[0] = o;
    for (i = 0; i < 3; i++)
        stack[i + 1] = args[i];
    res = PyObject_Vectorcall(h->func, stack, 4, NULL);
    Py_DECREF(o);
    return res;
}

static PyObject *WeakHook_bound(WeakHook *h)
{
    PyObject *o = weakhook_obj(h), *m;

    if (o == NULL)
        return NULL;
    m = PyMethod_New(h->func, o);
    Py_DECREF(o);
    return m;
}

static PyObject *WeakHook_richcompare(PyObject *a, PyObject *b, int op)
{
    PyObject *bound, *res;

    if (op != Py_EQ && op != Py_NE)
        Py_RETURN_NOTIMPLEMENTED;
    if (a == b)
        return PyBool_FromLong(op == Py_EQ);
    if (!PyMethod_Check(b))
        Py_RETURN_NOTIMPLEMENTED;
    bound = WeakHook_bound((WeakHook *)a);
    if (bound == NULL) {
        if (PyErr_Occurred())
            return NULL;
        return PyBool_FromLong(op == Py_NE);
    }
    res = PyObject_RichCompare(bound, b, op);
    Py_DECREF(bound);
    return res;
}

static Py_hash_t WeakHook_hash(PyObject *a)
{
    PyObject *bound = WeakHook_bound((WeakHook *)a);
    Py_hash_t x;

    if (bound == NULL)
        return PyErr_Occurred() ? -1 : _Py_HashPointer(a);
    x = PyObject_Hash(bound);
    Py_DECREF(bound);
    return x;
}

static PyObject *WeakHook_repr(PyObject *a)
{
    WeakHook *h = (WeakHook *)a;
    PyObject *o = weakhook_obj(h), *r;

    if (o == NULL)
        return PyUnicode_FromFormat("<profile hook %R of a dead object>",
                                    h->func);
    r = PyUnicode_FromFormat("<profile hook %R of %R>", h->func, o);
    Py_DECREF(o);
    return r;
}

static int WeakHook_traverse(WeakHook *h, visitproc visit, void *arg)
{
    Py_VISIT(h->ref);
    Py_VISIT(h->func);
    return 0;
}

static int WeakHook_clear(WeakHook *h)
{
    Py_CLEAR(h->ref);
    Py_CLEAR(h->func);
    return 0;
}

static void WeakHook_dealloc(WeakHook *h)
{
    PyObject_GC_UnTrack(h);
    WeakHook_clear(h);
    PyObject_GC_Del(h);
}

static PyTypeObject WeakHook_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "evprof._core.WeakHook",
    .tp_basicsize = sizeof(WeakHook),
    .tp_dealloc = (destructor)WeakHook_dealloc,
    .tp_vectorcall_offset = offsetof(WeakHook, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_repr = WeakHook_repr,
    .tp_richcompare = WeakHook_richcompare,
    .tp_hash = WeakHook_hash,
    .tp_traverse = (traverseproc)WeakHook_traverse,
    .tp_clear = (inquiry)WeakHook_clear,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL
                | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "hook(frame, event, arg): func(obj, frame, event, arg), obj "
              "held weakly (impl='python').",
};

static PyObject *weak_method(PyObject *mod, PyObject *args)
{
    PyObject *obj, *func;
    WeakHook *h;

    (void)mod;
    if (!PyArg_ParseTuple(args, "OO:weak_method", &obj, &func))
        return NULL;
    if (!PyCallable_Check(func)) {
        PyErr_SetString(PyExc_TypeError, "func must be callable");
        return NULL;
    }
    h = PyObject_GC_New(WeakHook, &WeakHook_Type);
    if (h == NULL)
        return NULL;
    h->func = NULL;
    h->vectorcall = WeakHook_vectorcall;
    h->ref = PyWeakref_NewRef(obj, NULL);
    if (h->ref == NULL) {
        Py_DECREF(h);
        return NULL;
    }
    Py_INCREF(func);
    h->func = func;
    PyObject_GC_Track(h);
    return (PyObject *)h;
}

static PyObject *Profiler_log_event(Profiler *self, PyObject *args)
{
    long long f, a, e, v1, v2;
    int r;

    if (!PyArg_ParseTuple(args, "LLLLL:log_event", &f, &a, &e, &v1, &v2))
        return NULL;
    r = evprof_log(self->buf, f, a, e, v1, v2);
    if (r < 0) {
        PyErr_SetString(PyExc_MemoryError, evprof_strerror(r));
        return NULL;
    }
    Py_RETURN_TRUE;
}

/* log_marker(frame, event): logs `event` (profiler_start, ...) on behalf of
 * the code of `frame`. */
static PyObject *Profiler_log_marker(Profiler *self, PyObject *args)
{
    PyObject *frame;
    long long e;
    int64_t k = 0;

    if (!PyArg_ParseTuple(args, "OL:log_marker", &frame, &e))
        return NULL;
    if (PyFrame_Check(frame)) {
        PyCodeObject *code = PyFrame_GetCode((PyFrameObject *)frame);
        k = code_key(self, code);
        Py_DECREF(code);
        evprof_context_set(k);
    } else if (frame != Py_None) {
        PyErr_SetString(PyExc_TypeError, "frame must be a frame or None");
        return NULL;
    }
    (void)evprof_log(self->buf, k, 0, e, 0, 0);
    Py_RETURN_NONE;
}

static PyObject *Profiler_set_active(Profiler *self, PyObject *arg)
{
    int on = PyObject_IsTrue(arg);

    if (on < 0)
        return NULL;
    /* Commit the first chunk's memory now, as the seed allocated its whole
     * array up front: page faults would otherwise land in the profiled
     * code, one every 85 events. */
    if (on && evprof_buffer_prepare(self->buf, (size_t)self->size) == -ENOMEM)
        return PyErr_Format(PyExc_MemoryError,
                            "cannot allocate a buffer chunk of size=%zu "
                            "events (%zu bytes each)", self->size,
                            sizeof(evprof_event));
    self->active = on;
    Py_RETURN_NONE;
}

static PyObject *Profiler_memory_start(Profiler *self, PyObject *noarg)
{
    (void)noarg;
    if (mem_owner == self)
        Py_RETURN_NONE;
    if (memory_install(self) != 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *Profiler_memory_stop(Profiler *self, PyObject *noarg)
{
    (void)noarg;
    memory_uninstall(self);
    Py_RETURN_NONE;
}

static PyObject *Profiler_count(Profiler *self, PyObject *noarg)
{
    (void)noarg;
    return PyLong_FromSize_t(evprof_buffer_count(self->buf));
}

static PyObject *Profiler_lost(Profiler *self, PyObject *noarg)
{
    (void)noarg;
    return PyLong_FromUnsignedLongLong(evprof_buffer_lost(self->buf));
}

/* dump(events, threads): moves events into `events`, a writable
 * C-contiguous int64 buffer of n * 6 items, and the index of their thread
 * into `threads` (uint32, n items); returns how many. */
static PyObject *Profiler_dump(Profiler *self, PyObject *args)
{
    PyObject *oev, *oth;
    Py_buffer bev, bth;
    size_t max, n;

    if (!PyArg_ParseTuple(args, "OO:dump", &oev, &oth))
        return NULL;
    if (PyObject_GetBuffer(oev, &bev, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS
                           | PyBUF_FORMAT) != 0)
        return NULL;
    if (PyObject_GetBuffer(oth, &bth, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS
                           | PyBUF_FORMAT) != 0) {
        PyBuffer_Release(&bev);
        return NULL;
    }
    if (bev.itemsize != 8 || bth.itemsize != 4
        || (size_t)bev.len / sizeof(evprof_event) * 4
           > (size_t)bth.len) {
        PyBuffer_Release(&bev);
        PyBuffer_Release(&bth);
        PyErr_SetString(PyExc_ValueError,
                        "dump needs an int64 buffer of n*6 items and a "
                        "uint32 buffer of n items");
        return NULL;
    }
    max = (size_t)bev.len / sizeof(evprof_event);
    n = evprof_buffer_dump_ex(self->buf, bev.buf, bth.buf, max);
    PyBuffer_Release(&bev);
    PyBuffer_Release(&bth);
    return PyLong_FromSize_t(n);
}

static PyObject *Profiler_threads(Profiler *self, PyObject *noarg)
{
    size_t n = evprof_buffer_thread_count(self->buf), i;
    PyObject *list = PyList_New((Py_ssize_t)n);

    (void)noarg;
    if (list == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        evprof_thread_info info = {0, 0};
        PyObject *t;

        if (evprof_buffer_thread(self->buf, i, &info) != 0)
            info.ident = 0;
        t = Py_BuildValue("(KL)", (unsigned long long)info.ident,
                          (long long)info.native_id);
        if (t == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    return list;
}

static PyObject *Profiler_key_base(Profiler *self, PyObject *noarg)
{
    (void)noarg;
    return PyLong_FromLongLong(self->reg.base);
}

static PyObject *Profiler_registry(Profiler *self, PyObject *noarg)
{
    PyObject *list = PyList_New((Py_ssize_t)self->reg.n);
    size_t i;

    (void)noarg;
    if (list == NULL)
        return NULL;
    for (i = 0; i < self->reg.n; i++) {
        Py_INCREF(self->reg.obj[i]);
        PyList_SET_ITEM(list, (Py_ssize_t)i, self->reg.obj[i]);
    }
    return list;
}

/* reset(): a fresh buffer and an empty registry (not while hooked). */
static PyObject *Profiler_reset(Profiler *self, PyObject *noarg)
{
    evprof_buffer *b;

    (void)noarg;
    if (mem_owner == self || self->active) {
        PyErr_SetString(PyExc_RuntimeError,
                        "cannot reset a running profiler");
        return NULL;
    }
    b = evprof_buffer_new(self->size, EVPROF_GROW);
    if (b == NULL)
        return PyErr_NoMemory();
    evprof_buffer_free(self->buf);
    self->buf = b;
    /* Threads may still carry a context (a key) of this run: the keys of
     * the next run start above them. */
    self->reg.base += (int64_t)self->reg.n;
    reg_clear(&self->reg);
    Py_RETURN_NONE;
}

static int Profiler_init(Profiler *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"size", "domains", NULL};
    PyObject *osize;
    int domains = DOM_ALL;
    Py_ssize_t size;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|i:Profiler", kwlist,
                                     &osize, &domains))
        return -1;
    /* Any integer (numpy's too), not a bool. */
    if (!PyIndex_Check(osize) || PyBool_Check(osize)) {
        PyErr_Format(PyExc_TypeError, "size must be an int, not %.100s",
                     Py_TYPE(osize)->tp_name);
        return -1;
    }
    osize = PyNumber_Index(osize);
    if (osize == NULL)
        return -1;
    size = PyLong_AsSsize_t(osize);
    Py_DECREF(osize);
    if (size == -1 && PyErr_Occurred())
        return -1;
    if (size <= 0) {
        PyErr_Format(PyExc_ValueError, "size must be positive, not %zd",
                     size);
        return -1;
    }
    if (domains < 0 || domains > DOM_ALL) {
        PyErr_SetString(PyExc_ValueError, "domains must be a mask of 0..7");
        return -1;
    }
    if (self->buf != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Profiler already initialised");
        return -1;
    }
    self->buf = evprof_buffer_new((size_t)size, EVPROF_GROW);
    if (self->buf == NULL) {
        if (errno == EINVAL)
            PyErr_Format(PyExc_ValueError, "size %zd is too large", size);
        else
            PyErr_NoMemory();
        return -1;
    }
    self->size = (size_t)size;
    self->domains = domains;
    return 0;
}

static int Profiler_traverse(Profiler *self, visitproc visit, void *arg)
{
    size_t i;

    for (i = 0; i < self->reg.n; i++)
        Py_VISIT(self->reg.obj[i]);
    Py_VISIT(self->saved_obj);
    return 0;
}

static int Profiler_clear(Profiler *self)
{
    reg_clear(&self->reg);
    Py_CLEAR(self->saved_obj);
    return 0;
}

static void Profiler_dealloc(Profiler *self)
{
    PyObject_GC_UnTrack(self);
    self->active = 0;
    /* mem_owner holds a reference: never dealloc'd while hooking. */
    Profiler_clear(self);
    evprof_buffer_free(self->buf);
    self->buf = NULL;
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Profiler_get_size(Profiler *self, void *closure)
{
    (void)closure;
    return PyLong_FromSize_t(self->size);
}

static PyObject *Profiler_get_active(Profiler *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(self->active);
}

static PyObject *Profiler_n_columns(PyObject *cls, PyObject *noarg)
{
    (void)cls;
    (void)noarg;
    return PyLong_FromLong(EVPROF_N_COLUMNS);
}

static PyMethodDef Profiler_methods[] = {
    {"c_log_event", (PyCFunction)(void (*)(void))Profiler_c_log_event,
     METH_FASTCALL,
     "c_log_event(frame, event, arg)\n--\n\n"
     "Logs a profile event (the signature of a sys.setprofile function)."},
    {"c_install_thread",
     (PyCFunction)(void (*)(void))Profiler_c_install_thread, METH_FASTCALL,
     "c_install_thread(frame, event, arg)\n--\n\n"
     "As c_log_event, and installs the C profile function in the calling "
     "thread (given to threading.setprofile)."},
    {"hook", (PyCFunction)Profiler_hook, METH_NOARGS,
     "hook()\n--\n\nA profile function for sys.setprofile that logs into "
     "this profiler (as c_log_event, without a recursion check)."},
    {"log_event", (PyCFunction)Profiler_log_event, METH_VARARGS,
     "log_event(id_frame, id_arg, event, value1, value2)\n--\n\n"
     "Logs a raw event; returns True."},
    {"log_marker", (PyCFunction)Profiler_log_marker, METH_VARARGS,
     "log_marker(frame, event)\n--\n\nLogs `event` for frame's code."},
    {"set_active", (PyCFunction)Profiler_set_active, METH_O,
     "set_active(on)\n--\n\nTurns the logging of profile events on/off."},
    {"save_profile", (PyCFunction)Profiler_save_profile, METH_NOARGS,
     "save_profile()\n--\n\nRemembers the calling thread's profiler."},
    {"install", (PyCFunction)(void (*)(void))Profiler_install,
     METH_VARARGS | METH_KEYWORDS,
     "install(all_threads=False)\n--\n\n"
     "Saves the thread's profiler and installs the C profile function."},
    {"restore_profile", (PyCFunction)(void (*)(void))Profiler_restore_profile,
     METH_VARARGS | METH_KEYWORDS,
     "restore_profile(installed=None)\n--\n\n"
     "Puts the saved profiler back in the thread that saved it, where ours "
     "(the C profile function or `installed`) is still in place; returns "
     "whether it was."},
    {"memory_start", (PyCFunction)Profiler_memory_start, METH_NOARGS,
     "memory_start()\n--\n\nHooks the selected PyMem domains."},
    {"memory_stop", (PyCFunction)Profiler_memory_stop, METH_NOARGS,
     "memory_stop()\n--\n\nRestores the allocators."},
    {"count", (PyCFunction)Profiler_count, METH_NOARGS,
     "count()\n--\n\nEvents held in the buffer."},
    {"lost", (PyCFunction)Profiler_lost, METH_NOARGS,
     "lost()\n--\n\nEvents lost so far (0: the buffer grows)."},
    {"dump", (PyCFunction)Profiler_dump, METH_VARARGS,
     "dump(events, threads)\n--\n\nMoves events out; returns how many."},
    {"threads", (PyCFunction)Profiler_threads, METH_NOARGS,
     "threads()\n--\n\n[(ident, native_id)] by thread index."},
    {"registry", (PyCFunction)Profiler_registry, METH_NOARGS,
     "registry()\n--\n\nThe registered objects; key k is item "
     "k - key_base() - 1."},
    {"key_base", (PyCFunction)Profiler_key_base, METH_NOARGS,
     "key_base()\n--\n\nKeys of this run are above it."},
    {"reset", (PyCFunction)Profiler_reset, METH_NOARGS,
     "reset()\n--\n\nEmpties the buffer and the registry."},
    {"n_columns", (PyCFunction)Profiler_n_columns, METH_NOARGS | METH_STATIC,
     "n_columns()\n--\n\n6."},
    {NULL, NULL, 0, NULL}
};

static PyGetSetDef Profiler_getset[] = {
    {"size", (getter)Profiler_get_size, NULL, "events a chunk", NULL},
    {"active", (getter)Profiler_get_active, NULL, "logging on", NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static PyTypeObject Profiler_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "evprof._core.Profiler",
    .tp_basicsize = sizeof(Profiler),
    .tp_dealloc = (destructor)Profiler_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Profiler(size, domains=7)\n--\n\n"
              "The C core of evprof.EventProfiler: an event buffer of "
              "`size` events a chunk, a registry, the hooks.",
    .tp_traverse = (traverseproc)Profiler_traverse,
    .tp_clear = (inquiry)Profiler_clear,
    .tp_methods = Profiler_methods,
    .tp_getset = Profiler_getset,
    .tp_init = (initproc)Profiler_init,
    .tp_new = PyType_GenericNew,
};

/* ---- module functions --------------------------------------------------- */

static PyObject *null_profiler_start(PyObject *mod, PyObject *noarg)
{
    (void)mod;
    (void)noarg;
    PyEval_SetProfile(null_callback, NULL);
    Py_RETURN_NONE;
}

static PyObject *clock_profiler_start(PyObject *mod, PyObject *noarg)
{
    (void)mod;
    (void)noarg;
    evprof_clock_init();
    PyEval_SetProfile(clock_callback, NULL);
    Py_RETURN_NONE;
}

static PyObject *null_profiler_stop(PyObject *mod, PyObject *noarg)
{
    (void)mod;
    (void)noarg;
    PyEval_SetProfile(NULL, NULL);
    Py_RETURN_NONE;
}

static PyObject *memory_hooked(PyObject *mod, PyObject *noarg)
{
    (void)mod;
    (void)noarg;
    return PyBool_FromLong(mem_owner != NULL);
}

static PyObject *clock_name(PyObject *mod, PyObject *noarg)
{
    (void)mod;
    (void)noarg;
    evprof_clock_init();
    return PyUnicode_FromString(evprof_clock_name());
}

static PyMethodDef module_methods[] = {
    {"_null_profiler_start", null_profiler_start, METH_NOARGS,
     "Installs a C profile function that does nothing (benchmark floor)."},
    {"_clock_profiler_start", clock_profiler_start, METH_NOARGS,
     "Installs a C profile function that only reads the clock (benchmark"
     "\nfloor of a timestamped event); _null_profiler_stop removes it."},
    {"_null_profiler_stop", null_profiler_stop, METH_NOARGS,
     "Removes the calling thread's profile function."},
    {"_allocator_hooks", pool_count, METH_NOARGS,
     "How many allocator hooks were ever made (kept and reused)."},
    {"weak_method", weak_method, METH_VARARGS,
     "weak_method(obj, func)\n--\n\nA profile function calling "
     "func(obj, frame, event, arg), obj held weakly; equal to the bound "
     "method obj.func."},
    {"memory_hooked", memory_hooked, METH_NOARGS,
     "True while a profiler hooks the PyMem allocators."},
    {"clock_name", clock_name, METH_NOARGS,
     "The clock in use: 'tsc' or 'monotonic'."},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT, "evprof._core",
    "C core of evprof: buffer, registry, profile and allocator hooks.",
    -1, module_methods, NULL, NULL, NULL, NULL
};

PyMODINIT_FUNC PyInit__core(void);

PyMODINIT_FUNC PyInit__core(void)
{
    PyObject *m;

    if (PyType_Ready(&Profiler_Type) < 0 || PyType_Ready(&Hook_Type) < 0
        || PyType_Ready(&WeakHook_Type) < 0)
        return NULL;
    m = PyModule_Create(&core_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&Profiler_Type);
    if (PyModule_AddObject(m, "Profiler", (PyObject *)&Profiler_Type) < 0
        || PyModule_AddIntConstant(m, "N_COLUMNS", EVPROF_N_COLUMNS) < 0
        || PyModule_AddStringConstant(m, "LIB_VERSION",
                                      evprof_version()) < 0
        || evprof_py_add_reader(m) < 0
        || evprof_py_add_writer(m) < 0) {
        Py_DECREF(&Profiler_Type);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
