/*
 * sink_out.h: the output of a sink, a large buffer written to its FILE
 * when it fills (one fwrite every 1 MiB instead of one stdio call a
 * field) by a thread of its own while the sink fills the next of a few
 * (sink_out.c), and the
 * number formats the text sinks use, written by hand: a printf a field
 * costs more than the rest of a sink together.
 */
#ifndef EVPROF_SINK_OUT_H
#define EVPROF_SINK_OUT_H 1

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define EVPROF__OUT_SIZE (1024 * 1024)
/* Room a caller may use after evprof__out_room() without checking. */
#define EVPROF__OUT_SLACK 4096

typedef struct evprof__out {
    FILE *f;
    char *buf;      /* being filled */
    size_t n;
    int error;      /* 0, or the negative code of the first failed write */
    struct evprof__out_writer *w; /* the writer thread, or NULL */
} evprof__out;

/* 0 or -ENOMEM. */
int evprof__out_init(evprof__out *o, FILE *f);
/* Hands what the buffer holds to the writer, and goes on with another. */
void evprof__out_push(evprof__out *o);
/* Writes what the buffer holds and waits until everything is written;
 * 0 or the first error.  Before any write of the sink's own to the FILE. */
int evprof__out_flush(evprof__out *o);
void evprof__out_free(evprof__out *o);
/* Writes n bytes, of any length. */
void evprof__out_write(evprof__out *o, const void *p, size_t n);

/* Makes sure EVPROF__OUT_SLACK bytes fit; returns where to write. */
static inline char *evprof__out_room(evprof__out *o)
{
    if (o->n > EVPROF__OUT_SIZE - EVPROF__OUT_SLACK)
        evprof__out_push(o);
    return o->buf + o->n;
}

/* Ends what was written at p (from evprof__out_room, at most SLACK). */
static inline void evprof__out_done(evprof__out *o, char *p)
{
    o->n = (size_t)(p - o->buf);
}

/* Short strings (at most SLACK bytes), from evprof__out_room's p. */
static inline char *evprof__put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define EVPROF__PUTS(p, lit) evprof__put((p), (lit), sizeof(lit) - 1)

/* "000" to "999", three characters each, then a NUL: a number under
 * 1000 is one load and one store of four bytes (the fourth is written
 * over by what follows), no division. */
extern const char evprof__d3[3001];

/* Three digits of v < 1000; writes a fourth byte, at the return. */
static inline char *evprof__put_3(char *p, unsigned v)
{
    memcpy(p, evprof__d3 + 3 * v, 4);
    return p + 3;
}

/* v < 1000 without its leading zeros ("0" for 0); writes four bytes. */
static inline char *evprof__put_1to3(char *p, unsigned v)
{
    unsigned skip = (v < 10) + (v < 100);

    memcpy(p, evprof__d3 + 3 * v + skip, 4);
    return p + 3 - skip;
}

/* Digits of v in decimal. */
static inline size_t evprof__digits(uint64_t v)
{
    size_t n = 1;

    for (; v >= 10000; v /= 10000)
        n += 4;
    return n + (v >= 10) + (v >= 100) + (v >= 1000);
}

/* v in decimal, written backwards from its last digit (no copy). */
static inline char *evprof__put_u64(char *p, uint64_t v)
{
    static const char d2[] =
        "00010203040506070809101112131415161718192021222324252627282930313233"
        "34353637383940414243444546474849505152535455565758596061626364656667"
        "6869707172737475767778798081828384858687888990919293949596979899";
    char *e = p + evprof__digits(v), *s = e;

    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);

        v /= 100;
        s -= 2;
        s[0] = d2[2 * r];
        s[1] = d2[2 * r + 1];
    }
    if (v >= 10) {
        s -= 2;
        s[0] = d2[2 * v];
        s[1] = d2[2 * v + 1];
    } else
        *--s = (char)('0' + v);
    return e;
}

static inline char *evprof__put_i64(char *p, int64_t v)
{
    if (v < 0) {
        *p++ = '-';
        return evprof__put_u64(p, -(uint64_t)v);
    }
    return evprof__put_u64(p, (uint64_t)v);
}

/* a ns as microseconds with three decimals, exact: 1234567 -> 1234.567. */
static inline char *evprof__put_us_u(char *p, uint64_t a)
{
    unsigned f = (unsigned)(a % 1000);

    p = evprof__put_u64(p, a / 1000);
    p[0] = '.';
    memcpy(p + 1, evprof__d3 + 3 * f, 3);
    return p + 4;
}

static inline char *evprof__put_us(char *p, int64_t ns)
{
    if (ns < 0) {
        *p++ = '-';
        return evprof__put_us_u(p, -(uint64_t)ns);
    }
    return evprof__put_us_u(p, (uint64_t)ns);
}

/* The same for timestamps, which share their leading digits: the
 * milliseconds are formatted once for as long as they stay the same
 * (zeroed, the cache holds none: ms is at least 1 where it is used),
 * the microseconds and nanoseconds taken from evprof__d3. */
typedef struct evprof__us_cache {
    uint64_t ms;        /* of the digits in s */
    char s[24];
    size_t n;
} evprof__us_cache;

/* The milliseconds of ns into c (a new millisecond: once in hundreds of
 * timestamps); kept out of line. */
void evprof__us_cache_set(evprof__us_cache *c, uint64_t ms);

/* t - t0 in microseconds, exact for any two int64 (the difference takes
 * up to 65 bits: its sign and magnitude are written apart). */
static inline __attribute__((always_inline)) char *
evprof__put_ts(char *p, int64_t t, int64_t t0, evprof__us_cache *c)
{
    uint64_t ns, ms;
    unsigned rest, us;

    if (__builtin_expect(t < t0, 0)) {
        *p++ = '-';
        return evprof__put_us_u(p, (uint64_t)t0 - (uint64_t)t);
    }
    ns = (uint64_t)t - (uint64_t)t0;
    if (__builtin_expect(ns < 1000000, 0))
        return evprof__put_us_u(p, ns);
    ms = ns / 1000000;
    rest = (unsigned)(ns - ms * 1000000);
    if (__builtin_expect(c->ms != ms, 0))
        evprof__us_cache_set(c, ms);
    memcpy(p, c->s, sizeof(c->s)); /* a fixed size: no call */
    p += c->n;
    us = rest / 1000;
    p = evprof__put_3(p, us);
    *p = '.';
    return evprof__put_3(p + 1, rest - us * 1000);
}

#endif /* EVPROF_SINK_OUT_H */
