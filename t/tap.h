/*
 * tap.h: a small TAP producer for the C tests (plan, ok, is_int, diag,
 * bail), in the manner of c-tap-harness's basic.h.
 */
#ifndef T_TAP_H
#define T_TAP_H 1

#include <stdint.h>

#if defined(__GNUC__)
# define TAP_PRINTF(f, a) __attribute__((format(printf, f, a)))
# define TAP_NORETURN __attribute__((noreturn))
#else
# define TAP_PRINTF(f, a)
# define TAP_NORETURN
#endif

/* Announces `n` tests; at exit, reports a wrong count as a failure. */
void plan(unsigned long n);
/* Each returns its verdict so that a caller may diag() more. */
int ok(int success, const char *format, ...) TAP_PRINTF(2, 3);
int is_int(int64_t wanted, int64_t seen, const char *format, ...)
    TAP_PRINTF(3, 4);
int is_string(const char *wanted, const char *seen, const char *format, ...)
    TAP_PRINTF(3, 4);
void skip(const char *reason, ...) TAP_PRINTF(1, 2);
void diag(const char *format, ...) TAP_PRINTF(1, 2);
void bail(const char *format, ...) TAP_PRINTF(1, 2) TAP_NORETURN;

#endif /* T_TAP_H */
