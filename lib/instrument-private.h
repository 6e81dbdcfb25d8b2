/*
 * instrument-private.h: what the files of libevprof-instrument.a share.
 * instrument.c records; instrument_write.c writes the trace file;
 * instrument_dl.c finds which hooks the process binds to and keeps the
 * modules unloaded while recording; instrument_file.c decides where the
 * trace goes and
 * replaces the file only once it is complete; instrument_signal.c writes
 * the trace when SIGTERM or SIGINT ends the program.  Not installed.
 */
#ifndef EVPROF_INSTRUMENT_PRIVATE_H
#define EVPROF_INSTRUMENT_PRIVATE_H 1

#include <stdint.h>

#include "evprof.h"

/* Where a recording's trace goes. */
typedef struct evprof__output {
    char *path; /* the trace file, absolute (evprof_instrument_path) */
    /* Written first, then renamed over `path` once complete, so that a run
     * that does not finish leaves an earlier trace alone; NULL when `path`
     * is written in place (a device, a FIFO, a symbolic link, a file in a
     * directory we cannot create files in). */
    char *tmp;
} evprof__output;

/* `pat` with "%p" replaced by the pid and "%%" by "%", made absolute;
 * NULL if no memory. */
char *evprof__instrument_expand(const char *pat) EVPROF_NOINSTR;

/*
 * Checks that a trace can be written to `path` (taken over: freed on
 * failure) without touching a file already there, and fills *o.
 * 0, or -EISDIR, -ENOENT, -EACCES, ... (*o untouched), -ENOMEM.
 */
int evprof__output_prepare(char *path, evprof__output *o) EVPROF_NOINSTR;

/* Creates the file to write (the temporary one, afresh), its name in
 * *file.  0 or a negative code. */
int evprof__output_begin(const evprof__output *o, const char **file)
    EVPROF_NOINSTR;

/* After writing with result `rc`: the temporary file renamed over the
 * trace if rc is 0, removed otherwise.  0 or the error. */
int evprof__output_end(const evprof__output *o, int rc) EVPROF_NOINSTR;

void evprof__output_free(evprof__output *o) EVPROF_NOINSTR;

/* Writes the events of b to `file` (drained: every event read), with the
 * threads, names and lines, the events lost since `lost_before`, and
 * `scope` (META, when not NULL: what part of the process's calls these
 * are).
 * 0 or a negative code. */
int evprof__instrument_write(evprof_buffer *b, const char *file,
                             uint64_t lost_before, const char *scope)
    EVPROF_NOINSTR;

/* The buffer of the recording going on, or NULL (libevprof-malloc.so logs
 * native allocations into it). */
evprof_buffer *evprof__instrument_active(void) EVPROF_NOINSTR;

/* Drops what a buffer still holds (events logged after a stop). */
void evprof__instrument_drain(evprof_buffer *b) EVPROF_NOINSTR;

/* Puts our SIGTERM and SIGINT handlers in front of the program's (not
 * where the program ignores the signal).  Called with recording's lock
 * held. */
void evprof__signals_install(void) EVPROF_NOINSTR;

/* From a signal handler: stops recording and writes the trace, as at exit
 * (see instrument_signal.c for what is and is not safe there). */
void evprof__instrument_stop_from_signal(void) EVPROF_NOINSTR;

/* What the global scope's __cyg_profile_func_enter is (instrument_dl.c). */
typedef enum evprof__hooks {
    EVPROF__HOOKS_OURS,  /* this copy's: it sees every instrumented call */
    EVPROF__HOOKS_ALONE, /* the C library's empty one: this copy sees only
                            its own module's calls */
    EVPROF__HOOKS_OTHER  /* someone else's: this copy passes its calls on */
} evprof__hooks;

typedef void (*evprof__hook_fn)(void *fn, void *site);

/* `ours` is the address of anything in this copy (its module is looked
 * up); fills the hooks to pass calls to (EVPROF__HOOKS_OTHER) and the
 * object file of this copy. */
evprof__hooks evprof__hooks_found(const void *ours, evprof__hook_fn *enter,
                                  evprof__hook_fn *exit, const char **module)
    EVPROF_NOINSTR;

/* A module unloaded while recording. */
typedef struct evprof__module {
    char *path;
    uintptr_t bias, lo, hi; /* load bias, addresses [lo, hi) */
    struct evprof__module *next;
} evprof__module;

/* The modules unloaded since evprof__modules_forget, newest first. */
const evprof__module *evprof__modules_gone(void) EVPROF_NOINSTR;
void evprof__modules_forget(void) EVPROF_NOINSTR;

/* Puts the program's actions for our signals back (at unload). */
void evprof__signals_remove(void) EVPROF_NOINSTR;

#endif /* EVPROF_INSTRUMENT_PRIVATE_H */
