/*
 * _names.c: a key of the registry described for a trace file (a NAMES
 * record and, for code, the line of every instruction offset), in plain
 * C memory that a thread without the GIL writes out later (_stream.c).
 * Called once a key, when the registry adds it, with the GIL held.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>
#include <string.h>

#include "_core.h"
#include "_names.h"

/* The UTF-8 bytes of str(o) (lone surrogates as the bytes they stand
 * for), NULL for None or on error (cleared). */
PyObject *evp_utf8_of(PyObject *o)
{
    PyObject *s, *b;

    if (o == NULL || o == Py_None)
        return NULL;
    s = PyObject_Str(o);
    if (s == NULL) {
        PyErr_Clear();
        return NULL;
    }
    b = PyUnicode_AsEncodedString(s, "utf-8", "surrogateescape");
    Py_DECREF(s);
    if (b == NULL)
        PyErr_Clear();
    return b;
}

static const char *text_of(PyObject *b)
{
    return b != NULL ? PyBytes_AS_STRING(b) : "";
}

/* An attribute, NULL (cleared) when it has none. */
static PyObject *attr(PyObject *o, const char *name)
{
    PyObject *v = PyObject_GetAttrString(o, name);

    if (v == NULL)
        PyErr_Clear();
    return v;
}

struct ranges {
    int64_t *v;
    size_t n, cap;
};

static int add_range(struct ranges *r, int64_t start, int64_t end,
                     int64_t line)
{
    if (end <= start)
        return 0;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        int64_t *v = realloc(r->v, cap * 3 * sizeof(*v));

        if (v == NULL)
            return -1;
        r->v = v;
        r->cap = cap;
    }
    r->v[3 * r->n] = start;
    r->v[3 * r->n + 1] = end;
    r->v[3 * r->n + 2] = line;
    r->n++;
    return 0;
}

/* The line of every instruction offset of `code`, as ranges: what
 * code.co_lines() says (a range without a line: the first line), as the
 * in-memory report resolves call sites.  0, or -1 (no memory). */
static int line_ranges(PyCodeObject *code, struct ranges *r)
{
    int64_t first = code->co_firstlineno;
#if PY_VERSION_HEX >= 0x030A0000
    PyObject *it = PyObject_CallMethod((PyObject *)code, "co_lines", NULL);
    PyObject *t;

    if (it == NULL) {
        PyErr_Clear();
        return 0;
    }
    while ((t = PyIter_Next(it)) != NULL) {
        long long start, end, line = first;

        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 3) {
            Py_DECREF(t);
            break;
        }
        start = PyLong_AsLongLong(PyTuple_GET_ITEM(t, 0));
        end = PyLong_AsLongLong(PyTuple_GET_ITEM(t, 1));
        if (PyTuple_GET_ITEM(t, 2) != Py_None)
            line = PyLong_AsLongLong(PyTuple_GET_ITEM(t, 2));
        Py_DECREF(t);
        if (PyErr_Occurred())
            break;
        if (add_range(r, start, end, line) != 0) {
            Py_DECREF(it);
            return -1;
        }
    }
    Py_DECREF(it);
    PyErr_Clear();
    return 0;
#else
    /* co_lnotab: (offset increment, line increment) byte pairs, as
     * dis.findlinestarts reads them. */
    const unsigned char *p;
    Py_ssize_t n, i;
    int64_t size, addr = 0, line = first, start = 0, start_line = first;

    if (!PyBytes_Check(code->co_lnotab) || !PyBytes_Check(code->co_code))
        return 0;
    p = (const unsigned char *)PyBytes_AS_STRING(code->co_lnotab);
    n = PyBytes_GET_SIZE(code->co_lnotab) / 2;
    size = PyBytes_GET_SIZE(code->co_code);
    for (i = 0; i < n; i++) {
        int incr = p[2 * i + 1] >= 0x80 ? (int)p[2 * i + 1] - 0x100
                                         : (int)p[2 * i + 1];

        if (p[2 * i] != 0) {
            if (line != start_line) {
                if (add_range(r, start, addr, start_line) != 0)
                    return -1;
                start = addr;
                start_line = line;
            }
            addr += p[2 * i];
        }
        line += incr;
    }
    if (line != start_line) {
        if (add_range(r, start, addr, start_line) != 0)
            return -1;
        start = addr;
        start_line = line;
    }
    return add_range(r, start, size, start_line);
#endif
}

static struct evp_name *new_name(int64_t key, int32_t kind,
                                     int32_t first, const char *name,
                                     const char *module, const char *file)
{
    size_t a = strlen(name) + 1, b = strlen(module) + 1,
           c = strlen(file) + 1;
    struct evp_name *p = malloc(sizeof(*p) + a + b + c);

    if (p == NULL)
        return NULL;
    memcpy(p->text, name, a);
    memcpy(p->text + a, module, b);
    memcpy(p->text + a + b, file, c);
    p->next = NULL;
    p->rec.key = key;
    p->rec.kind = kind;
    p->rec.first_line = first;
    p->rec.name = p->text;
    p->rec.module = p->text + a;
    p->rec.file = p->text + a + b;
    p->nranges = 0;
    p->ranges = NULL;
    return p;
}

/* As the in-memory report names a code object: co_name, its file as the
 * module, co_firstlineno. */
static struct evp_name *code_name(int64_t key, PyCodeObject *code)
{
    PyObject *name = evp_utf8_of(code->co_name), *file = evp_utf8_of(code->co_filename);
    struct ranges r = {NULL, 0, 0};
    struct evp_name *p;

    p = new_name(key, EVPROF_NAME_CODE, code->co_firstlineno,
                 text_of(name), text_of(file), text_of(file));
    Py_XDECREF(name);
    Py_XDECREF(file);
    if (p != NULL && line_ranges(code, &r) != 0) {
        free(r.v);
        free(p);
        return NULL;
    }
    if (p != NULL) {
        p->ranges = r.v;
        p->nranges = r.n;
    } else {
        free(r.v);
    }
    return p;
}

/* A builtin: (qualname, module) already described, or the callable's
 * __qualname__ (its type's name) and __module__ (its type's). */
static struct evp_name *builtin_name(int64_t key, PyObject *obj)
{
    PyObject *name, *mod, *bn, *bm;
    struct evp_name *p;

    if (PyTuple_Check(obj) && PyTuple_GET_SIZE(obj) == 2) {
        name = PyTuple_GET_ITEM(obj, 0);
        mod = PyTuple_GET_ITEM(obj, 1);
        Py_INCREF(name);
        Py_INCREF(mod);
    } else {
        name = attr(obj, "__qualname__");
        if (name == NULL)
            name = attr((PyObject *)Py_TYPE(obj), "__name__");
        mod = attr(obj, "__module__");
        if (mod == NULL)
            mod = attr((PyObject *)Py_TYPE(obj), "__module__");
    }
    bn = evp_utf8_of(name);
    bm = evp_utf8_of(mod);
    p = new_name(key, EVPROF_NAME_BUILTIN, 0, text_of(bn), text_of(bm), "");
    Py_XDECREF(name);
    Py_XDECREF(mod);
    Py_XDECREF(bn);
    Py_XDECREF(bm);
    return p;
}

void evp_names_free(struct evp_name *p)
{
    while (p != NULL) {
        struct evp_name *next = p->next;

        free(p->ranges);
        free(p);
        p = next;
    }
}

struct evp_name *evp_name_of(int64_t key, PyObject *obj)
{
    int guard = evprof__in_hook;
    struct evp_name *p;
    saved_error e;

    /* What Python allocates here is the profiler's, not the program's. */
    evprof__in_hook = 1;
    error_save(&e);
    if (PyCode_Check(obj))
        p = code_name(key, (PyCodeObject *)obj);
    else
        p = builtin_name(key, obj);
    error_restore(&e);
    evprof__in_hook = guard;
    return p;
}
