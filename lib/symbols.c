/*
 * symbols.c: code addresses of this process to names, object files and
 * source lines; see symbols-private.h.
 *
 * Load bias: an address is looked up in the object whose PT_LOAD segment
 * holds it (dl_iterate_phdr), minus that object's load bias (dlpi_addr:
 * nonzero for PIE executables and shared objects), so symbol values of the
 * file match.  libdw's Dwfl does the same from /proc/self/maps.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef HAVE_LIBDW
# include <elfutils/libdwfl.h>
#endif

#include "symbols-private.h"

#ifdef HAVE_LIBDW

struct evprof__symbols {
    Dwfl *dwfl;
    Dwfl_Callbacks cb;
    char *debuginfo_path;
};

evprof__symbols *evprof__symbols_new(void)
{
    evprof__symbols *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->cb.find_elf = dwfl_linux_proc_find_elf;
    s->cb.find_debuginfo = dwfl_standard_find_debuginfo;
    s->cb.debuginfo_path = &s->debuginfo_path;
    s->dwfl = dwfl_begin(&s->cb);
    if (s->dwfl == NULL) {
        free(s);
        errno = ENOMEM;
        return NULL;
    }
    dwfl_report_begin(s->dwfl);
    if (dwfl_linux_proc_report(s->dwfl, getpid()) != 0
        || dwfl_report_end(s->dwfl, NULL, NULL) != 0) {
        dwfl_end(s->dwfl);
        free(s);
        errno = ENOENT;
        return NULL;
    }
    return s;
}

int evprof__symbols_find(evprof__symbols *s, uintptr_t addr, evprof__sym *out)
{
    Dwfl_Module *m;
    Dwfl_Line *l;
    GElf_Off off = 0;
    GElf_Sym sym;
    const char *name;
    int line = 0;

    memset(out, 0, sizeof(*out));
    if (s == NULL)
        return -EINVAL;
    m = dwfl_addrmodule(s->dwfl, (Dwarf_Addr)addr);
    if (m == NULL)
        return -ENOENT;
    out->module = dwfl_module_info(m, NULL, NULL, NULL, NULL, NULL, NULL,
                                   NULL);
    name = dwfl_module_addrinfo(m, (GElf_Addr)addr, &off, &sym, NULL, NULL,
                                NULL);
    if (name != NULL) {
        out->name = name;
        out->start = addr - (uintptr_t)off;
    }
    l = dwfl_module_getsrc(m, (Dwarf_Addr)addr);
    if (l != NULL) {
        out->file = dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL);
        out->line = line;
    }
    return name != NULL ? 0 : -ENOENT;
}

void evprof__symbols_free(evprof__symbols *s)
{
    if (s == NULL)
        return;
    dwfl_end(s->dwfl);
    free(s);
}

int evprof__symbols_add_gone(evprof__symbols *s, const char *path,
                             uintptr_t bias, uintptr_t lo, uintptr_t hi)
{
    Dwfl_Module *m;

    (void)hi;
    if (s == NULL)
        return -EINVAL;
    /* Another module mapped there since: its live mapping wins. */
    if (dwfl_addrmodule(s->dwfl, (Dwarf_Addr)lo) != NULL)
        return -EBUSY;
    dwfl_report_begin_add(s->dwfl);
    m = dwfl_report_elf(s->dwfl, path, path, -1, (GElf_Addr)bias, false);
    dwfl_report_end(s->dwfl, NULL, NULL);
    return m != NULL ? 0 : -ENOENT;
}

#else /* !HAVE_LIBDW: the ELF symbol tables, read by hand */

#include <elf.h>

#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
typedef Elf64_Ehdr Ehdr;
typedef Elf64_Shdr Shdr;
typedef Elf64_Sym Sym;
# define ST_TYPE ELF64_ST_TYPE
# define OUR_CLASS ELFCLASS64
#else
typedef Elf32_Ehdr Ehdr;
typedef Elf32_Shdr Shdr;
typedef Elf32_Sym Sym;
# define ST_TYPE ELF32_ST_TYPE
# define OUR_CLASS ELFCLASS32
#endif

struct fsym {
    uintptr_t value, size;
    const char *name;
};

/* One loaded object, its functions sorted by address. */
struct object {
    char *path;
    uintptr_t bias;
    void *map;
    size_t maplen;
    struct fsym *syms;
    size_t nsyms;
    struct object *next;
};

/* A module unloaded: where it was. */
struct gone {
    char *path;
    uintptr_t bias, lo, hi;
    struct gone *next;
};

struct evprof__symbols {
    struct object *objects;
    struct gone *gone;
};

evprof__symbols *evprof__symbols_new(void)
{
    return calloc(1, sizeof(evprof__symbols));
}

static int cmp_fsym(const void *a, const void *b)
{
    uintptr_t x = ((const struct fsym *)a)->value;
    uintptr_t y = ((const struct fsym *)b)->value;

    return (x > y) - (x < y);
}

/* Reads the function symbols of one table; every offset is checked. */
static void load_table(struct object *o, const Shdr *sh, size_t shnum,
                       size_t i)
{
    const unsigned char *base = o->map;
    const Shdr *tab = &sh[i], *str;
    const Sym *sym;
    size_t n, k;
    struct fsym *v;

    if (tab->sh_link >= shnum || tab->sh_entsize != sizeof(Sym))
        return;
    str = &sh[tab->sh_link];
    if (tab->sh_offset > o->maplen || tab->sh_size > o->maplen - tab->sh_offset
        || str->sh_offset > o->maplen
        || str->sh_size > o->maplen - str->sh_offset || str->sh_size == 0)
        return;
    n = tab->sh_size / sizeof(Sym);
    v = malloc((n ? n : 1) * sizeof(*v));
    if (v == NULL)
        return;
    sym = (const Sym *)(const void *)(base + tab->sh_offset);
    for (k = 0; k < n; k++) {
        if (ST_TYPE(sym[k].st_info) != STT_FUNC || sym[k].st_value == 0
            || sym[k].st_name >= str->sh_size)
            continue;
        /* The string table must end with a NUL for names to be safe. */
        if (base[str->sh_offset + str->sh_size - 1] != '\0')
            break;
        v[o->nsyms].value = (uintptr_t)sym[k].st_value;
        v[o->nsyms].size = (uintptr_t)sym[k].st_size;
        v[o->nsyms].name = (const char *)base + str->sh_offset
            + sym[k].st_name;
        o->nsyms++;
    }
    qsort(v, o->nsyms, sizeof(*v), cmp_fsym);
    o->syms = v;
}

static void load_object(struct object *o)
{
    struct stat st;
    const Ehdr *eh;
    const Shdr *sh;
    size_t i, shnum;
    int fd, pass;

    fd = open(o->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Ehdr)) {
        close(fd);
        return;
    }
    o->maplen = (size_t)st.st_size;
    o->map = mmap(NULL, o->maplen, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (o->map == MAP_FAILED) {
        o->map = NULL;
        return;
    }
    eh = o->map;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0
        || eh->e_ident[EI_CLASS] != OUR_CLASS
        || eh->e_shentsize != sizeof(Shdr) || eh->e_shoff > o->maplen
        || (size_t)eh->e_shnum * sizeof(Shdr) > o->maplen - eh->e_shoff)
        return;
    sh = (const Shdr *)(const void *)((const char *)o->map + eh->e_shoff);
    shnum = eh->e_shnum;
    /* .symtab has the static functions too; .dynsym is what stripped
     * objects keep. */
    for (pass = 0; pass < 2 && o->syms == NULL; pass++)
        for (i = 0; i < shnum && o->syms == NULL; i++)
            if (sh[i].sh_type == (pass == 0 ? SHT_SYMTAB : SHT_DYNSYM))
                load_table(o, sh, shnum, i);
}

struct find {
    uintptr_t addr;
    const char *name;
    uintptr_t bias;
    int found;
};

static int find_object(struct dl_phdr_info *info, size_t size, void *data)
{
    struct find *f = data;
    int i;

    (void)size;
    for (i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

        if (ph->p_type == PT_LOAD && f->addr >= lo
            && f->addr < lo + ph->p_memsz) {
            f->name = info->dlpi_name;
            f->bias = info->dlpi_addr;
            f->found = 1;
            return 1;
        }
    }
    return 0;
}

int evprof__symbols_find(evprof__symbols *s, uintptr_t addr, evprof__sym *out)
{
    struct find f = { addr, NULL, 0, 0 };
    struct object *o;
    const char *path;
    size_t lo, hi;
    uintptr_t a;

    memset(out, 0, sizeof(*out));
    if (s == NULL)
        return -EINVAL;
    dl_iterate_phdr(find_object, &f);
    if (!f.found) {
        const struct gone *g;

        for (g = s->gone; g != NULL; g = g->next)
            if (addr >= g->lo && addr < g->hi) {
                f.name = g->path;
                f.bias = g->bias;
                f.found = 1;
                break;
            }
    }
    if (!f.found)
        return -ENOENT;
    /* The main program has an empty name. */
    path = f.name != NULL && f.name[0] != '\0' ? f.name : "/proc/self/exe";
    for (o = s->objects; o != NULL; o = o->next)
        if (o->bias == f.bias && strcmp(o->path, path) == 0)
            break;
    if (o == NULL) {
        o = calloc(1, sizeof(*o));
        if (o == NULL)
            return -ENOMEM;
        o->path = strdup(path);
        if (o->path == NULL) {
            free(o);
            return -ENOMEM;
        }
        o->bias = f.bias;
        load_object(o);
        o->next = s->objects;
        s->objects = o;
    }
    out->module = o->path;
    if (strcmp(o->path, "/proc/self/exe") == 0) {
        static char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

        if (n > 0) {
            exe[n] = '\0';
            out->module = exe;
        }
    }
    a = addr - o->bias;
    /* The last symbol at or below a. */
    lo = 0;
    hi = o->nsyms;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (o->syms[mid].value <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return -ENOENT;
    lo--;
    if (a >= o->syms[lo].value + (o->syms[lo].size ? o->syms[lo].size : 1))
        return -ENOENT;
    out->name = o->syms[lo].name;
    out->start = o->syms[lo].value + o->bias;
    return 0;
}

int evprof__symbols_add_gone(evprof__symbols *s, const char *path,
                             uintptr_t bias, uintptr_t lo, uintptr_t hi)
{
    struct gone *g;

    if (s == NULL)
        return -EINVAL;
    g = calloc(1, sizeof(*g));
    if (g == NULL || (g->path = strdup(path)) == NULL) {
        free(g);
        return -ENOMEM;
    }
    g->bias = bias;
    g->lo = lo;
    g->hi = hi;
    g->next = s->gone;
    s->gone = g;
    return 0;
}

void evprof__symbols_free(evprof__symbols *s)
{
    struct object *o, *next;
    struct gone *g, *gnext;

    if (s == NULL)
        return;
    for (g = s->gone; g != NULL; g = gnext) {
        gnext = g->next;
        free(g->path);
        free(g);
    }
    for (o = s->objects; o != NULL; o = next) {
        next = o->next;
        if (o->map != NULL)
            munmap(o->map, o->maplen);
        free(o->syms);
        free(o->path);
        free(o);
    }
    free(s);
}

#endif /* HAVE_LIBDW */
