/*
 * _registry.h: object -> key (1, 2, ...), one strong reference each, for
 * the code objects and builtins that events name.  The look-up is on the
 * path of every event, from every thread, so it is inline and takes no
 * lock: an open-addressing table whose slots are published with a release
 * store (the key before the pointer), and which is replaced, never changed
 * in place, when it grows; a reader that still holds the old table finds
 * what it held, misses what came after, and takes the insert path, which
 * looks again under the lock.  The tables replaced are kept until the
 * registry is cleared (a reader may still be in one): their sizes add up
 * to less than the current one.  Inserts take the registry's lock (a
 * free-threaded build has no GIL to serialise them).  Plain malloc:
 * nothing of the registry goes through the hooked PyMem allocators.
 */
#ifndef EVPROF_PY_REGISTRY_H
#define EVPROF_PY_REGISTRY_H 1

#include "_compat.h"

#include <stddef.h>
#include <stdint.h>

struct slot {
    uintptr_t ptr; /* 0: empty; atomic, stored after key */
    int64_t key;
};

struct reg_table {
    size_t mask;               /* slots - 1 (a power of two) */
    struct reg_table *retired; /* the smaller table this one replaced */
    struct slot s[];
};

struct registry {
    struct reg_table *tab; /* atomic: loaded once a look-up */
    PyObject **obj;  /* obj[key - base - 1]; changed under lock */
    size_t n, cap;   /* n: atomic, stored once obj[n - 1] is set */
    int64_t base;    /* keys of earlier runs are <= base: never reused */
    evp_lock lock;   /* inserts and clears */
};

static inline size_t reg_hash(uintptr_t p, size_t mask)
{
    return (size_t)(((uint64_t)p >> 3) * UINT64_C(0x9E3779B97F4A7C15) >> 17)
        & mask;
}

/* The key of ptr, or 0; no lock, from any thread. */
static inline int64_t reg_find(const struct registry *r, uintptr_t p)
{
    const struct reg_table *t = __atomic_load_n(&r->tab, __ATOMIC_ACQUIRE);
    size_t i;

    if (t == NULL)
        return 0;
    for (i = reg_hash(p, t->mask);; i = (i + 1) & t->mask) {
        uintptr_t q = __atomic_load_n(&t->s[i].ptr, __ATOMIC_ACQUIRE);

        if (q == p)
            return t->s[i].key;
        if (q == 0)
            return 0;
    }
}

/* Adds ptr -> entry (a new reference, stolen) and returns the key; when
 * another thread added ptr first, its key (and entry dropped); 0 (and the
 * reference dropped) when out of memory.  Runs no Python code but the
 * decref of a duplicate entry, once the lock is released. */
int64_t reg_add(struct registry *r, uintptr_t p, PyObject *entry);

/* Entries registered so far. */
static inline size_t reg_count(const struct registry *r)
{
    return __atomic_load_n(&r->n, __ATOMIC_ACQUIRE);
}

/* The registered objects, a new reference each, into a malloc'd array of
 * *n (NULL and *n = 0 when empty or out of memory; free() it after the
 * decrefs). */
PyObject **reg_snapshot(struct registry *r, size_t *n);

/* Drops every entry (detached first: a decref may run arbitrary code). */
void reg_clear(struct registry *r);

#endif
