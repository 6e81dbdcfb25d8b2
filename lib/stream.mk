# lib/stream.mk: streaming a buffer into a trace file while threads log
# (lib/stream.c), the chunks' pool and budget it relies on (lib/chunks.c),
# their test and man pages.  Included from Makefile.am.

lib_libevprof_a_SOURCES += lib/chunks.c lib/crc32.c
