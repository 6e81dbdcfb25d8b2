/*
 * A chunk bigger than the machine's memory is refused before malloc is
 * asked for it: some allocators (AddressSanitizer's, under
 * make check-sanitize) abort on such a request instead of returning NULL,
 * and an overcommitting kernel may grant it, to kill the process later.
 *
 * With glibc (and no sanitizer, which has its own malloc) this program's
 * malloc counts the absurd requests and refuses them itself, so the test
 * fails without allocating anything if the library ever asks.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include <evprof.h>

#include "tap.h"

/* 48 TB of events: more than any machine this runs on. */
#define HUGE_CAPACITY ((size_t)1000000 * 1000000)
#define ABSURD_BYTES ((size_t)1 << 40)

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
#define COUNTING_MALLOC 1
void *__libc_malloc(size_t n);
static unsigned absurd_requests;

void *malloc(size_t n)
{
    if (n >= ABSURD_BYTES) {
        absurd_requests++;
        errno = ENOMEM;
        return NULL;
    }
    return __libc_malloc(n);
}
#endif

int main(void)
{
    evprof_buffer *b;
    static const int policies[] = { EVPROF_GROW, EVPROF_RING, EVPROF_DROP };
    size_t i;

    plan(10);
    for (i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
        int policy = policies[i];

        b = evprof_buffer_new(HUGE_CAPACITY, policy);
        ok(b != NULL, "policy %d: a buffer of 10^12 events a chunk is made "
           "(its chunks are allocated when used)", policy);
        if (b == NULL)
            continue;
        is_int(-ENOMEM, evprof_buffer_prepare(b, HUGE_CAPACITY),
               "policy %d: preparing its first chunk gives -ENOMEM", policy);
        ok(evprof_log(b, 1, 2, 3, 4, 5) < 0 && evprof_buffer_lost(b) == 1,
           "policy %d: an event logged into it is refused and counted lost",
           policy);
        evprof_buffer_free(b);
    }
#ifdef COUNTING_MALLOC
    is_int(0, absurd_requests, "malloc was never asked for 1 TiB or more");
#else
    skip("malloc is not glibc's: the sanitizer's allocator checks instead");
#endif
    return 0;
}
