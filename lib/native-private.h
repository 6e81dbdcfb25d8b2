/*
 * native-private.h: what the files of libevprof-malloc.so share
 * (native_malloc.c interposes, native_sink.c says where events go and
 * keeps the anonymous mappings it saw).  Not installed.
 */
#ifndef EVPROF_NATIVE_PRIVATE_H
#define EVPROF_NATIVE_PRIVATE_H 1

#include <stddef.h>
#include <stdint.h>

#include "evprof.h"

/* Logs one event where it goes now (an attached sink, else the
 * evprof-instrument recording, else nowhere).  Called with
 * evprof__in_hook set by the caller. */
void evprof__native_log(int64_t event, int64_t domain, int64_t ptr,
                        int64_t size) EVPROF_NOINSTR;

/* Remembers a mapping that was logged: 0, or -ENOSPC when the table is
 * full (the mapping is then not logged, nor its unmapping). */
int evprof__native_map_add(void *addr, size_t len) EVPROF_NOINSTR;

/* Forgets [addr, addr + len) of the mappings remembered; returns how many
 * of those bytes were remembered (0: none of them was logged). */
size_t evprof__native_map_remove(void *addr, size_t len) EVPROF_NOINSTR;

#endif /* EVPROF_NATIVE_PRIVATE_H */
