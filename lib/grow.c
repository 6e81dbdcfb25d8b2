/*
 * grow.c: evprof__grow, the growth by doubling of the library's arrays.
 */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grow-private.h"

int evprof__grow(void *pp, size_t *cap, size_t need, size_t size,
                 size_t first)
{
    size_t n = *cap;
    void *p, *q;

    if (need <= n)
        return 0;
    if (n == 0)
        n = first > 0 ? first : 1;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return -ENOMEM;
        n *= 2;
    }
    if (size != 0 && n > SIZE_MAX / size)
        return -ENOMEM;
    memcpy(&p, pp, sizeof(p));
    if ((q = realloc(p, n * size)) == NULL)
        return -ENOMEM;
    memcpy(pp, &q, sizeof(q));
    *cap = n;
    return 0;
}
