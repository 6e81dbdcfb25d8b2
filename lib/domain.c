/*
 * domain.c: allocation domains to names and back (evprof/domain.h).
 */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "evprof.h"

static const char *const names[] = {
#define NAME(name, value, text, what) [value] = text,
    EVPROF_DOMAIN_MAP(NAME)
#undef NAME
};

const char *evprof_domain_name(int64_t domain)
{
    if (domain < 0 || domain >= EVPROF_DOMAIN_COUNT)
        return NULL;
    return names[domain];
}

int evprof_domain_code(const char *name)
{
    int i;

    if (name == NULL)
        return -EINVAL;
    for (i = 0; i < EVPROF_DOMAIN_COUNT; i++)
        if (names[i] != NULL && strcmp(names[i], name) == 0)
            return i;
    return -EINVAL;
}
