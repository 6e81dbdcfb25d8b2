/*
 * sink_pb.c: protocol buffer wire format, the subset sink_perfetto.c
 * writes (https://protobuf.dev/programming-guides/encoding/).
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "grow-private.h"
#include "sink_pb.h"

static int reserve(evprof__pb *b, size_t more)
{
    if (b->oom)
        return -1;
    if (evprof__grow(&b->p, &b->cap, b->n + more, 1, 256) < 0) {
        b->oom = 1;
        return -1;
    }
    return 0;
}

void evprof__pb_raw(evprof__pb *b, const void *data, size_t n)
{
    if (n == 0 || reserve(b, n) < 0)
        return;
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

void evprof__pb_varint(evprof__pb *b, uint64_t v)
{
    uint8_t buf[10];
    size_t n = 0;

    while (v >= 0x80) {
        buf[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    buf[n++] = (uint8_t)v;
    evprof__pb_raw(b, buf, n);
}

void evprof__pb_tag(evprof__pb *b, uint32_t field, int wire_type)
{
    evprof__pb_varint(b, ((uint64_t)field << 3) | (unsigned)wire_type);
}

void evprof__pb_uint(evprof__pb *b, uint32_t field, uint64_t v)
{
    evprof__pb_tag(b, field, EVPROF__PB_VARINT);
    evprof__pb_varint(b, v);
}

void evprof__pb_bytes(evprof__pb *b, uint32_t field, const void *data,
                      size_t n)
{
    evprof__pb_tag(b, field, EVPROF__PB_LEN);
    evprof__pb_varint(b, n);
    evprof__pb_raw(b, data, n);
}

void evprof__pb_str(evprof__pb *b, uint32_t field, const char *s)
{
    evprof__pb_bytes(b, field, s, strlen(s));
}

void evprof__pb_msg(evprof__pb *b, uint32_t field, const evprof__pb *sub)
{
    if (sub->oom)
        b->oom = 1;
    evprof__pb_bytes(b, field, sub->p, sub->n);
}

void evprof__pb_free(evprof__pb *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
    b->oom = 0;
}
