/*
 * _registry.c: the registry's slow paths (growing, adding, clearing), each
 * under the registry's lock; the look-up is inline in _registry.h.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>

#include "_registry.h"

/* A table of `size` slots holding those of `old` (under the lock). */
static struct reg_table *table_new(const struct reg_table *old, size_t size)
{
    struct reg_table *t = calloc(1, sizeof(*t) + size * sizeof(t->s[0]));
    size_t i, j;

    if (t == NULL)
        return NULL;
    t->mask = size - 1;
    if (old == NULL)
        return t;
    for (i = 0; i <= old->mask; i++) {
        if (old->s[i].ptr == 0)
            continue;
        for (j = reg_hash(old->s[i].ptr, t->mask); t->s[j].ptr != 0;
             j = (j + 1) & t->mask)
            ;
        t->s[j] = old->s[i];
    }
    return t;
}

/* The key of p in the current table (under the lock), or 0. */
static int64_t find_locked(const struct reg_table *t, uintptr_t p)
{
    size_t i;

    if (t == NULL)
        return 0;
    for (i = reg_hash(p, t->mask); t->s[i].ptr != 0; i = (i + 1) & t->mask)
        if (t->s[i].ptr == p)
            return t->s[i].key;
    return 0;
}

int64_t reg_add(struct registry *r, uintptr_t p, PyObject *entry)
{
    struct reg_table *t;
    int64_t k;
    size_t i;

    evp_lock_take(&r->lock);
    t = r->tab;
    k = find_locked(t, p);
    if (k != 0)
        goto drop;
    if ((r->n + 1) * 2 > (t ? t->mask + 1 : 0)) {
        struct reg_table *g = table_new(t, t ? 2 * (t->mask + 1) : 1024);

        if (g == NULL)
            goto drop;
        g->retired = t;
        /* Whole before it is seen. */
        __atomic_store_n(&r->tab, g, __ATOMIC_RELEASE);
        t = g;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 256;
        PyObject **v = realloc(r->obj, cap * sizeof(*v));

        if (v == NULL)
            goto drop;
        r->obj = v;
        r->cap = cap;
    }
    r->obj[r->n] = entry;
    __atomic_store_n(&r->n, r->n + 1, __ATOMIC_RELEASE);
    k = r->base + (int64_t)r->n;
    for (i = reg_hash(p, t->mask); t->s[i].ptr != 0; i = (i + 1) & t->mask)
        ;
    t->s[i].key = k;
    __atomic_store_n(&t->s[i].ptr, p, __ATOMIC_RELEASE);
    evp_lock_give(&r->lock);
    return k;
drop:
    evp_lock_give(&r->lock);
    Py_DECREF(entry);
    return k;
}

PyObject **reg_snapshot(struct registry *r, size_t *n)
{
    PyObject **v;
    size_t i;

    evp_lock_take(&r->lock);
    *n = r->n;
    v = *n ? malloc(*n * sizeof(*v)) : NULL;
    if (v == NULL)
        *n = 0;
    for (i = 0; i < *n; i++) {
        v[i] = r->obj[i];
        Py_INCREF(v[i]);
    }
    evp_lock_give(&r->lock);
    return v;
}

void reg_clear(struct registry *r)
{
    PyObject **obj;
    struct reg_table *t;
    size_t n, i;

    /* Detached first: a decref may run arbitrary code. */
    evp_lock_take(&r->lock);
    obj = r->obj;
    n = r->n;
    t = r->tab;
    __atomic_store_n(&r->tab, NULL, __ATOMIC_RELEASE);
    r->obj = NULL;
    __atomic_store_n(&r->n, 0, __ATOMIC_RELEASE);
    r->cap = 0;
    evp_lock_give(&r->lock);
    while (t != NULL) {
        struct reg_table *older = t->retired;

        free(t);
        t = older;
    }
    for (i = 0; i < n; i++)
        Py_DECREF(obj[i]);
    free(obj);
}
