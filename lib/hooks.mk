# lib/hooks.mk: the trace file writer and reader, the function hooks, the
# evprof-instrument library for -finstrument-functions programs, their
# tests, examples (`make installcheck`), man pages and benchmark
# (`make bench`).  Included from Makefile.am.

lib_libevprof_a_SOURCES += lib/trace-private.h lib/trace_write.c \
	lib/trace-read-private.h lib/trace_tables.c \
	lib/trace_read.c lib/trace_skim.c
lib_libevprof_a_SOURCES += lib/trace_encode.c lib/trace_decode.c lib/trace_freed.c
evprofinclude_HEADERS += lib/evprof/trace.h lib/evprof/instrument.h

# The instrument library: its own static archive, never instrumented itself.
lib_LIBRARIES += lib/libevprof-instrument.a
lib_libevprof_instrument_a_CFLAGS = $(AM_CFLAGS) -fPIC \
	-fno-instrument-functions $(LIBDW_CFLAGS)
lib_libevprof_instrument_a_SOURCES = lib/instrument.c lib/symbols.c \
	lib/symbols-private.h lib/instrument-private.h lib/instrument_file.c \
	lib/instrument_signal.c lib/instrument_write.c lib/instrument_dl.c
INSTRUMENT_LIBS = lib/libevprof-instrument.a lib/libevprof.a \
	$(LIBDW_LIBS) $(DL_LIBS) $(PTHREAD_LIBS)

# Both libraries again, as libtool convenience libraries (PIC), for the
# shared objects built here (the Python extension, the test plugin): a
# shared object linked with a static archive is not portable (libtool
# warns).  The instrument one only for the tests.
noinst_LTLIBRARIES = lib/libevprof-pic.la
lib_libevprof_pic_la_SOURCES = $(lib_libevprof_a_SOURCES)
lib_libevprof_pic_la_CFLAGS = $(AM_CFLAGS)
check_LTLIBRARIES = lib/libevprof-instrument-pic.la
lib_libevprof_instrument_pic_la_SOURCES = \
	$(lib_libevprof_instrument_a_SOURCES)
lib_libevprof_instrument_pic_la_CFLAGS = \
	$(lib_libevprof_instrument_a_CFLAGS)
INSTRUMENT_PIC_LIBS = lib/libevprof-instrument-pic.la lib/libevprof-pic.la \
	$(LIBDW_LIBS) $(DL_LIBS) $(PTHREAD_LIBS)

pkgconfig_DATA += lib/evprof-instrument.pc
DISTCLEANFILES += lib/evprof-instrument.pc

# ---- tests ----
C_TESTS += t/trace t/trace-memory t/hooks t/quiesce t/instrument
t_trace_SOURCES = t/trace.c t/trace-craft.h
t_trace_memory_SOURCES = t/trace-memory.c
C_TESTS += t/trace-packed t/trace-freed
t_trace_packed_SOURCES = t/trace-packed.c t/trace-craft.h
t_trace_freed_SOURCES = t/trace-freed.c
EXTRA_DIST += t/data/trace-v1.0.evt
t_hooks_SOURCES = t/hooks.c
t_quiesce_SOURCES = t/quiesce.c
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

# A shared object built with -finstrument-functions, with its own copy of
# evprof-instrument and without, and a program that is not instrumented to
# load it (t/instrument runs them).
check_LTLIBRARIES += t/instr-plugin.la t/instr-plugin-bare.la
PLUGIN_LDFLAGS = -module -rpath /nowhere -avoid-version -shared
t_instr_plugin_la_SOURCES = t/instr-plugin.c
t_instr_plugin_la_CPPFLAGS = $(AM_CPPFLAGS) -DEVPROF_TEST_COPY
t_instr_plugin_la_CFLAGS = $(AM_CFLAGS) -g $(INSTRUMENT_CFLAGS)
t_instr_plugin_la_LDFLAGS = $(PLUGIN_LDFLAGS)
t_instr_plugin_la_LIBADD = $(INSTRUMENT_PIC_LIBS)
t_instr_plugin_bare_la_SOURCES = t/instr-plugin.c
t_instr_plugin_bare_la_CFLAGS = $(AM_CFLAGS) -g $(INSTRUMENT_CFLAGS)
t_instr_plugin_bare_la_LDFLAGS = $(PLUGIN_LDFLAGS)
check_PROGRAMS += t/instr-host
t_instr_host_SOURCES = t/instr-host.c
t_instr_host_LDADD = $(DL_LIBS)

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

# ---- benchmark: the trace reader against a plain read (make bench) ----
# `make bench-read BENCH_TRACE=t.evt` reads that file, else a synthetic one.
EXTRA_PROGRAMS += bench/bench_read
bench_bench_read_SOURCES = bench/bench_read.c
bench_bench_read_CFLAGS = $(AM_CFLAGS) -O2
bench_bench_read_LDADD = lib/libevprof.a $(PTHREAD_LIBS)

bench: bench-read
bench-read: bench/bench_read$(EXEEXT)
	./bench/bench_read$(EXEEXT) $(BENCH_TRACE)
.PHONY: bench-read

# ---- man pages ----
dist_man_MANS += doc/evprof_trace_writer_open.3 doc/evprof_trace_reader_open.3 \
	doc/evprof_alloc_hook_new.3 doc/evprof_hook_enter.3 doc/evprof_instrument_start.3
dist_man_MANS += doc/evprof_trace_write_meta.3 \
	doc/evprof_trace_write_threads.3 doc/evprof_trace_write_threads_pid.3 \
	doc/evprof_trace_write_events.3 \
	doc/evprof_trace_write_buffer.3 doc/evprof_trace_write_names.3 \
	doc/evprof_trace_write_lines.3 doc/evprof_trace_writer_add_lost.3 \
	doc/evprof_trace_writer_close.3 doc/evprof_trace_reader_info.3 \
	doc/evprof_trace_read_events.3 doc/evprof_trace_reader_finish.3 \
	doc/evprof_trace_reader_error.3 doc/evprof_trace_reader_meta.3 \
	doc/evprof_trace_reader_thread_count.3 doc/evprof_trace_reader_thread.3 \
	doc/evprof_trace_reader_name_count.3 doc/evprof_trace_reader_name.3 \
	doc/evprof_trace_reader_find_name.3 doc/evprof_trace_reader_meta_count.3 \
	doc/evprof_trace_reader_meta_pair.3 doc/evprof_trace_reader_thread_pid.3 \
	doc/evprof_trace_reader_line_count.3 doc/evprof_trace_reader_line.3 \
	doc/evprof_trace_reader_find_line.3 doc/evprof_trace_reader_lost.3 \
	doc/evprof_trace_reader_events.3 doc/evprof_trace_reader_close.3 \
	doc/evprof_trace_reader_set_flags.3 \
	doc/evprof_alloc_hook_allocator.3 doc/evprof_alloc_hook_inner.3 \
	doc/evprof_alloc_hook_enable.3 doc/evprof_alloc_hook_install.3 \
	doc/evprof_alloc_hook_remove.3 doc/evprof_alloc_hook_free.3 \
	doc/evprof_alloc_hook_set_buffer.3 doc/evprof_alloc_hook_quiesce.3 \
	doc/evprof_context_set.3 doc/evprof_context_get.3 \
	doc/evprof_hook_exit.3 doc/evprof_hook_active.3 \
	doc/evprof_instrument_stop.3 doc/evprof_instrument_running.3 \
	doc/evprof_instrument_path.3 doc/evprof_instrument_set_limit.3
