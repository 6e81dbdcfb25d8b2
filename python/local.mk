# python/local.mk: the Python package evprof (included from Makefile.am).
#
# The extension evprof._core is a libtool module linked with libevprof.a;
# it is installed with the pure-Python modules into $(pyexecdir)/evprof.
# Tests (t/python/*.py) print TAP and find the freshly built package
# through t/python/evprof_test.py, in-tree and in VPATH builds.

EVPROF_PY_SOURCES = \
	python/evprof/__init__.py \
	python/evprof/profiler.py \
	python/evprof/_report.py \
	python/evprof/_event_profiler_c.py \
	python/evprof/event_profiler.py

PY_TESTS = \
	t/python/test_api.py \
	t/python/test_edges.py \
	t/python/test_events.py \
	t/python/test_memory.py \
	t/python/test_robust.py \
	t/python/test_seed_compat.py \
	t/python/test_threads.py

EXTRA_DIST += $(EVPROF_PY_SOURCES) $(PY_TESTS) t/python/evprof_test.py \
	t/python/core_smoke.py \
	bench/bench_python.py doc/evprof-python.md

DISTCHECK_CONFIGURE_FLAGS = PYTHON='$(PYTHON)'

TEST_EXTENSIONS += .py
PY_LOG_DRIVER = $(LOG_DRIVER)
PY_LOG_COMPILER = $(PYTHON)

bench: bench-python
.PHONY: bench-python check-python-versions

# The C core built by hand against other interpreters (no numpy needed):
#   make check-python-versions PYTHONS="/path/python3.8 /path/python3.13"
PYTHONS = $(PYTHON)
check-python-versions: lib/libevprof.a
	@for py in $(PYTHONS); do \
	  inc=`$$py -c 'import sysconfig; print(sysconfig.get_paths()["include"])'` && \
	  suf=`$$py -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))'` && \
	  dir=python-versions/`$$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'` && \
	  $(MKDIR_P) $$dir && \
	  $(CC) -shared -fPIC -O2 -std=gnu11 $(WARNINGS_CFLAGS) $(PTHREAD_CFLAGS) \
	    -isystem $$inc -I$(top_srcdir)/lib -I$(top_builddir) \
	    -o $$dir/_core$$suf $(top_srcdir)/python/evprof/_core.c \
	    $(top_srcdir)/python/evprof/_writer.c \
	    $(top_srcdir)/python/evprof/_reader.c \
	    lib/libevprof.a $(PTHREAD_LIBS) && \
	  $$py $(top_srcdir)/t/python/core_smoke.py $$dir || exit 1; \
	done

clean-local: clean-python-versions
clean-python-versions:
	rm -rf python-versions
.PHONY: clean-python-versions

if ENABLE_PYTHON
evprofpydir = $(pyexecdir)/evprof
evprofpy_PYTHON = $(EVPROF_PY_SOURCES)
evprofpy_LTLIBRARIES = python/evprof/_core.la
python_evprof__core_la_SOURCES = python/evprof/_core.c \
	python/evprof/_writer.c python/evprof/_writer.h \
	python/evprof/_reader.c
python_evprof__core_la_CPPFLAGS = $(AM_CPPFLAGS) $(PYTHON_CPPFLAGS)
python_evprof__core_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
python_evprof__core_la_LDFLAGS = -module -avoid-version -shared \
	-export-symbols-regex '^PyInit__core$$'
python_evprof__core_la_LIBADD = lib/libevprof.a $(PTHREAD_LIBS)

AM_TESTS_ENVIRONMENT += \
	EVPROF_SRCDIR='$(abs_top_srcdir)'; \
	EVPROF_BUILDDIR='$(abs_top_builddir)'; \
	PYTHONDONTWRITEBYTECODE=1; \
	export EVPROF_SRCDIR EVPROF_BUILDDIR PYTHONDONTWRITEBYTECODE;
TESTS += $(PY_TESTS)

bench-python: python/evprof/_core.la
	EVPROF_SRCDIR='$(abs_top_srcdir)' EVPROF_BUILDDIR='$(abs_top_builddir)' \
	  $(PYTHON) $(top_srcdir)/bench/bench_python.py
else
bench-python:
	@echo "bench-python: the Python package is disabled"
endif
