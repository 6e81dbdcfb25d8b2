/*
 * evprof/instrument.h: the evprof-instrument library, for C programs built
 * with -finstrument-functions.  Not included by <evprof.h>: the functions
 * live in libevprof-instrument.a (`pkg-config --cflags --libs
 * evprof-instrument`).
 *
 * The library defines __cyg_profile_func_enter/exit: every call and return
 * of an instrumented function is logged (EVPROF_CALL / EVPROF_RETURN,
 * id_frame = the function's address, id_arg = the call site, value1 = the
 * thread's context) while recording, from every thread.  Recording starts
 * by itself when the environment variable EVPROF_OUTPUT names the trace file
 * (before main), or with evprof_instrument_start; the trace file is written
 * by evprof_instrument_stop, at exit, or when SIGTERM or SIGINT ends the
 * program.  It is written under a temporary name and renamed over the path
 * once complete: a run that does not finish leaves an earlier trace alone.
 * "%p" in the path is replaced by the process id; a child made by fork()
 * records into its own file when the path has "%p" and stops recording
 * otherwise.
 */
#ifndef EVPROF_INSTRUMENT_H
#define EVPROF_INSTRUMENT_H 1

#include <evprof.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The environment variables read at start-up. */
#define EVPROF_INSTRUMENT_ENV "EVPROF_OUTPUT"
#define EVPROF_INSTRUMENT_LIMIT_ENV "EVPROF_MAX_EVENTS"

/*
 * Starts recording, to be written to `path` ("%p": the process id, "%%":
 * "%").  Checked now (a file can be made in its directory), so that an
 * unwritable path fails here; a file already there is left as it is until
 * the new trace replaces it.  Installs handlers for SIGTERM and SIGINT
 * that write the trace (see evprof_instrument_start(3), SIGNALS).
 * 0, or -EINVAL (path NULL or empty), -EBUSY (already recording), -EACCES,
 * -ENOENT, -EISDIR, ... (the file cannot be written), -ENOMEM.
 */
int evprof_instrument_start(const char *path) EVPROF_NOINSTR
    EVPROF_WARN_UNUSED;

/*
 * Stops recording and writes the trace file: the events, the threads, and
 * the names, object files, source files and lines of the functions and call
 * sites seen.  0, -ESRCH (not recording: never started or already stopped),
 * or the error met writing the file.
 */
int evprof_instrument_stop(void) EVPROF_NOINSTR;

/*
 * Bounds the memory of the next recordings: at most `max_events` events are
 * kept per thread (the first ones; the others are counted as lost, in the
 * END section of the trace), or all of them when 0 (the default: the buffer
 * grows as needed).  EVPROF_MAX_EVENTS=n does the same at start-up.
 * 0, or -EBUSY while recording.
 */
int evprof_instrument_set_limit(size_t max_events) EVPROF_NOINSTR;

/* 1 while recording, else 0. */
int evprof_instrument_running(void) EVPROF_NOINSTR;

/* The trace file of the current (or last) recording, NULL if none. */
const char *evprof_instrument_path(void) EVPROF_NOINSTR;

/* The hooks themselves, called by code built with -finstrument-functions. */
void __cyg_profile_func_enter(void *fn, void *site) EVPROF_NOINSTR;
void __cyg_profile_func_exit(void *fn, void *site) EVPROF_NOINSTR;

#ifdef __cplusplus
}
#endif

#endif /* EVPROF_INSTRUMENT_H */
