/*
 * trace-craft.h: trace files made by hand for the reader's tests, with
 * valid checksums around whatever content a test wants to lie with.
 * One file of crafted bytes at a time, in craft[0..craft_len).
 */
#ifndef EVPROF_T_TRACE_CRAFT_H
#define EVPROF_T_TRACE_CRAFT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

uint32_t evprof__crc32(uint32_t crc, const void *data, size_t n);

static unsigned char craft[16384];
static size_t craft_len;

/* v as n little-endian bytes at p. */
static inline void le(unsigned char *p, uint64_t v, int n)
{
    int i;

    for (i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Starts a file: a valid header of version 1.minor. */
static inline void craft_start(unsigned minor)
{
    memset(craft, 0, 64);
    memcpy(craft, "\x89" "EVPROF\n", 8);
    le(craft + 8, 1, 2);
    le(craft + 10, minor, 2);
    le(craft + 12, 64, 4);
    le(craft + 16, 48, 4);
    le(craft + 20, 6, 4);
    le(craft + 24, 1, 4);
    le(craft + 60, evprof__crc32(0, craft, 60), 4);
    craft_len = 64;
}

/* Appends a section with correct checksums; `declared` is the length
 * its header gives, which may lie. */
static inline void craft_section(uint32_t type, uint32_t flags,
                                 const void *payload, size_t n,
                                 uint64_t declared)
{
    unsigned char *h = craft + craft_len;

    le(h, type, 4);
    le(h + 4, flags, 4);
    le(h + 8, declared, 8);
    le(h + 16, evprof__crc32(0, payload, n), 4);
    le(h + 20, evprof__crc32(0, h, 20), 4);
    memcpy(h + 24, payload, n);
    craft_len += 24 + n;
}

/* The END section: `events` and `sections` as its counts. */
static inline void craft_end(uint64_t events, uint64_t sections)
{
    unsigned char e[24];

    le(e, events, 8);
    le(e + 8, sections, 8);
    le(e + 16, 0, 8);
    craft_section(0xFFFF, 1, e, 24, 24);
}

#endif
