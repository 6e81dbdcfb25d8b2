/*
 * _compat.h: what the extension needs from CPython 3.8 to 3.14 under one
 * set of names, so that the other files read as for one version.
 */
#ifndef EVPROF_PY_COMPAT_H
#define EVPROF_PY_COMPAT_H 1

#include <Python.h>
#include <frameobject.h>
#include <stdint.h>

#if PY_VERSION_HEX < 0x03090000
static inline PyCodeObject *PyFrame_GetCode(PyFrameObject *f)
{
    Py_INCREF(f->f_code);
    return f->f_code;
}

static inline PyFrameObject *PyFrame_GetBack(PyFrameObject *f)
{
    Py_XINCREF(f->f_back);
    return f->f_back;
}

# define Py_TPFLAGS_HAVE_VECTORCALL _Py_TPFLAGS_HAVE_VECTORCALL
# define PyObject_Vectorcall _PyObject_Vectorcall
#endif

#if PY_VERSION_HEX < 0x030D0000
/* Public from 3.13, the private name deprecated in 3.14. */
# define Py_HashPointer _Py_HashPointer
#endif

/* The offset in bytes of the instruction a frame runs (a call site while
 * the frame waits for its callee), as code.co_lines() counts them. */
static inline int64_t frame_lasti(PyFrameObject *f)
{
#if PY_VERSION_HEX >= 0x030B0000
    return (int64_t)PyFrame_GetLasti(f);
#elif PY_VERSION_HEX >= 0x030A0000
    return f->f_lasti < 0 ? -1 : (int64_t)f->f_lasti * 2;
#else
    return (int64_t)f->f_lasti;
#endif
}

/*
 * The code object a frame runs, borrowed: the frame holds it for as long
 * as the frame lives.  On a free-threaded build PyFrame_GetCode's new
 * reference is an atomic add and subtract on the code object's shared
 * count, a cache line that every thread running the same function writes:
 * two threads calling one function at once scale 1.4x instead of 1.9x
 * with the profile function (bench/bench_ft.py).  There the interpreter's
 * own frame record is read instead (internal headers, read only).
 */
#if defined(Py_GIL_DISABLED) && PY_VERSION_HEX >= 0x030D0000
# define Py_BUILD_CORE 1
# include "internal/pycore_frame.h"
# if PY_VERSION_HEX >= 0x030E0000
#  include "internal/pycore_interpframe.h"
# endif
# undef Py_BUILD_CORE
static inline PyCodeObject *frame_code_borrow(PyFrameObject *f)
{
    return _PyFrame_GetCode(f->f_frame);
}
#else
static inline PyCodeObject *frame_code_borrow(PyFrameObject *f)
{
    PyCodeObject *c = PyFrame_GetCode(f);

    Py_DECREF(c); /* the frame's reference stays */
    return c;
}
#endif

/* The exception being raised, kept aside and put back. */
typedef struct { PyObject *a, *b, *c; } saved_error;

static inline void error_save(saved_error *s)
{
#if PY_VERSION_HEX >= 0x030C0000
    s->a = PyErr_GetRaisedException();
    s->b = s->c = NULL;
#else
    PyErr_Fetch(&s->a, &s->b, &s->c);
#endif
}

static inline void error_restore(saved_error *s)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(s->a);
#else
    PyErr_Restore(s->a, s->b, s->c);
#endif
}

static inline PyInterpreterState *tstate_interp(PyThreadState *ts)
{
#if PY_VERSION_HEX < 0x03090000
    return ts->interp;
#else
    return PyThreadState_GetInterpreter(ts);
#endif
}

/* The unique id of a thread state in its interpreter: a thread that
 * ended and a new one may share the address of their states and their
 * pthread id, never this. */
static inline uint64_t tstate_id(PyThreadState *ts)
{
#if PY_VERSION_HEX < 0x03090000
    return ts->id;
#else
    return PyThreadState_GetID(ts);
#endif
}

#if PY_VERSION_HEX >= 0x030D0000 && PY_VERSION_HEX < 0x030F0000
/* Exported by 3.13 and 3.14, but declared in an internal header only. */
extern int _PyEval_SetProfile(PyThreadState *tstate, Py_tracefunc func,
                              PyObject *arg);
#endif

/*
 * A lock for the few writers that other threads' hooks race with: the
 * registry's inserts, the allocator hooks' install and removal.  PyMutex
 * from 3.13 (a free-threaded build has no GIL to lean on); while it waits
 * it lets go of the thread state, so a holder that needs the GIL or a stop
 * of the world never deadlocks with it.  Before 3.13 the GIL serialises
 * these writers: nothing to take.
 */
#if PY_VERSION_HEX >= 0x030D0000
typedef PyMutex evp_lock;
# define EVP_LOCK_INIT {0}
# define evp_lock_take(l) PyMutex_Lock(l)
# define evp_lock_give(l) PyMutex_Unlock(l)
#else
typedef struct { char unused; } evp_lock;
# define EVP_LOCK_INIT {0}
# define evp_lock_take(l) ((void)(l))
# define evp_lock_give(l) ((void)(l))
#endif

/* Fields written by start and stop and read by hooks on other threads:
 * whole-word atomic loads and stores (no ordering is needed beyond it:
 * the buffer and the registry publish their own data). */
#define EVP_LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define EVP_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

#endif
