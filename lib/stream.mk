# lib/stream.mk: streaming a buffer into a trace file while threads log
# (lib/stream.c), the chunks' pool and budget it relies on (lib/chunks.c),
# their test and man pages.  Included from Makefile.am.

lib_libevprof_a_SOURCES += lib/chunks.c lib/crc32.c lib/stream.c
evprofinclude_HEADERS += lib/evprof/stream.h

C_TESTS += t/stream
t_stream_SOURCES = t/stream.c

dist_man_MANS += doc/evprof_stream_start.3 doc/evprof_stream_flush.3 \
	doc/evprof_stream_stop.3 doc/evprof_stream_get_stats.3 \
	doc/evprof_stream_capacity.3 doc/evprof_stream_before_drain.3
