/*
 * _monitoring_frames.h: what the sys.monitoring callbacks (_monitoring.c)
 * read of the interpreter itself, inline: its frame records, the thread
 * state, the offset ints it passes them.  Included there alone.
 */
#ifndef EVPROF_PY_MONITORING_FRAMES_H
#define EVPROF_PY_MONITORING_FRAMES_H 1

#include <Python.h>

/* The interpreter's frame record (_PyInterpreterFrame): read only, and
 * on 3.12 and 3.13 with its inline readers compiled as in the
 * interpreter, without their assertions (a code object tested at each
 * step of a walk); 3.14's internal headers want NDEBUG as the headers
 * before them had it. */
#if !defined(NDEBUG) && PY_VERSION_HEX < 0x030E0000
# define EVP_FRAMES_NDEBUG 1
# define NDEBUG 1
# include <assert.h>
#endif
#define Py_BUILD_CORE 1
#if PY_VERSION_HEX >= 0x030E0000
# include "internal/pycore_interpframe.h"
#else
# include "internal/pycore_frame.h"
#endif
#undef Py_BUILD_CORE
#ifdef EVP_FRAMES_NDEBUG
# undef NDEBUG
# undef EVP_FRAMES_NDEBUG
# include <assert.h>
#endif

/* ---- frames ------------------------------------------------------------
 *
 * Through the interpreter's own inline readers, which know each version's
 * record: 3.12's f_code, 3.13's f_executable, 3.14's f_executable as a
 * tagged stack reference and its per-thread bytecode copies of a
 * free-threaded build (instr_ptr points into the thread's copy).  Entry
 * frames and frames not yet started are skipped as "incomplete".
 */

/* The top frame record, complete or not. */
static inline _PyInterpreterFrame *top_frame(PyThreadState *ts)
{
# if PY_VERSION_HEX >= 0x030D0000
    return ts->current_frame;
# else
    return ts->cframe->current_frame;
# endif
}

/* What a frame record, complete or not, runs, as an address only: None
 * in an entry frame (3.12: the interpreter's trampoline), never the
 * program's code.  Read without the checks of _PyFrame_GetCode (which
 * asserts a code object, in a build with assertions). */
static inline const void *frame_executable(const _PyInterpreterFrame *f)
{
# if PY_VERSION_HEX >= 0x030E0000
    return (const void *)(f->f_executable.bits & ~(uintptr_t)Py_TAG_BITS);
# elif PY_VERSION_HEX >= 0x030D0000
    return f->f_executable;
# else
    return f->f_code;
# endif
}

static inline PyCodeObject *frame_code(_PyInterpreterFrame *f)
{
# if PY_VERSION_HEX >= 0x030D0000
    return _PyFrame_GetCode(f);
# else
    return f->f_code;
# endif
}

/* The offset in bytes of the instruction f runs, as PyFrame_GetLasti. */
static inline int64_t frame_offset(_PyInterpreterFrame *f)
{
    int i = _PyInterpreterFrame_LASTI(f);

    return i < 0 ? -1 : (int64_t)i * (int64_t)sizeof(_Py_CODEUNIT);
}

/* frame_offset of a complete frame record, as _PyFrame_GetFirstComplete
 * gives: at or past its first traceable instruction, never negative. */
static inline int64_t complete_frame_offset(_PyInterpreterFrame *f)
{
# if PY_VERSION_HEX >= 0x030E0000
    return frame_offset(f);
# elif PY_VERSION_HEX >= 0x030D0000
    return (int64_t)((const char *)f->instr_ptr
                     - (const char *)_PyCode_CODE(frame_code(f)));
# else
    return (int64_t)((const char *)f->prev_instr
                     - (const char *)_PyCode_CODE(f->f_code));
# endif
}

static inline PyThreadState *this_thread(void)
{
# if PY_VERSION_HEX >= 0x030D0000
    return PyThreadState_GetUnchecked();
# else
    return _PyThreadState_UncheckedGet();
# endif
}

/* The caller of a Python event: the first complete frame record below
 * that of `code`, or NULL; `code` is on top and complete (the event is at
 * or past its RESUME), or gone already (its unwinding), and the first
 * complete frame is the caller's. */
static inline _PyInterpreterFrame *py_caller(PyThreadState *ts,
                                             const PyCodeObject *code)
{
    _PyInterpreterFrame *f = top_frame(ts);

    if (f == NULL)
        return NULL;
    return _PyFrame_GetFirstComplete(
        frame_executable(f) == (const void *)code ? f->previous : f);
}

/* The offset int of a callback, when it is 0 or a one-digit positive int
 * (every offset under 2**30 bytes): 1 and *off, else 0.  The int's layout
 * read directly, as PyUnstable_Long_CompactValue does, without its
 * assertions. */
static inline int small_offset(PyObject *o, int64_t *off)
{
    uintptr_t tag;

    if (!PyLong_CheckExact(o))
        return 0;
    tag = ((PyLongObject *)o)->long_value.lv_tag;
    if (tag == (uintptr_t)1 << _PyLong_NON_SIZE_BITS) {
        *off = (int64_t)((PyLongObject *)o)->long_value.ob_digit[0];
        return 1;
    }
    if (tag == 1) { /* zero: no digit, the sign's bits 1 */
        *off = 0;
        return 1;
    }
    return 0;
}

#endif
