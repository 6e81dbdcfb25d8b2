/*
 * instr-plugin.c: a shared object built with -finstrument-functions, loaded
 * by t/instr-host (a program that is not instrumented) and t/instr-prog
 * (one that is), run by t/instrument.  Built twice: with its own copy of
 * evprof-instrument (EVPROF_TEST_COPY), and without (its calls reach the
 * program's hooks, if any).
 */
#ifdef EVPROF_TEST_COPY
# include <evprof/instrument.h>
#endif

int plugin_fib(int n) __attribute__((noinline));
int plugin_work(int n);

int plugin_fib(int n)
{
    return n < 2 ? n : plugin_fib(n - 1) + plugin_fib(n - 2);
}

int plugin_work(int n)
{
    return plugin_fib(n);
}

#ifdef EVPROF_TEST_COPY
int plugin_start(const char *path);

/* Its copy's evprof_instrument_start. */
int plugin_start(const char *path)
{
    return evprof_instrument_start(path);
}
#endif
