# lib/sinks.mk: the sinks (summary, Chrome JSON, Perfetto protobuf) that
# read a trace file as a stream, their tests and man pages.  Included from
# Makefile.am.

lib_libevprof_a_SOURCES += lib/sink-private.h lib/sink.c lib/sink_util.c \
	lib/sink_pb.h lib/sink_pb.c lib/sink_summary.c lib/sink_chrome.c \
	lib/sink_perfetto.c
evprofinclude_HEADERS += lib/evprof/sink.h
