/*
 * native-prog.c: a program that allocates in every way libevprof-malloc.so
 * sees, with sizes nothing else in the process uses (t/native runs it
 * under LD_PRELOAD and looks for them).  Plain C: not linked with the
 * library.
 */
#define _GNU_SOURCE 1
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Marker sizes: odd, large enough that no library call asks for them. */
#define M_MALLOC 100003
#define M_CALLOC_N 7
#define M_CALLOC_E 14293 /* 7 * 14293 = 100051 */
#define M_REALLOC 200017
#define M_POSIX 100057
#define M_ALIGNED 100096 /* a multiple of 64 for aligned_alloc */
#define M_MEMALIGN 100069
#define M_VALLOC 100103
#define M_THREAD 100109
#define M_MMAP (1 << 20)

static void *thread_main(void *arg)
{
    int i;

    (void)arg;
    for (i = 0; i < 10; i++) {
        char *p = malloc(M_THREAD + 2 * (size_t)i);

        if (p == NULL)
            return (void *)1;
        p[0] = (char)i;
        free(p);
    }
    return NULL;
}

int main(void)
{
    void *a, *b, *c, *d, *e, *f, *g;
    pthread_t t;
    char *m;

    a = malloc(M_MALLOC);
    b = calloc(M_CALLOC_N, M_CALLOC_E);
    c = malloc(M_MALLOC + 2);
    c = realloc(c, M_REALLOC);
    if (posix_memalign(&d, 64, M_POSIX) != 0)
        return 2;
    e = aligned_alloc(64, M_ALIGNED);
    f = memalign(128, M_MEMALIGN);
    g = valloc(M_VALLOC);
    if (!a || !b || !c || !e || !f || !g)
        return 3;
    memset(a, 1, M_MALLOC);
    m = mmap(NULL, M_MMAP, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 4;
    m[0] = 1;
    if (munmap(m, M_MMAP) != 0)
        return 5;
    if (pthread_create(&t, NULL, thread_main, NULL) != 0
        || pthread_join(t, NULL) != 0)
        return 6;
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
    free(f);
    free(g);
    free(NULL);
    puts("done");
    return 0;
}
