/*
 * evprof/domain.h: which allocator an allocation event came from,
 * included by <evprof.h>.
 *
 * Allocation events (malloc, calloc, realloc, free, realloc_free) carry
 * their domain in id_arg.  One map gives the values, the names and the
 * enum, in the manner of the event codes.
 */
#ifndef EVPROF_DOMAIN_H
#define EVPROF_DOMAIN_H 1

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* XX(NAME, value, "name", what it is) */
#define EVPROF_DOMAIN_MAP(XX)                                              \
    XX(RAW, 0, "raw", "Python's PyMem_RawMalloc family")                   \
    XX(MEM, 1, "mem", "Python's PyMem_Malloc family")                      \
    XX(OBJ, 2, "obj", "Python's object allocator (PyObject_Malloc)")       \
    XX(NUMPY, 3, "numpy", "numpy's array data (PyDataMem_Handler)")        \
    XX(NATIVE, 4, "native", "the C library's malloc family")               \
    XX(MMAP, 5, "mmap", "anonymous mmap and munmap")

enum {
#define EVPROF__DOMAIN_ENUM(name, value, text, what) \
    EVPROF_DOMAIN_##name = value,
    EVPROF_DOMAIN_MAP(EVPROF__DOMAIN_ENUM)
#undef EVPROF__DOMAIN_ENUM
    EVPROF_DOMAIN_COUNT
};

/* "raw", "mem", ... for a domain value; NULL when unknown. */
const char *evprof_domain_name(int64_t domain);

/* The value of a domain name; -EINVAL when unknown. */
int evprof_domain_code(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* EVPROF_DOMAIN_H */
