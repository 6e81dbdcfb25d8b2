/* Event record layout and event codes. */
#include <stddef.h>
#include <stdint.h>

#include <evprof.h>

#include "tap.h"

static const struct { int64_t code; const char *name; } want[] = {
    { EVPROF_CALL, "call" }, { EVPROF_RETURN, "return" },
    { EVPROF_C_CALL, "c_call" }, { EVPROF_C_RETURN, "c_return" },
    { EVPROF_EXCEPTION, "exception" }, { EVPROF_C_EXCEPTION, "c_exception" },
    { EVPROF_PROFILER_CALL, "profiler_call" },
    { EVPROF_PROFILER_RETURN, "profiler_return" },
    { EVPROF_PROFILER_START, "profiler_start" },
    { EVPROF_PROFILER_SORT, "profiler_sort" },
    { EVPROF_MALLOC, "malloc" }, { EVPROF_CALLOC, "calloc" },
    { EVPROF_REALLOC, "realloc" }, { EVPROF_FREE, "free" },
    { EVPROF_REALLOC_FREE, "realloc_free" },
};
static const int64_t values[] = { 1, 2, 3, 4, 5, 6, 10, 11, 100, 101,
                                  1000, 1001, 1002, 1003, 1004 };
#define N (sizeof(want) / sizeof(want[0]))

int main(void)
{
    size_t i;

    plan(8 + 3 * N + 5);
    is_int(48, sizeof(evprof_event), "an event is 48 bytes");
    is_int(6, EVPROF_N_COLUMNS, "six columns");
    is_int(0, offsetof(evprof_event, id_frame), "id_frame first");
    is_int(8, offsetof(evprof_event, id_arg), "id_arg second");
    is_int(16, offsetof(evprof_event, event), "event third");
    is_int(24, offsetof(evprof_event, time), "time fourth");
    is_int(32, offsetof(evprof_event, value1), "value1 fifth");
    is_int(40, offsetof(evprof_event, value2), "value2 sixth");
    for (i = 0; i < N; i++) {
        is_int(values[i], want[i].code, "%s is %lld", want[i].name,
               (long long)values[i]);
        is_string(want[i].name, evprof_event_name(want[i].code),
                  "name of %lld", (long long)want[i].code);
        is_int(want[i].code, evprof_event_code(want[i].name),
               "code of %s", want[i].name);
    }
    ok(evprof_event_name(0) == NULL, "code 0 has no name");
    ok(evprof_event_name(-1) == NULL, "code -1 has no name");
    ok(evprof_event_code("nope") < 0, "unknown name gives a negative code");
    ok(evprof_event_code(NULL) < 0, "NULL name gives a negative code");
    ok(evprof_event_code("CALL") < 0, "names are case-sensitive");
    return 0;
}
