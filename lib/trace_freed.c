/*
 * trace_freed.c: the sizes of freed blocks, for a reader asked for them
 * (EVPROF_READ_FREED_SIZES, evprof_trace_reader_set_flags(3)).  A file
 * written while the program runs cannot know, at a free, the size of the
 * block: the reader pairs each free with the allocation of its pointer
 * through a table of the blocks live at that point of the trace (pointer
 * -> size), so its memory follows the blocks live, never the events.
 *
 * Open addressing, linear probing, deletion by moving the entries after
 * the hole back (no tombstones: a table used for hours stays short).
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#include "trace-read-private.h"

static size_t slot_of(uint64_t key, size_t mask)
{
    return (size_t)((key * 0x9E3779B97F4A7C15u) >> 32) & mask;
}

/* Rebuilds the table with `cap` slots (a power of two); 0 or -ENOMEM. */
static int rehash(struct evprof__freed *t, size_t cap)
{
    struct evprof__freed_slot *old = t->slots, *s;
    size_t oldcap = t->cap, i, j;

    s = calloc(cap, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    for (i = 0; i < oldcap; i++) {
        if (!old[i].used)
            continue;
        for (j = slot_of(old[i].key, cap - 1); s[j].used; j = (j + 1) & (cap - 1))
            ;
        s[j] = old[i];
    }
    free(old);
    t->slots = s;
    t->cap = cap;
    return 0;
}

/* The slot of key, or of the hole where it would go. */
static size_t find(const struct evprof__freed *t, uint64_t key)
{
    size_t mask = t->cap - 1, j;

    for (j = slot_of(key, mask); t->slots[j].used && t->slots[j].key != key;
         j = (j + 1) & mask)
        ;
    return j;
}

static int insert(struct evprof__freed *t, uint64_t key, int64_t size)
{
    size_t j;

    if ((t->count + 1) * 2 > t->cap
        && rehash(t, t->cap ? t->cap * 2 : 1024) != 0)
        return -ENOMEM;
    j = find(t, key);
    if (!t->slots[j].used) {
        t->slots[j].used = 1;
        t->slots[j].key = key;
        t->count++;
    }
    t->slots[j].size = size;
    return 0;
}

/* Removes key; 1 and its size in *size when it was there, else 0. */
static int take(struct evprof__freed *t, uint64_t key, int64_t *size)
{
    size_t mask = t->cap - 1, hole, j, home;

    if (t->cap == 0)
        return 0;
    hole = find(t, key);
    if (!t->slots[hole].used)
        return 0;
    *size = t->slots[hole].size;
    t->slots[hole].used = 0;
    t->count--;
    /* Moves back each entry after the hole that may not stay past it. */
    for (j = (hole + 1) & mask; t->slots[j].used; j = (j + 1) & mask) {
        home = slot_of(t->slots[j].key, mask);
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            t->slots[hole] = t->slots[j];
            t->slots[j].used = 0;
            hole = j;
        }
    }
    /* A peak of live blocks long gone gives its memory back. */
    if (t->cap > 1024 && t->count * 8 < t->cap)
        (void)rehash(t, t->cap / 2); /* on failure, the table stays */
    return 1;
}

int evprof__freed_apply(struct evprof__freed *t, evprof_event *ev, size_t n)
{
    size_t i;
    int64_t size;

    for (i = 0; i < n; i++) {
        switch (ev[i].event) {
        case EVPROF_MALLOC:
        case EVPROF_CALLOC:
        case EVPROF_REALLOC:
            if (insert(t, (uint64_t)ev[i].value1, ev[i].value2) != 0)
                return -ENOMEM;
            break;
        case EVPROF_FREE:
        case EVPROF_REALLOC_FREE:
            /* A block allocated before the recording stays 0; a size the
             * writer knew (negative) stays as it is. */
            if (take(t, (uint64_t)ev[i].value1, &size) && ev[i].value2 == 0)
                ev[i].value2 = size == INT64_MIN ? INT64_MIN : -size;
            break;
        default:
            break;
        }
    }
    return 0;
}

void evprof__freed_clear(struct evprof__freed *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->count = 0;
}
