# lib/sinks.mk: the sinks (summary, Chrome JSON, Perfetto protobuf) that
# read a trace file as a stream, their tests and man pages.  Included from
# Makefile.am.

lib_libevprof_a_SOURCES += lib/grow-private.h lib/grow.c \
	lib/trace-write-private.h lib/trace_write_tables.c \
	lib/trace_read_events.c \
	lib/sink-private.h lib/sink.c lib/sink_util.c lib/sink_threads.c \
	lib/sink-read-private.h lib/sink_read.c \
	lib/sink_pb.h lib/sink_pb.c lib/sink_out.h lib/sink_out.c \
	lib/sink-summary-private.h lib/sink_summary.c lib/sink_summary_print.c \
	lib/sink_chrome.c \
	lib/sink-perfetto-private.h lib/sink_perfetto.c lib/sink_perfetto_packet.c
evprofinclude_HEADERS += lib/evprof/sink.h

C_TESTS += t/sinks t/sinks-order t/sink-memory t/sinks-cut t/cut-threads \
	t/sinks-out
t_cut_threads_SOURCES = t/cut-threads.c t/cut-trace.c t/cut-trace.h
t_sinks_SOURCES = t/sinks.c t/sink-fixture.c t/sink-fixture.h
t_sinks_CPPFLAGS = $(AM_CPPFLAGS) -DSRCDIR='"$(abs_srcdir)"'
t_sinks_order_SOURCES = t/sinks-order.c t/sink-fixture.c t/sink-fixture.h
t_sinks_order_CPPFLAGS = $(AM_CPPFLAGS) -DSRCDIR='"$(abs_srcdir)"'
t_sink_memory_SOURCES = t/sink-memory.c t/sink-fixture.c t/sink-fixture.h
t_sinks_cut_SOURCES = t/sinks-cut.c t/cut-trace.c t/cut-trace.h \
	t/sink-fixture.c t/sink-fixture.h \
	t/json-check.c t/json-check.h t/trace-craft.h
t_sinks_cut_CPPFLAGS = $(AM_CPPFLAGS) -DSRCDIR='"$(abs_srcdir)"'
t_sinks_out_SOURCES = t/sinks-out.c t/sink-fixture.c t/sink-fixture.h
EXTRA_DIST += t/sinks.proto

# sink-run SINK TRACE OUT: one sink from the command line (make bench-sinks).
check_PROGRAMS += t/sink-run
t_sink_run_SOURCES = t/sink-run.c

dist_man_MANS += doc/evprof_sink_run.3 doc/evprof_sink_run_path.3 \
	doc/evprof_sink_options_init.3 doc/evprof_sink_sort_key.3 \
	doc/evprof_sink_name.3
