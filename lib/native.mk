# lib/native.mk: allocation domains, and libevprof-malloc.so, the native
# allocations of any program by LD_PRELOAD (evprof/native.h,
# libevprof-malloc(3)), with its tests.  Included from Makefile.am.

lib_libevprof_a_SOURCES += lib/domain.c
evprofinclude_HEADERS += lib/evprof/domain.h lib/evprof/native.h
dist_man_MANS += doc/libevprof-malloc.3 doc/evprof_native_attach.3 \
	doc/evprof_domain_name.3

# A shared object of its own: it carries the evprof-instrument runtime
# (EVPROF_OUTPUT starts a recording, -finstrument-functions code binds to
# its hooks) and the library, so that one preload gives one trace.  Only
# the interposed functions and the APIs are exported.
lib_LTLIBRARIES = lib/libevprof-malloc.la
lib_libevprof_malloc_la_SOURCES = lib/native_malloc.c lib/native_sink.c \
	lib/native-private.h $(lib_libevprof_instrument_a_SOURCES) \
	$(lib_libevprof_a_SOURCES)
lib_libevprof_malloc_la_CFLAGS = $(AM_CFLAGS) -fno-instrument-functions \
	$(LIBDW_CFLAGS)
lib_libevprof_malloc_la_LDFLAGS = -module -avoid-version -shared \
	-export-symbols-regex '^(malloc|calloc|realloc|free|memalign|aligned_alloc|posix_memalign|valloc|pvalloc|mmap|munmap|evprof_native_[a-z_]+|evprof_instrument_[a-z_]+|__cyg_profile_func_(enter|exit))$$'
lib_libevprof_malloc_la_LIBADD = $(LIBDW_LIBS) $(DL_LIBS) $(PTHREAD_LIBS)

# ---- tests ----
C_TESTS += t/native
t_native_SOURCES = t/native.c examples/trace-check.h
t_native_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/examples
t_native_LDADD = t/libtap.a lib/libevprof.a $(PTHREAD_LIBS)
# Runs itself again under LD_PRELOAD: a buffer of its own copy attached.
C_TESTS += t/native-buffer
t_native_buffer_SOURCES = t/native-buffer.c
t_native_buffer_LDADD = t/libtap.a lib/libevprof.a $(DL_LIBS) $(PTHREAD_LIBS)
# Run by t/native under LD_PRELOAD: allocates in known ways.
check_PROGRAMS += t/native-prog
t_native_prog_SOURCES = t/native-prog.c
t_native_prog_LDADD = $(PTHREAD_LIBS)

# ---- benchmark (make bench-native) ----
# Where the time of a recorded allocation goes, run under LD_PRELOAD.
EXTRA_PROGRAMS += bench/bench_native_cost
bench_bench_native_cost_SOURCES = bench/bench_native_cost.c
bench_bench_native_cost_CFLAGS = $(AM_CFLAGS) -O2
bench_bench_native_cost_LDADD = lib/libevprof.a $(DL_LIBS) $(PTHREAD_LIBS)
