/*
 * json-check.h: a strict JSON syntax check (RFC 8259) for the tests of
 * the Chrome output: one value, objects, arrays, strings with their
 * escapes, numbers, literals, nothing after but white space.
 */
#ifndef T_JSON_CHECK_H
#define T_JSON_CHECK_H 1

#include <stddef.h>

/* 1 when s[0..n) is one valid JSON text, else 0 and *where the offset
 * of the first byte that is not. */
int json_valid(const char *s, size_t n, size_t *where);

#endif /* T_JSON_CHECK_H */
