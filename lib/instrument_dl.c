/*
 * instrument_dl.c: evprof-instrument in a process of several objects.
 *
 * Which hooks a module's instrumented calls reach.  The dynamic linker
 * binds a reference to __cyg_profile_func_enter to the first definition in
 * the global scope: the program's (when it is linked with this library, it
 * exports them), else the C library's, which does nothing.  So a shared
 * object built with its own copy of this library, dlopen()ed by a program
 * that has none, used to record nothing: its calls went to the C library.
 * The hooks are therefore protected (instrument.c): a module's calls reach
 * its own copy first.  At load, a copy looks at what the global scope has:
 *   - itself (the program's copy, or a preloaded one): it records all;
 *   - the C library's empty hooks: it records the calls of its own module
 *     only, and says so in the trace (META "scope");
 *   - another definition (the program's copy of evprof-instrument, or some
 *     other tool): its calls are passed on to that one, and it does not
 *     record (evprof_instrument_start: -EEXIST).
 *
 * Names of unloaded modules.  Addresses are resolved when the trace is
 * written; a module dlclose()d before that is gone by then.  So dlclose is
 * interposed: while recording, the file, load bias and address range of the
 * module are kept before it goes, and the trace's names are read from that
 * file (symbols.c).  A program linked with this library exports dlclose
 * (the C library has one), so every dlclose of the process comes here.
 */
#include <config.h>

#include <dlfcn.h>
#include <gnu/lib-names.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include "evprof/instrument.h"
#include "instrument-private.h"

evprof__hooks evprof__hooks_found(const void *ours, evprof__hook_fn *enter,
                                  evprof__hook_fn *exit, const char **module)
{
    Dl_info me, g;
    void *global, *libc, *stub = NULL;

    *enter = *exit = NULL;
    *module = NULL;
    if (dladdr(ours, &me) == 0)
        return EVPROF__HOOKS_OURS;
    *module = me.dli_fname;
    global = dlsym(RTLD_DEFAULT, "__cyg_profile_func_enter");
    if (global == NULL || (dladdr(global, &g) != 0
                           && g.dli_fbase == me.dli_fbase))
        return EVPROF__HOOKS_OURS;
    libc = dlopen(LIBC_SO, RTLD_LAZY | RTLD_NOLOAD);
    if (libc != NULL) {
        stub = dlsym(libc, "__cyg_profile_func_enter");
        dlclose(libc);
    }
    if (global == stub)
        return EVPROF__HOOKS_ALONE;
    /* Converted through uintptr_t: ISO C has no object-to-function
     * pointer conversion, POSIX's dlsym needs one. */
    *enter = (evprof__hook_fn)(uintptr_t)global;
    *exit = (evprof__hook_fn)(uintptr_t)dlsym(RTLD_DEFAULT,
                                              "__cyg_profile_func_exit");
    if (*exit == NULL)
        *enter = NULL;
    return EVPROF__HOOKS_OTHER;
}

/* ---- modules unloaded while recording -------------------------------- */

/* Pushed by dlclose (any thread), freed by evprof__modules_forget (under
 * recording's lock, which also covers the readers). */
static evprof__module *gone;

struct find_range {
    const struct link_map *lm;
    uintptr_t lo, hi;
};

static int module_range(struct dl_phdr_info *info, size_t size, void *data)
{
    struct find_range *f = data;
    int i;

    (void)size;
    if (info->dlpi_addr != f->lm->l_addr || info->dlpi_name == NULL
        || strcmp(info->dlpi_name, f->lm->l_name) != 0)
        return 0;
    for (i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

        if (ph->p_type != PT_LOAD)
            continue;
        if (f->hi == 0 || lo < f->lo)
            f->lo = lo;
        if (lo + ph->p_memsz > f->hi)
            f->hi = lo + ph->p_memsz;
    }
    return 1;
}

/* Keeps what it takes to name the functions of `handle` once unloaded. */
static void keep(void *handle)
{
    struct link_map *lm = NULL;
    struct find_range f = { NULL, 0, 0 };
    evprof__module *m;
    char *path;

    if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || lm == NULL
        || lm->l_name == NULL || lm->l_name[0] == '\0')
        return;
    f.lm = lm;
    dl_iterate_phdr(module_range, &f);
    if (f.hi == 0)
        return;
    /* Absolute: the program may change directory before the end. */
    path = realpath(lm->l_name, NULL);
    if (path == NULL)
        return;
    for (m = __atomic_load_n(&gone, __ATOMIC_ACQUIRE); m != NULL; m = m->next)
        if (m->bias == lm->l_addr && m->lo == f.lo
            && strcmp(m->path, path) == 0) {
            free(path); /* loaded and closed again at the same place */
            return;
        }
    m = malloc(sizeof(*m));
    if (m == NULL) {
        free(path);
        return;
    }
    m->path = path;
    m->bias = lm->l_addr;
    m->lo = f.lo;
    m->hi = f.hi;
    m->next = __atomic_load_n(&gone, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(&gone, &m->next, m, 1,
                                        __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        ;
}

int dlclose(void *handle)
{
    static int (*real)(void *);
    int (*next)(void *) = __atomic_load_n(&real, __ATOMIC_RELAXED);

    if (next == NULL) {
        next = (int (*)(void *))(uintptr_t)dlsym(RTLD_NEXT, "dlclose");
        if (next == NULL)
            return -1;
        __atomic_store_n(&real, next, __ATOMIC_RELAXED);
    }
    /* The module may not go (other handles hold it): kept all the same,
     * its live mapping wins at write time. */
    if (evprof_instrument_running())
        keep(handle);
    return next(handle);
}

const evprof__module *evprof__modules_gone(void)
{
    return __atomic_load_n(&gone, __ATOMIC_ACQUIRE);
}

void evprof__modules_forget(void)
{
    evprof__module *m = __atomic_exchange_n(&gone, NULL, __ATOMIC_ACQ_REL),
        *next;

    for (; m != NULL; m = next) {
        next = m->next;
        free(m->path);
        free(m);
    }
}
