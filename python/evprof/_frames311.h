/*
 * _frames311.h: the frame objects of CPython 3.11, out of the record: the
 * part of the profile function that keeps them.  Included by _core.c
 * alone (after its quiet_code_key), whose profile function inlines these
 * static functions: they are on the path of every call and return.
 */
#ifndef EVPROF_PY_FRAMES311_H
#define EVPROF_PY_FRAMES311_H 1

/*
 * On 3.11 a profile function makes the interpreter build a frame object for
 * every call (call_trace), which the program without a profiler would not
 * have: a PyObject_Malloc just before the call event, in the caller's
 * context, and a PyObject_Free just after the return.  Those are the
 * profiler's allocations, not the program's: at the call, when the newest
 * events of this thread are the malloc of the frame object's block (and
 * the line table that call_trace makes at a code object's first trace),
 * they are taken back out of the record (lib/takeback-private.h; while no
 * stream reads the buffer, the malloc's slot becomes the call event
 * itself), and the frame is remembered in a stack of this thread's, with
 * the keys of its code and its caller's.  At its return:
 *   - a frame object that nothing else holds and that is the thread's (not
 *     a generator's) is freed at once: the allocator hook forwards that
 *     free without logging it (evprof__unlogged_free);
 *   - one that outlives the return (a traceback, sys._getframe(), a
 *     generator or coroutine whose frame lives on after a yield) becomes
 *     the program's: its malloc is logged then, the moment the program
 *     took the block, and its free is logged whenever it comes.
 * So every block in the record is paired, and a function that allocates
 * nothing shows no allocation.  On 3.8 to 3.10 frames are real
 * allocations of the interpreter, with or without a profiler: kept.  The
 * caller's code and offset are read from the interpreter's frame record,
 * as PyFrame_GetBack would give them, without a reference taken.
 */
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000 \
    && !defined(Py_GIL_DISABLED)
# define EVP_FRAMES_311 1
# define Py_BUILD_CORE 1
# include "internal/pycore_frame.h"
# include "internal/pycore_gc.h"
# undef Py_BUILD_CORE

# include <pthread.h>

# include "takeback-private.h"

/* A frame whose malloc was taken back, with the keys of its code and of
 * its caller's code at its call: its return names the same two, and a
 * call it makes names it as the caller, so they are looked up once an
 * activation.  A key is the registry's for that code pointer for the whole
 * run (the registry holds the code), so a key is reused only where the
 * pointer is the same. */
struct frame_mark {
    evprof_event malloc;  /* taken back; value1 is the frame's block */
    const PyCodeObject *code, *back_code;
    int64_t key, back_key;
};

/* The frames of this thread whose malloc was taken back, oldest first,
 * and the one whose free is forwarded unlogged; of one run. */
struct frame_marks {
    const Profiler *prof;
    PyObject *token;      /* the run they belong to */
    size_t n, cap;
    struct frame_mark *v;
    evprof_event armed;   /* whose block is evprof__unlogged_free */
};

/* Deeper than this, frames keep their malloc and free (a bound on the
 * memory of a runaway recursion). */
# define MARKS_MAX ((size_t)1 << 16)

static _Thread_local struct frame_marks *marks
    __attribute__((tls_model("initial-exec")));
static pthread_key_t marks_key;
static int marks_key_ok;
static pthread_once_t marks_once = PTHREAD_ONCE_INIT;

static void marks_free(void *p)
{
    struct frame_marks *m = p;

    marks = NULL;
    free(m->v);
    free(m);
}

static void marks_init(void)
{
    marks_key_ok = pthread_key_create(&marks_key, marks_free) == 0;
}

/* Plain malloc, marked as inside a hook: none of it is logged. */
static struct frame_marks *marks_new(void)
{
    struct frame_marks *m;
    int in = evprof__in_hook;

    evprof__in_hook = 1;
    pthread_once(&marks_once, marks_init);
    m = marks_key_ok ? calloc(1, sizeof(*m)) : NULL;
    if (m != NULL && pthread_setspecific(marks_key, m) != 0) {
        free(m);
        m = NULL;
    }
    evprof__in_hook = in;
    return marks = m;
}

/* Room for one more mark: 0, or -1 (then nothing is taken back). */
static int marks_room(struct frame_marks *m)
{
    size_t cap;
    struct frame_mark *v;
    int in;

    if (EVPROF_LIKELY(m->n < m->cap))
        return 0;
    if (m->cap >= MARKS_MAX)
        return -1;
    cap = m->cap ? 2 * m->cap : 64;
    in = evprof__in_hook;
    evprof__in_hook = 1;
    v = realloc(m->v, cap * sizeof(*v));
    evprof__in_hook = in;
    if (v == NULL)
        return -1;
    m->v = v;
    m->cap = cap;
    return 0;
}

/* The frame object's block: the GC header is before the object. */
static inline int64_t frame_block(PyFrameObject *frame)
{
    return (int64_t)(intptr_t)((char *)frame - sizeof(PyGC_Head));
}

/* Logs `e` (a malloc taken back) now, as the program's. */
static __attribute__((noinline, cold)) void log_late(Profiler *self,
                                                    const evprof_event *e)
{
    (void)evprof_log(self->buf, e->id_frame, e->id_arg, e->event,
                     e->value1, e->value2);
}

/* This thread's marks for the run going on: those of an earlier run are
 * dropped (their frames ended after it, unseen). */
static inline struct frame_marks *marks_of(Profiler *self)
{
    struct frame_marks *m = marks;

    if (EVPROF_UNLIKELY(m == NULL))
        return NULL;
    if (EVPROF_UNLIKELY(m->prof != self || m->token != self->token)) {
        if (evprof__unlogged_free == (const void *)(intptr_t)m->armed.value1)
            evprof__unlogged_free = NULL;
        m->prof = self;
        m->token = self->token;
        m->n = 0;
    }
    return m;
}

/* The key of `code`, from the mark `top` (NULL: none) when it holds that
 * code, else from the registry. */
static inline int64_t mark_key(Profiler *self, const struct frame_mark *top,
                               PyCodeObject *code)
{
    if (top != NULL) {
        if (top->code == code)
            return top->key;
        if (top->back_code == code)
            return top->back_key;
    }
    return quiet_code_key(self, code);
}

/* Field by field: a struct copy may become a `rep movs`, slow to start
 * for 48 bytes. */
static inline void event_copy(evprof_event *to, const evprof_event *from)
{
    to->id_frame = from->id_frame;
    to->id_arg = from->id_arg;
    to->event = from->event;
    to->time = from->time;
    to->value1 = from->value1;
    to->value2 = from->value2;
}

/* The malloc of the frame object's block (and that of its code's line
 * table, made after it at the code's first trace) taken back into *out:
 * 1, or 0 when they are not this thread's newest events.  A stream reads
 * the buffer meanwhile, or the line table's first trace. */
static __attribute__((noinline)) int take_back_frame(Profiler *self,
                                                     int64_t block,
                                                     PyCodeObject *code,
                                                     evprof_event *out)
{
    int64_t blocks[2];
    evprof_event e[2];

    blocks[0] = block;
    if (evprof__take_back_mallocs(self->buf, blocks, 1, out))
        return 1;
    blocks[1] = (int64_t)(intptr_t)code->_co_linearray;
    if (blocks[1] == 0 || !evprof__take_back_mallocs(self->buf, blocks, 2, e))
        return 0;
    event_copy(out, &e[0]);
    return 1;
}

/*
 * At the call of `frame`, m being marks_of(self): when this thread's
 * newest events are the malloc of the frame object's block (and that of
 * its code's line table), they are taken out of the record and the frame
 * is marked with its keys.  While no stream reads the buffer, the malloc's
 * slot becomes the call event itself (lib/takeback-private.h: no consumer
 * reads the in-memory buffer while the GIL is held), stamped with the
 * time of the malloc, which the interpreter made for this call: then 1,
 * the call is logged.  0: the caller logs the call.
 */
static int frame_called(Profiler *self, struct frame_marks *m,
                        PyFrameObject *frame, PyCodeObject *code,
                        int64_t key, PyCodeObject *back_code,
                        int64_t back_key, int64_t lasti)
{
    struct frame_mark *k;
    int64_t blocks[1];
    int logged = 0;

    if (m == NULL) {
        m = marks_new();
        if (m == NULL)
            return 0;
        m->prof = self;
        m->token = self->token;
    }
    if (marks_room(m) != 0)
        return 0;
    blocks[0] = frame_block(frame);
    k = &m->v[m->n];
    if (evp_stream_of(self) == NULL
        && evprof__malloc_to_event(self->buf, blocks[0], &k->malloc, key,
                                   back_key, EVPROF_CALL, lasti, 0)) {
        logged = 1;
    } else if (!take_back_frame(self, blocks[0], code, &k->malloc)) {
        return 0;
    }
    k->code = code;
    k->key = key;
    k->back_code = back_code;
    k->back_key = back_key;
    m->n++;
    return logged;
}

/* At the return of `frame` (after its event), m being marks_of(self):
 * see above. */
static void frame_returned(Profiler *self, struct frame_marks *m,
                           PyFrameObject *frame)
{
    evprof_event *e;

    if (m == NULL || m->n == 0)
        return;
    e = &m->v[m->n - 1].malloc;
    if (e->value1 != frame_block(frame))
        return;
    m->n--;
    if (Py_REFCNT(frame) == 1
        && frame->f_frame->owner == FRAME_OWNED_BY_THREAD) {
        /* The free comes next; one armed before and not freed yet
         * outlived its return after all (a deferred deallocation). */
        if (evprof__unlogged_free != NULL
            && evprof__unlogged_free
               == (const void *)(intptr_t)m->armed.value1)
            log_late(self, &m->armed);
        event_copy(&m->armed, e);
        evprof__unlogged_free = (const void *)(intptr_t)e->value1;
    } else {
        log_late(self, e);
    }
}

/* The code of a frame and its caller's, with the offset the caller waits
 * at: borrowed. */
static inline PyCodeObject *frame_caller(PyFrameObject *frame,
                                         PyCodeObject **back_code,
                                         int64_t *lasti)
{
    _PyInterpreterFrame *f = frame->f_frame, *prev;

    *back_code = NULL;
    *lasti = -1;
    if (frame->f_back != NULL) {
        prev = frame->f_back->f_frame;
    } else {
        prev = f->previous;
        while (prev != NULL && _PyFrame_IsIncomplete(prev))
            prev = prev->previous;
    }
    if (prev != NULL) {
        int i = _PyInterpreterFrame_LASTI(prev);

        *back_code = prev->f_code;
        *lasti = i < 0 ? -1 : (int64_t)i * (int64_t)sizeof(_Py_CODEUNIT);
    }
    return f->f_code;
}
#endif /* EVP_FRAMES_311 */

#endif /* EVPROF_PY_FRAMES311_H */
