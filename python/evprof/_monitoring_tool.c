/*
 * _monitoring_tool.c: the sys.monitoring backend's tool id and the
 * registration of its callbacks (_monitoring.c), taken at each start
 * and given back at each stop.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <link.h>
#include <stdint.h>

#include "_core.h"
#include "_monitoring.h"

#if EVP_MONITORING

const int evp_monitoring_available = 1;

/* The tool ids tried, in order: the two that PEP 669 leaves unassigned,
 * then the profilers' one, so that cProfile (which takes that one) can
 * run while evprof records. */
static const int tool_ids[] = {3, 4, 2};
static const char tool_name[] = "evprof";

/* The names in sys.monitoring.events, in the order of the EV_* codes;
 * their bit numbers are read from there. */
static const char *const event_names[N_EV] = {
    "PY_START", "PY_RESUME", "PY_THROW", "PY_RETURN", "PY_YIELD",
    "PY_UNWIND", "CALL", "C_RETURN", "C_RAISE"
};
static long event_bits[N_EV];

static PyObject *monitoring_module(void)
{
    PyObject *sys = PyImport_ImportModule("sys"), *m;

    if (sys == NULL)
        return NULL;
    m = PyObject_GetAttrString(sys, "monitoring");
    Py_DECREF(sys);
    return m;
}

int evp_monitoring_ready(void)
{
    PyObject *mon, *events;
    int i;

    mon = monitoring_module();
    if (mon == NULL)
        return -1;
    if (evp_mon_callbacks_ready(mon) < 0) {
        Py_DECREF(mon);
        return -1;
    }
    events = PyObject_GetAttrString(mon, "events");
    Py_DECREF(mon);
    if (events == NULL)
        goto fail;
    for (i = 0; i < N_EV; i++) {
        PyObject *v = PyObject_GetAttrString(events, event_names[i]);
        long bit = v != NULL ? PyLong_AsLong(v) : -1;

        Py_XDECREF(v);
        if (bit == -1 && PyErr_Occurred())
            goto fail;
        /* events.X is the flag 1 << number */
        if (bit <= 0 || (bit & (bit - 1)) != 0 || bit > (1L << 30)) {
            PyErr_Format(PyExc_SystemError, "unexpected "
                         "sys.monitoring.events.%s", event_names[i]);
            goto fail;
        }
        event_bits[i] = bit;
    }
    Py_DECREF(events);
    return 0;
fail:
    Py_XDECREF(events);
    return -1;
}

/* Puts sys.monitoring back as before a start that got as far as `tool`:
 * every callback of ours taken out, the events off, the id freed. */
static void release(PyObject *mon, int tool)
{
    PyObject *r;
    int i;

    for (i = 0; i < N_EV; i++) {
        r = PyObject_CallMethod(mon, "register_callback", "ilO", tool,
                                event_bits[i], Py_None);
        Py_XDECREF(r);
    }
    r = PyObject_CallMethod(mon, "set_events", "ii", tool, 0);
    Py_XDECREF(r);
    r = PyObject_CallMethod(mon, "free_tool_id", "i", tool);
    Py_XDECREF(r);
    PyErr_Clear();
}

/*
 * Takes a tool id and registers our callbacks for every event above, of
 * every thread (all_threads) or the calling one's only.  0, or -1 with an
 * exception and sys.monitoring as it was.
 */
static int monitoring_start(Profiler *self, int all_threads);
static int monitoring_stop(Profiler *self);

/* The registration's own allocations (the calls into sys.monitoring,
 * our callbacks) are not logged as the program's. */
int evp_monitoring_start(Profiler *self, int all_threads)
{
    int in = evprof__in_hook, rc;

    evprof__in_hook = 1;
    rc = monitoring_start(self, all_threads);
    evprof__in_hook = in;
    return rc;
}

int evp_monitoring_stop(Profiler *self)
{
    int in = evprof__in_hook, rc;

    evprof__in_hook = 1;
    rc = monitoring_stop(self);
    evprof__in_hook = in;
    return rc;
}

static int monitoring_start(Profiler *self, int all_threads)
{
    PyObject *mon, *r, *cb;
    int tool = -1, i;
    long mask = 0;
    size_t t;

    if (self->mon_tool >= 0) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the monitoring callbacks are already registered");
        return -1;
    }
    mon = monitoring_module();
    if (mon == NULL)
        return -1;
    for (t = 0; t < sizeof(tool_ids) / sizeof(tool_ids[0]); t++) {
        r = PyObject_CallMethod(mon, "get_tool", "i", tool_ids[t]);
        if (r == NULL)
            goto fail;
        if (r == Py_None) {
            Py_DECREF(r);
            r = PyObject_CallMethod(mon, "use_tool_id", "is", tool_ids[t],
                                    tool_name);
            if (r == NULL)
                goto fail;
            Py_DECREF(r);
            tool = tool_ids[t];
            break;
        }
        Py_DECREF(r);
    }
    if (tool < 0) {
        PyErr_SetString(PyExc_RuntimeError,
                        "no sys.monitoring tool id free for evprof (2, 3 "
                        "and 4 are taken by other tools)");
        goto fail;
    }
    evp_mon_mark_run(self, all_threads);
    for (i = 0; i < N_EV; i++) {
        cb = evp_mon_callback_new(self, i);
        if (cb == NULL)
            goto undo;
        r = PyObject_CallMethod(mon, "register_callback", "ilO", tool,
                                event_bits[i], cb);
        Py_DECREF(cb);
        if (r == NULL)
            goto undo;
        Py_DECREF(r);
        mask |= event_bits[i];
    }
    r = PyObject_CallMethod(mon, "set_events", "il", tool, mask);
    if (r == NULL)
        goto undo;
    Py_DECREF(r);
    Py_DECREF(mon);
    self->mon_tool = tool;
    return 0;
undo:
    {
        saved_error e;

        error_save(&e);
        release(mon, tool);
        error_restore(&e);
    }
fail:
    Py_DECREF(mon);
    return -1;
}

/*
 * Takes our callbacks out and frees the tool id.  Never fails; returns
 * whether the id was still ours with our callbacks (a tool id that the
 * program freed, and perhaps another tool took since, is left alone).
 */
static int monitoring_stop(Profiler *self)
{
    PyObject *mon, *r;
    int tool = self->mon_tool, ours = 1, i;
    saved_error e;

    if (tool < 0)
        return 1;
    self->mon_tool = -1;
    error_save(&e);
    mon = monitoring_module();
    if (mon == NULL) {
        PyErr_Clear();
        error_restore(&e);
        return 0;
    }
    r = PyObject_CallMethod(mon, "get_tool", "i", tool);
    if (r == NULL || !PyUnicode_Check(r)
        || PyUnicode_CompareWithASCIIString(r, tool_name) != 0)
        ours = 0;
    Py_XDECREF(r);
    PyErr_Clear();
    if (ours) {
        for (i = 0; i < N_EV; i++) {
            /* register_callback returns the callback it replaces. */
            r = PyObject_CallMethod(mon, "register_callback", "ilO", tool,
                                    event_bits[i], Py_None);
            if (r == NULL || !evp_mon_callback_of(r, self))
                ours = 0;
            Py_XDECREF(r);
            PyErr_Clear();
        }
        r = PyObject_CallMethod(mon, "set_events", "ii", tool, 0);
        Py_XDECREF(r);
        r = PyObject_CallMethod(mon, "free_tool_id", "i", tool);
        Py_XDECREF(r);
        PyErr_Clear();
    }
    Py_DECREF(mon);
    error_restore(&e);
    return ours;
}

/* In a forked child: the callbacks out, as at a stop. */
void evp_monitoring_after_fork(Profiler *self)
{
    (void)evp_monitoring_stop(self);
}

/* ---- the thread state's own variable -------------------------------------
 *
 * PyThreadState_GetUnchecked (3.12's _PyThreadState_UncheckedGet) reads
 * a thread-local variable of the interpreter (_Py_tss_tstate), through a
 * call and __tls_get_addr: about 20 instructions, the callbacks' only
 * call.  That variable is not exported, but it lives in the thread's TLS
 * block of the module that defines the function: the one word there
 * that holds the calling thread's state is taken as its address, for
 * this thread, to be read directly.  Anything less than one such word
 * (another variable holding the same pointer, as 3.14's gilstate one, a
 * block not found) gives NULL, and the callbacks then make the call.
 * What is read is the interpreter's own variable, so a state swapped in
 * later (PyThreadState_Swap) is read as the call would read it.
 */
# if defined(__GLIBC__)  /* dlinfo, RTLD_DI_TLS_DATA (an enum), dl_iterate_phdr */
#  if PY_VERSION_HEX >= 0x030D0000
#   define TSTATE_GET PyThreadState_GetUnchecked
#  else
#   define TSTATE_GET _PyThreadState_UncheckedGet
#  endif
struct tls_find {
    uintptr_t base;  /* the module's load address (dladdr's dli_fbase) */
    size_t size;     /* its PT_TLS segment's size in memory, 0: none */
    int main;        /* it is the main program */
};

static int tls_segment(struct dl_phdr_info *info, size_t n, void *arg)
{
    struct tls_find *f = arg;
    int i;

    (void)n;
    for (i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

        if (ph->p_type == PT_LOAD && ph->p_offset == 0
            && info->dlpi_addr + ph->p_vaddr == f->base) {
            int j;

            for (j = 0; j < info->dlpi_phnum; j++)
                if (info->dlpi_phdr[j].p_type == PT_TLS)
                    f->size = info->dlpi_phdr[j].p_memsz;
            f->main = info->dlpi_name == NULL || info->dlpi_name[0] == 0;
            return 1;
        }
    }
    return 0;
}

PyThreadState *const *evp_mon_tstate_slot(void)
{
    PyThreadState *ts = TSTATE_GET();
    PyThreadState *const *slot = NULL;
    struct tls_find f = {0, 0, 0};
    Dl_info info;
    void *h, *block = NULL;
    size_t i;

    if (ts == NULL
        || dladdr((void *)(uintptr_t)&TSTATE_GET,
                  &info) == 0
        || info.dli_fbase == NULL)
        return NULL;
    f.base = (uintptr_t)info.dli_fbase;
    (void)dl_iterate_phdr(tls_segment, &f);
    if (f.size < sizeof(ts))
        return NULL;
    /* The main program's handle for the interpreter linked statically. */
    h = f.main ? dlopen(NULL, RTLD_LAZY)
               : dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    if (h == NULL)
        return NULL;
    if (dlinfo(h, RTLD_DI_TLS_DATA, &block) != 0 || block == NULL
        || (uintptr_t)block % sizeof(ts) != 0) {
        dlclose(h);
        return NULL;
    }
    for (i = 0; i + sizeof(ts) <= f.size; i += sizeof(ts)) {
        PyThreadState *const *w =
            (PyThreadState *const *)((char *)block + i);

        if (*w == ts) {
            if (slot != NULL) {
                slot = NULL;  /* two of them: neither is sure */
                break;
            }
            slot = w;
        }
    }
    dlclose(h);
    return slot;
}
# else
PyThreadState *const *evp_mon_tstate_slot(void)
{
    return NULL;
}
# endif

#else /* no sys.monitoring, or a frame record _monitoring.c does not know */

const int evp_monitoring_available = 0;

int evp_monitoring_ready(void)
{
    return 0;
}

int evp_monitoring_start(Profiler *self, int all_threads)
{
    (void)self;
    (void)all_threads;
    PyErr_SetString(PyExc_RuntimeError,
                    "sys.monitoring is not available to evprof here");
    return -1;
}

int evp_monitoring_stop(Profiler *self)
{
    (void)self;
    return 1;
}

void evp_monitoring_after_fork(Profiler *self)
{
    (void)self;
}

#endif
