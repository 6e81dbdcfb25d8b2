/*
 * event.c: event codes to names and back.
 */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "evprof.h"

static const struct {
    int64_t code;
    const char *name;
} events[] = {
    { EVPROF_CALL, "call" },
    { EVPROF_RETURN, "return" },
    { EVPROF_C_CALL, "c_call" },
    { EVPROF_C_RETURN, "c_return" },
    { EVPROF_EXCEPTION, "exception" },
    { EVPROF_C_EXCEPTION, "c_exception" },
    { EVPROF_PROFILER_CALL, "profiler_call" },
    { EVPROF_PROFILER_RETURN, "profiler_return" },
    { EVPROF_PROFILER_START, "profiler_start" },
    { EVPROF_PROFILER_SORT, "profiler_sort" },
    { EVPROF_MALLOC, "malloc" },
    { EVPROF_CALLOC, "calloc" },
    { EVPROF_REALLOC, "realloc" },
    { EVPROF_FREE, "free" },
    { EVPROF_REALLOC_FREE, "realloc_free" },
};

#define NEVENTS (sizeof(events) / sizeof(events[0]))

const char *evprof_event_name(int64_t code)
{
    size_t i;

    for (i = 0; i < NEVENTS; i++)
        if (events[i].code == code)
            return events[i].name;
    return NULL;
}

int64_t evprof_event_code(const char *name)
{
    size_t i;

    if (name == NULL)
        return -EINVAL;
    for (i = 0; i < NEVENTS; i++)
        if (strcmp(events[i].name, name) == 0)
            return events[i].code;
    return -EINVAL;
}
