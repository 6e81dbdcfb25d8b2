/*
 * sink_out.c: the buffered output of the sinks (sink_out.h).
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#include "sink_out.h"

int evprof__out_init(evprof__out *o, FILE *f)
{
    o->f = f;
    o->n = 0;
    o->error = 0;
    o->buf = malloc(EVPROF__OUT_SIZE);
    return o->buf != NULL ? 0 : -ENOMEM;
}

int evprof__out_flush(evprof__out *o)
{
    if (o->n > 0 && o->error == 0
        && fwrite(o->buf, 1, o->n, o->f) != o->n)
        o->error = errno ? -errno : -EIO;
    o->n = 0;
    return o->error;
}

void evprof__out_write(evprof__out *o, const void *p, size_t n)
{
    const char *s = p;

    while (n > 0) {
        size_t room = EVPROF__OUT_SIZE - o->n, k = n < room ? n : room;

        memcpy(o->buf + o->n, s, k);
        o->n += k;
        s += k;
        n -= k;
        if (o->n == EVPROF__OUT_SIZE)
            evprof__out_flush(o);
    }
}

void evprof__out_free(evprof__out *o)
{
    free(o->buf);
    o->buf = NULL;
}
