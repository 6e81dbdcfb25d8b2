/* Each policy at its edges: capacity 1, exactly full, full + 1, partial
 * dumps, and long runs with dumps in between. */
#include <errno.h>
#include <stdlib.h>

#include <evprof.h>

#include "tap.h"

static const char *pname[] = { "GROW", "RING", "DROP" };

/* Logs values first..first+n-1 in value1; returns how many logs failed. */
static int logn(evprof_buffer *b, int64_t first, int64_t n)
{
    int64_t i;
    int failed = 0;

    for (i = 0; i < n; i++)
        if (evprof_log(b, 0, 0, EVPROF_CALL, first + i, 0) != 0)
            failed++;
    return failed;
}

/* Dumps up to max events; checks their value1 run from `first` on. */
static int dump_is(evprof_buffer *b, size_t max, size_t want_n,
                   int64_t first)
{
    evprof_event *out = calloc(max ? max : 1, sizeof(*out));
    size_t n = evprof_buffer_dump(b, out, max), i;
    int good = n == want_n;

    for (i = 0; good && i < n; i++)
        if (out[i].value1 != first + (int64_t)i)
            good = 0;
    if (!good)
        diag("dumped %zu (wanted %zu), first %lld (wanted %lld)", n, want_n,
             n ? (long long)out[0].value1 : -1LL, (long long)first);
    free(out);
    return good;
}

static void edges(int policy)
{
    const char *p = pname[policy];
    evprof_buffer *b;
    int failed;

    /* Capacity 1. */
    b = evprof_buffer_new(1, policy);
    ok(b != NULL, "%s: capacity 1", p);
    is_int(0, logn(b, 0, 1), "%s cap 1: first event logged", p);
    is_int(1, evprof_buffer_count(b), "%s cap 1: exactly full", p);
    failed = logn(b, 1, 1);
    switch (policy) {
    case EVPROF_GROW:
        is_int(0, failed, "%s cap 1, full + 1: logged", p);
        is_int(2, evprof_buffer_count(b), "%s cap 1: holds 2", p);
        ok(dump_is(b, 5, 2, 0), "%s cap 1: both, oldest first", p);
        break;
    case EVPROF_RING:
        is_int(0, failed, "%s cap 1, full + 1: logged over the oldest", p);
        is_int(1, evprof_buffer_count(b), "%s cap 1: holds 1", p);
        ok(dump_is(b, 5, 1, 1), "%s cap 1: the newest one", p);
        break;
    default:
        is_int(1, failed, "%s cap 1, full + 1: refused", p);
        is_int(1, evprof_buffer_count(b), "%s cap 1: holds 1", p);
        ok(dump_is(b, 5, 1, 0), "%s cap 1: the oldest one", p);
    }
    is_int(policy == EVPROF_GROW ? 0 : 1, evprof_buffer_lost(b),
           "%s cap 1: lost counted", p);
    evprof_buffer_free(b);

    /* Capacity 5: exactly full, then full + 1, partial dumps. */
    b = evprof_buffer_new(5, policy);
    is_int(0, logn(b, 0, 5), "%s cap 5: 5 logged", p);
    is_int(5, evprof_buffer_count(b), "%s cap 5: exactly full", p);
    is_int(0, evprof_buffer_lost(b), "%s cap 5: nothing lost when full", p);
    ok(dump_is(b, 0, 0, 0), "%s cap 5: a dump of 0 takes nothing", p);
    is_int(5, evprof_buffer_count(b), "%s cap 5: still 5", p);
    ok(dump_is(b, 2, 2, 0), "%s cap 5: partial dump of 2", p);
    is_int(3, evprof_buffer_count(b), "%s cap 5: 3 left", p);
    failed = logn(b, 5, 3);  /* 3 held + 3 = 6 > 5 */
    if (policy == EVPROF_DROP) {
        is_int(1, failed, "%s cap 5: one over capacity refused", p);
        ok(dump_is(b, 10, 5, 2), "%s cap 5: 2..6 kept", p);
        is_int(1, evprof_buffer_lost(b), "%s cap 5: 1 lost", p);
    } else if (policy == EVPROF_RING) {
        is_int(0, failed, "%s cap 5: all logged", p);
        ok(dump_is(b, 10, 5, 3), "%s cap 5: newest 3..7 kept", p);
        is_int(1, evprof_buffer_lost(b), "%s cap 5: 1 overwritten", p);
    } else {
        is_int(0, failed, "%s cap 5: all logged", p);
        ok(dump_is(b, 10, 6, 2), "%s cap 5: 2..7 all kept", p);
        is_int(0, evprof_buffer_lost(b), "%s cap 5: none lost", p);
    }
    is_int(0, evprof_buffer_count(b), "%s cap 5: empty after dump", p);
    ok(dump_is(b, 10, 0, 0), "%s cap 5: dump of an empty buffer", p);
    evprof_buffer_free(b);

    /* A long run in small dumps: what comes out plus what is lost is
     * exactly what went in, in order. */
    {
        evprof_event out[7];
        int64_t logged = 0, got = 0, next = -1;
        int order = 1, round;
        size_t n, i;

        b = evprof_buffer_new(16, policy);
        for (round = 0; round < 1000; round++) {
            logn(b, logged, 1 + round % 37);
            logged += 1 + round % 37;
            n = evprof_buffer_dump(b, out, 7);
            for (i = 0; i < n; i++) {
                if (out[i].value1 <= next)
                    order = 0;
                next = out[i].value1;
            }
            got += (int64_t)n;
        }
        while ((n = evprof_buffer_dump(b, out, 7)) > 0) {
            for (i = 0; i < n; i++) {
                if (out[i].value1 <= next)
                    order = 0;
                next = out[i].value1;
            }
            got += (int64_t)n;
        }
        ok(order, "%s long run: strictly in order", p);
        is_int(logged, got + (int64_t)evprof_buffer_lost(b),
               "%s long run: dumped + lost = logged (%lld lost)", p,
               (long long)evprof_buffer_lost(b));
        if (policy == EVPROF_GROW)
            is_int(logged, got, "%s long run: nothing lost", p);
        else
            ok(evprof_buffer_lost(b) > 0, "%s long run: some lost", p);
        evprof_buffer_free(b);
    }
}

int main(void)
{
    plan(3 * 22);
    edges(EVPROF_GROW);
    edges(EVPROF_RING);
    edges(EVPROF_DROP);
    return 0;
}
