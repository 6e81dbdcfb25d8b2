# lib/hooks.mk: the trace file writer and reader, the function hooks, the
# evprof-instrument library for -finstrument-functions programs, their
# tests, examples (`make installcheck`), man pages and benchmark
# (`make bench`).  Included from Makefile.am.

lib_libevprof_a_SOURCES += lib/trace-private.h lib/trace_write.c \
	lib/trace_read.c
evprofinclude_HEADERS += lib/evprof/trace.h lib/evprof/instrument.h

# The instrument library: its own static archive, never instrumented itself.
lib_LIBRARIES += lib/libevprof-instrument.a
lib_libevprof_instrument_a_CFLAGS = $(AM_CFLAGS) -fPIC \
	-fno-instrument-functions $(LIBDW_CFLAGS)
lib_libevprof_instrument_a_SOURCES = lib/instrument.c lib/symbols.c \
	lib/symbols-private.h
INSTRUMENT_LIBS = lib/libevprof-instrument.a lib/libevprof.a \
	$(LIBDW_LIBS) $(DL_LIBS) $(PTHREAD_LIBS)

pkgconfig_DATA += lib/evprof-instrument.pc
DISTCLEANFILES += lib/evprof-instrument.pc

# ---- tests ----
C_TESTS += t/trace t/hooks t/instrument
t_trace_SOURCES = t/trace.c
t_hooks_SOURCES = t/hooks.c
t_instrument_SOURCES = t/instrument.c examples/trace-check.h
t_instrument_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/examples
t_instrument_CFLAGS = $(AM_CFLAGS) -g $(INSTRUMENT_CFLAGS)
t_instrument_LDADD = t/libtap.a $(INSTRUMENT_LIBS)
# Run by t/instrument with EVPROF_OUTPUT set: exit() from a thread, a thread
# exiting mid-call, fork.
check_PROGRAMS += t/instr-prog
t_instr_prog_SOURCES = t/instr-prog.c
t_instr_prog_CFLAGS = $(AM_CFLAGS) -g $(INSTRUMENT_CFLAGS)
t_instr_prog_LDADD = $(INSTRUMENT_LIBS)

# ---- examples, checked against the installed tree ----
EXTRA_DIST += examples/alloc.c examples/calls.c examples/check_trace.c \
	examples/trace-check.h examples/installcheck.sh doc/trace-format.md

installcheck-local: installcheck-examples
installcheck-examples:
	CC='$(CC)' PKG_CONFIG='$(PKG_CONFIG)' DESTDIR='$(DESTDIR)' \
	  pkgconfigdir='$(pkgconfigdir)' srcdir='$(srcdir)' \
	  $(SHELL) $(srcdir)/examples/installcheck.sh
.PHONY: installcheck-examples

# ---- benchmark: cost per instrumented call (make bench) ----
EXTRA_PROGRAMS += bench/instr_plain bench/instr_hooked
bench_instr_plain_SOURCES = bench/instr.c
bench_instr_plain_CFLAGS = $(AM_CFLAGS) -O2
bench_instr_plain_LDADD = $(PTHREAD_LIBS)
bench_instr_hooked_SOURCES = bench/instr.c
bench_instr_hooked_CFLAGS = $(AM_CFLAGS) -O2 $(INSTRUMENT_CFLAGS)
bench_instr_hooked_LDADD = $(INSTRUMENT_LIBS)
EXTRA_DIST += bench/instr.sh

bench: bench-instrument
bench-instrument: bench/instr_plain$(EXEEXT) bench/instr_hooked$(EXEEXT)
	$(SHELL) $(srcdir)/bench/instr.sh
.PHONY: bench-instrument
