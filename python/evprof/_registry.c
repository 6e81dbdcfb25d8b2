/*
 * _registry.c: the registry's slow paths (growing, adding, clearing); the
 * look-up is inline in _registry.h.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>

#include "_registry.h"

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

int64_t reg_add(struct registry *r, uintptr_t p, PyObject *entry)
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

void reg_clear(struct registry *r)
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
