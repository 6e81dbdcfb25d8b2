/*
 * allocext.c: a C extension that allocates with malloc, for the tests and
 * benchmark of native allocations (t/python/test_native.py,
 * bench/bench_native.py): nothing of evprof in it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* churn(n, size): n blocks of `size` bytes, each written and freed. */
static PyObject *churn(PyObject *mod, PyObject *args)
{
    Py_ssize_t n, size, i;
    unsigned long sum = 0;

    (void)mod;
    if (!PyArg_ParseTuple(args, "nn:churn", &n, &size))
        return NULL;
    if (n < 0 || size <= 0) {
        PyErr_SetString(PyExc_ValueError, "n >= 0 and size > 0");
        return NULL;
    }
    for (i = 0; i < n; i++) {
        unsigned char *p = malloc((size_t)size);

        if (p == NULL)
            return PyErr_NoMemory();
        p[0] = (unsigned char)i;
        sum += p[0];
        free(p);
    }
    return PyLong_FromUnsignedLong(sum);
}

/* records(n, batch): what an extension building small structures does:
 * n records, each a node and a name of 8 to 40 bytes, the name written
 * (digits) and hashed (FNV-1a) into the node's key, the nodes linked and
 * freed, with their names, every `batch` records.  Returns a checksum. */
struct rec {
    struct rec *next;
    uint64_t key;
    size_t len;
    char *name;
};

static void free_recs(struct rec *r, uint64_t *sum)
{
    while (r != NULL) {
        struct rec *next = r->next;

        *sum += r->key ^ r->len;
        free(r->name);
        free(r);
        r = next;
    }
}

static PyObject *records(PyObject *mod, PyObject *args)
{
    Py_ssize_t n, batch, i;
    struct rec *head = NULL;
    uint64_t sum = 0;

    (void)mod;
    if (!PyArg_ParseTuple(args, "nn:records", &n, &batch))
        return NULL;
    if (n < 0 || batch <= 0) {
        PyErr_SetString(PyExc_ValueError, "n >= 0 and batch > 0");
        return NULL;
    }
    for (i = 0; i < n; i++) {
        size_t len = 8 + (size_t)(i % 33), k;
        struct rec *r = malloc(sizeof(*r));
        char *name = malloc(len + 1);
        uint64_t h = 14695981039346656037u, v = (uint64_t)i;

        if (r == NULL || name == NULL) {
            free(r);
            free(name);
            free_recs(head, &sum);
            return PyErr_NoMemory();
        }
        for (k = 0; k < len; k++) {
            name[k] = (char)('0' + v % 10);
            v = v >= 10 ? v / 10 : (uint64_t)i + k;
            h = (h ^ (unsigned char)name[k]) * 1099511628211u;
        }
        name[len] = '\0';
        r->key = h;
        r->len = len;
        r->name = name;
        r->next = head;
        head = r;
        if ((i + 1) % batch == 0) {
            free_recs(head, &sum);
            head = NULL;
        }
    }
    free_recs(head, &sum);
    return PyLong_FromUnsignedLongLong((unsigned long long)sum);
}

/* keep(n, size): n blocks kept until drop(); returns how many are kept. */
static void **kept;
static Py_ssize_t nkept;

static PyObject *keep(PyObject *mod, PyObject *args)
{
    Py_ssize_t n, size, i;
    void **v;

    (void)mod;
    if (!PyArg_ParseTuple(args, "nn:keep", &n, &size))
        return NULL;
    if (n < 0 || size <= 0 || n > PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(*v)
        - nkept) {
        PyErr_SetString(PyExc_ValueError, "n >= 0 and size > 0");
        return NULL;
    }
    v = realloc(kept, (size_t)(nkept + n) * sizeof(*v));
    if (v == NULL)
        return PyErr_NoMemory();
    kept = v;
    for (i = 0; i < n; i++) {
        if ((kept[nkept] = calloc(1, (size_t)size)) == NULL)
            return PyErr_NoMemory();
        nkept++;
    }
    return PyLong_FromSsize_t(nkept);
}

static PyObject *drop(PyObject *mod, PyObject *noarg)
{
    Py_ssize_t i;

    (void)mod;
    (void)noarg;
    for (i = 0; i < nkept; i++)
        free(kept[i]);
    free(kept);
    kept = NULL;
    nkept = 0;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"churn", churn, METH_VARARGS, "churn(n, size): n malloc/free pairs."},
    {"records", records, METH_VARARGS,
     "records(n, batch): n small records built, filled and freed."},
    {"keep", keep, METH_VARARGS, "keep(n, size): n calloc'd blocks kept."},
    {"drop", drop, METH_NOARGS, "drop(): frees the kept blocks."},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_allocext", NULL, -1, methods,
    NULL, NULL, NULL, NULL
};

PyMODINIT_FUNC PyInit__allocext(void);

PyMODINIT_FUNC PyInit__allocext(void)
{
    return PyModule_Create(&module);
}
