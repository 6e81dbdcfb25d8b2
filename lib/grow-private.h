/*
 * grow-private.h: the growth of the arrays of the library (tables, stacks,
 * buffers), doubled when full so that appending costs O(1) an item.  Not
 * installed.
 */
#ifndef EVPROF_GROW_PRIVATE_H
#define EVPROF_GROW_PRIVATE_H 1

#include <stddef.h>

/*
 * Makes room for `need` items of `size` bytes in the array whose pointer
 * is at pp (the address of any object pointer: it is read and written as
 * its bytes) and whose capacity is *cap items: the capacity doubles (from
 * `first`, at least 1) until it holds `need`.  0, or -ENOMEM with the
 * array and *cap unchanged.
 */
int evprof__grow(void *pp, size_t *cap, size_t need, size_t size,
                 size_t first);

#endif /* EVPROF_GROW_PRIVATE_H */
