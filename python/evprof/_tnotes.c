/*
 * _tnotes.c: ThreadNotes(notes, gate, items), a dict that appends each
 * value stored into it to the list `notes` while the set `gate` (the
 * profilers running) is not empty.  Put in place of threading._limbo,
 * where Thread.start stores each thread it starts, it notes the threads
 * started while a profiler runs, so that the names of those that end are
 * kept (evprof/_threadnames.py reads them).
 *
 * A store into a dict is no call: the profile hook reports no event for
 * it, nothing of this enters a timeline and no event of the program is
 * lost.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_core.h"

typedef struct {
    PyDictObject dict;
    PyObject *notes, *gate;
} ThreadNotes;

static int tn_init(ThreadNotes *self, PyObject *args, PyObject *kw)
{
    PyObject *notes, *gate, *items = NULL;

    if (kw != NULL && PyDict_GET_SIZE(kw) != 0) {
        PyErr_SetString(PyExc_TypeError, "ThreadNotes takes no keywords");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "O!O!|O!:ThreadNotes", &PyList_Type, &notes,
                          &PySet_Type, &gate, &PyDict_Type, &items))
        return -1;
    if (items != NULL && PyDict_Update((PyObject *)self, items) < 0)
        return -1;
    Py_INCREF(notes);
    Py_INCREF(gate);
    Py_XSETREF(self->notes, notes);
    Py_XSETREF(self->gate, gate);
    return 0;
}

/* d[key] = value as a dict does; a Thread stored while the gate is not
 * empty is noted. */
static int tn_ass_subscript(ThreadNotes *self, PyObject *key,
                            PyObject *value)
{
    int r = PyDict_Type.tp_as_mapping->mp_ass_subscript((PyObject *)self,
                                                        key, value);

    if (r == 0 && value != NULL && self->gate != NULL
        && PySet_GET_SIZE(self->gate) > 0 && self->notes != NULL
        && PyList_Append(self->notes, value) < 0)
        PyErr_Clear(); /* a note lost to a MemoryError loses a name only */
    return r;
}

static int tn_traverse(ThreadNotes *self, visitproc visit, void *arg)
{
    Py_VISIT(self->notes);
    Py_VISIT(self->gate);
    return PyDict_Type.tp_traverse((PyObject *)self, visit, arg);
}

static int tn_clear(ThreadNotes *self)
{
    Py_CLEAR(self->notes);
    Py_CLEAR(self->gate);
    return PyDict_Type.tp_clear((PyObject *)self);
}

static void tn_dealloc(ThreadNotes *self)
{
    PyObject_GC_UnTrack(self);
    Py_CLEAR(self->notes);
    Py_CLEAR(self->gate);
    PyDict_Type.tp_dealloc((PyObject *)self);
}

static PyMappingMethods tn_mapping;

static PyTypeObject ThreadNotes_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "evprof._core.ThreadNotes",
    .tp_basicsize = sizeof(ThreadNotes),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "ThreadNotes(notes, gate, items={})\n--\n\n"
              "A dict that appends each value stored into it to the list "
              "notes while the set gate is not empty.",
    .tp_init = (initproc)tn_init,
    .tp_traverse = (traverseproc)tn_traverse,
    .tp_clear = (inquiry)tn_clear,
    .tp_dealloc = (destructor)tn_dealloc,
};

int evp_tnotes_add(PyObject *module)
{
    ThreadNotes_Type.tp_base = &PyDict_Type;
    tn_mapping = *PyDict_Type.tp_as_mapping;
    tn_mapping.mp_ass_subscript = (objobjargproc)tn_ass_subscript;
    ThreadNotes_Type.tp_as_mapping = &tn_mapping;
    if (PyType_Ready(&ThreadNotes_Type) < 0)
        return -1;
    Py_INCREF(&ThreadNotes_Type);
    if (PyModule_AddObject(module, "ThreadNotes",
                           (PyObject *)&ThreadNotes_Type) < 0) {
        Py_DECREF(&ThreadNotes_Type);
        return -1;
    }
    return 0;
}
