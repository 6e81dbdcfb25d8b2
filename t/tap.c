/*
 * tap.c: the TAP producer declared in tap.h.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

static unsigned long planned, run, failed;

static void finish(void)
{
    fflush(stdout);
    if (run != planned) {
        printf("# planned %lu tests but ran %lu\n", planned, run);
        fflush(stdout);
        _Exit(1);
    }
    if (failed > 0)
        _Exit(1);
}

void plan(unsigned long n)
{
    planned = n;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("1..%lu\n", n);
    atexit(finish);
}

static int report(int success, const char *format, va_list args)
{
    run++;
    if (!success)
        failed++;
    printf("%sok %lu - ", success ? "" : "not ", run);
    vprintf(format, args);
    printf("\n");
    return success;
}

int ok(int success, const char *format, ...)
{
    va_list args;

    va_start(args, format);
    success = report(success, format, args);
    va_end(args);
    return success;
}

int is_int(int64_t wanted, int64_t seen, const char *format, ...)
{
    va_list args;
    int success = wanted == seen;

    va_start(args, format);
    report(success, format, args);
    va_end(args);
    if (!success)
        printf("#     wanted: %" PRId64 "\n#       seen: %" PRId64 "\n",
               wanted, seen);
    return success;
}

int is_string(const char *wanted, const char *seen, const char *format, ...)
{
    va_list args;
    int success;

    if (wanted == NULL || seen == NULL)
        success = wanted == seen;
    else
        success = strcmp(wanted, seen) == 0;
    va_start(args, format);
    report(success, format, args);
    va_end(args);
    if (!success)
        printf("#     wanted: %s\n#       seen: %s\n",
               wanted ? wanted : "(null)", seen ? seen : "(null)");
    return success;
}

void skip(const char *reason, ...)
{
    va_list args;

    run++;
    printf("ok %lu # skip ", run);
    va_start(args, reason);
    vprintf(reason, args);
    va_end(args);
    printf("\n");
}

void diag(const char *format, ...)
{
    va_list args;

    fflush(stdout);
    printf("# ");
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    printf("\n");
}

void bail(const char *format, ...)
{
    va_list args;

    fflush(stdout);
    printf("Bail out! ");
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    printf("\n");
    fflush(stdout);
    _Exit(255);
}
