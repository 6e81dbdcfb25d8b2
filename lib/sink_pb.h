/*
 * sink_pb.h: the few protocol buffer encoders the Perfetto sink needs
 * (varints, tags, length-delimited fields), into a growing byte buffer.
 * A failed allocation is remembered in the buffer and reported once.
 */
#ifndef EVPROF_SINK_PB_H
#define EVPROF_SINK_PB_H 1

#include <stddef.h>
#include <stdint.h>

typedef struct evprof__pb {
    uint8_t *p;
    size_t n, cap;
    int oom;
} evprof__pb;

enum { EVPROF__PB_VARINT = 0, EVPROF__PB_LEN = 2 };

void evprof__pb_raw(evprof__pb *b, const void *data, size_t n);
void evprof__pb_varint(evprof__pb *b, uint64_t v);
void evprof__pb_tag(evprof__pb *b, uint32_t field, int wire_type);
/* field = v (a varint: uint32/uint64/int64/bool/enum). */
void evprof__pb_uint(evprof__pb *b, uint32_t field, uint64_t v);
/* field = bytes / string. */
void evprof__pb_bytes(evprof__pb *b, uint32_t field, const void *data,
                      size_t n);
void evprof__pb_str(evprof__pb *b, uint32_t field, const char *s);
/* field = the message encoded in sub. */
void evprof__pb_msg(evprof__pb *b, uint32_t field, const evprof__pb *sub);
void evprof__pb_free(evprof__pb *b);

#endif /* EVPROF_SINK_PB_H */
