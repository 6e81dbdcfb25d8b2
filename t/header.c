/* The public header alone, as strict C11 with -pedantic (see Makefile.am). */
#include <evprof.h>

#include "tap.h"

int main(void)
{
    evprof_buffer *b = evprof_buffer_new(4, EVPROF_GROW);
    evprof_event e;

    plan(3);
    ok(b != NULL, "a buffer from strict C11");
    is_int(0, evprof_log(b, 1, 2, EVPROF_CALL, 3, 4), "logged");
    is_int(1, (int64_t)evprof_buffer_dump(b, &e, 1), "dumped");
    evprof_buffer_free(b);
    return 0;
}
