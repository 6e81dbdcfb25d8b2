/*
 * symbols-private.h: resolving code addresses of this process to function
 * names, object files and source lines (for the instrument library).  With
 * elfutils' libdw (HAVE_LIBDW) through Dwfl, which also gives source files
 * and lines; without it from the ELF symbol tables (.symtab, else .dynsym)
 * of the loaded objects, read here.  Not installed.
 */
#ifndef EVPROF_SYMBOLS_PRIVATE_H
#define EVPROF_SYMBOLS_PRIVATE_H 1

#include <stdint.h>

#include "evprof.h"

typedef struct evprof__symbols evprof__symbols;

typedef struct evprof__sym {
    const char *name;   /* NULL when unknown */
    const char *module; /* the object file, NULL when unknown */
    const char *file;   /* source file, NULL when unknown */
    int line;           /* 0 when unknown */
    uintptr_t start;    /* address of the function holding addr, or 0 */
} evprof__sym;

/* NULL on failure (ENOMEM). */
evprof__symbols *evprof__symbols_new(void) EVPROF_NOINSTR;
/* Fills *out (strings valid until evprof__symbols_free); 0 or -ENOENT. */
int evprof__symbols_find(evprof__symbols *s, uintptr_t addr, evprof__sym *out)
    EVPROF_NOINSTR;
void evprof__symbols_free(evprof__symbols *s) EVPROF_NOINSTR;

/* A module no longer loaded: the object file `path`, loaded at `bias`,
 * was at [lo, hi).  Its functions are then named from that file, unless
 * another module is loaded there now.  0 or a negative code. */
int evprof__symbols_add_gone(evprof__symbols *s, const char *path,
                             uintptr_t bias, uintptr_t lo, uintptr_t hi)
    EVPROF_NOINSTR;

#endif /* EVPROF_SYMBOLS_PRIVATE_H */
