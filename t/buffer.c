/* The buffer API on one thread: round trip, getters, argument errors. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <evprof.h>

#include "tap.h"

int main(void)
{
    evprof_buffer *b;
    evprof_event out[16];
    uint32_t thr[16];
    evprof_thread_info info;
    int64_t before, after;
    size_t n, i;
    int good;

    plan(47);

    /* Bad arguments: NULL with errno, negative codes, never a crash. */
    errno = 0;
    ok(evprof_buffer_new(0, EVPROF_GROW) == NULL && errno == EINVAL,
       "capacity 0: NULL, EINVAL");
    errno = 0;
    ok(evprof_buffer_new(8, 3) == NULL && errno == EINVAL,
       "unknown policy 3: NULL, EINVAL");
    errno = 0;
    ok(evprof_buffer_new(8, -1) == NULL && errno == EINVAL,
       "unknown policy -1: NULL, EINVAL");
    errno = 0;
    ok(evprof_buffer_new(SIZE_MAX, EVPROF_GROW) == NULL && errno == EINVAL,
       "a capacity whose size overflows: NULL, EINVAL");
    is_int(-EINVAL, evprof_log(NULL, 1, 2, 3, 4, 5), "log into NULL");
    is_int(0, evprof_buffer_count(NULL), "count of NULL");
    is_int(0, evprof_buffer_lost(NULL), "lost of NULL");
    errno = 0;
    ok(evprof_buffer_dump(NULL, out, 4) == 0 && errno == EINVAL,
       "dump of NULL: 0, EINVAL");
    evprof_buffer_free(NULL);
    ok(1, "free(NULL) is a no-op");
    is_int(0, evprof_buffer_capacity(NULL), "capacity of NULL");
    is_int(-EINVAL, evprof_buffer_policy(NULL), "policy of NULL");
    is_int(0, evprof_buffer_thread_count(NULL), "thread count of NULL");
    is_int(-EINVAL, evprof_buffer_thread(NULL, 0, &info), "thread of NULL");

    b = evprof_buffer_new(4, EVPROF_GROW);
    if (b == NULL)
        bail("cannot make a buffer");
    is_int(4, evprof_buffer_capacity(b), "capacity kept");
    is_int(EVPROF_GROW, evprof_buffer_policy(b), "policy kept");
    is_int(0, evprof_buffer_count(b), "new buffer is empty");
    is_int(0, evprof_buffer_thread_count(b), "no thread logged yet");
    errno = 0;
    ok(evprof_buffer_dump(b, NULL, 1) == 0 && errno == EINVAL,
       "dump into NULL: 0, EINVAL");
    errno = 0;
    ok(evprof_buffer_dump(b, out, 0) == 0 && errno == 0,
       "dump of 0 events: 0, no error");
    ok(evprof_buffer_dump(b, out, 16) == 0, "dump of an empty buffer");

    /* Round trip of all six columns, times stamped in between. */
    before = evprof_clock_ns();
    for (i = 0; i < 10; i++)
        if (evprof_log(b, (int64_t)i, -(int64_t)i, EVPROF_CALL,
                       INT64_MAX - (int64_t)i, INT64_MIN + (int64_t)i) != 0)
            break;
    after = evprof_clock_ns();
    is_int(10, i, "10 events logged into a 4-event-chunk buffer");
    is_int(10, evprof_buffer_count(b), "count is 10");
    n = evprof_buffer_dump_ex(b, out, thr, 3);
    is_int(3, n, "partial dump of 3");
    is_int(7, evprof_buffer_count(b), "7 left");
    n += evprof_buffer_dump_ex(b, out + 3, thr + 3, 16);
    is_int(10, n, "the rest: 7 more");
    is_int(0, evprof_buffer_count(b), "empty again");
    good = 1;
    for (i = 0; i < 10; i++)
        if (out[i].id_frame != (int64_t)i || out[i].id_arg != -(int64_t)i
            || out[i].event != EVPROF_CALL
            || out[i].value1 != INT64_MAX - (int64_t)i
            || out[i].value2 != INT64_MIN + (int64_t)i || thr[i] != 0)
            good = 0;
    ok(good, "every column comes back, in order, from thread 0");
    good = 1;
    for (i = 0; i < 10; i++)
        if (out[i].time < before || out[i].time > after
            || (i > 0 && out[i].time < out[i - 1].time))
            good = 0;
    ok(good, "times are stamped at log time, non-decreasing");
    is_int(0, evprof_buffer_lost(b), "nothing lost");

    is_int(1, evprof_buffer_thread_count(b), "one thread logged");
    is_int(0, evprof_buffer_thread(b, 0, &info), "its info");
    ok(info.ident == (uint64_t)pthread_self(), "ident is pthread_self()");
    is_int((int64_t)syscall(SYS_gettid), info.native_id,
           "native_id is the kernel tid");
    is_int(-ERANGE, evprof_buffer_thread(b, 1, &info), "no thread 1");
    is_int(-EINVAL, evprof_buffer_thread(b, 0, NULL), "NULL info");

    /* Two buffers used alternately from one thread keep their own events. */
    {
        evprof_buffer *b2 = evprof_buffer_new(2, EVPROF_GROW);
        for (i = 0; i < 5; i++) {
            evprof_log(b, 1, 0, EVPROF_CALL, (int64_t)i, 0);
            evprof_log(b2, 2, 0, EVPROF_RETURN, (int64_t)i, 0);
        }
        is_int(5, evprof_buffer_count(b), "first buffer has its 5");
        is_int(5, evprof_buffer_count(b2), "second buffer has its 5");
        n = evprof_buffer_dump(b2, out, 16);
        good = n == 5;
        for (i = 0; i < n; i++)
            if (out[i].id_frame != 2 || out[i].value1 != (int64_t)i)
                good = 0;
        ok(good, "second buffer's events are its own, in order");
        evprof_buffer_free(b2);
    }

    /* prepare: commits memory without touching what is logged. */
    {
        int pol;
        for (pol = EVPROF_GROW; pol <= EVPROF_DROP; pol++) {
            evprof_buffer *b3 = evprof_buffer_new(8, pol);
            evprof_log(b3, 1, 0, EVPROF_CALL, 11, 0);
            evprof_log(b3, 2, 0, EVPROF_CALL, 12, 0);
            is_int(0, evprof_buffer_prepare(b3, 1000), "prepare, policy %d",
                   pol);
            evprof_log(b3, 3, 0, EVPROF_CALL, 13, 0);
            n = evprof_buffer_dump(b3, out, 16);
            ok(n == 3 && out[0].value1 == 11 && out[1].value1 == 12
               && out[2].value1 == 13,
               "events before and after prepare intact, policy %d", pol);
            evprof_buffer_free(b3);
        }
    }
    is_int(-EINVAL, evprof_buffer_prepare(NULL, 10), "prepare NULL");

    /* A buffer freed and another made (maybe at the same address): the
     * thread's cached chunk of the old one is not reused. */
    evprof_buffer_free(b);
    b = evprof_buffer_new(4, EVPROF_GROW);
    is_int(0, evprof_log(b, 7, 0, EVPROF_CALL, 0, 0), "log into a new buffer");
    is_int(1, evprof_buffer_count(b), "it holds exactly that event");
    evprof_buffer_free(b);
    return 0;
}
