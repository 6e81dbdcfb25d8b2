/*
 * _registry.h: object -> key (1, 2, ...), one strong reference each, for
 * the code objects and builtins that events name.  The look-up is on the
 * path of every event, so it is inline.  Plain malloc: nothing of the
 * registry goes through the hooked PyMem allocators.
 */
#ifndef EVPROF_PY_REGISTRY_H
#define EVPROF_PY_REGISTRY_H 1

#include <Python.h>
#include <stddef.h>
#include <stdint.h>

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

static inline size_t reg_hash(uintptr_t p, size_t mask)
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

/* Adds ptr -> entry (a new reference, stolen) and returns the key; 0 (and
 * the reference dropped) when out of memory. */
int64_t reg_add(struct registry *r, uintptr_t p, PyObject *entry);

/* Drops every entry (detached first: a decref may run arbitrary code). */
void reg_clear(struct registry *r);

#endif
