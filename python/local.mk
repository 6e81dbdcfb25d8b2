# python/local.mk: the Python package evprof (included from Makefile.am).
#
# The extension evprof._core is a libtool module linked with libevprof.a;
# it is installed with the pure-Python modules into $(pyexecdir)/evprof.
# Tests (t/python/*.py) print TAP and find the freshly built package
# through t/python/evprof_test.py, in-tree and in VPATH builds.

EVPROF_PY_SOURCES = \
	python/evprof/__init__.py \
	python/evprof/profiler.py \
	python/evprof/_profiler_state.py \
	python/evprof/_profiler_results.py \
	python/evprof/_with_profiler.py \
	python/evprof/_report.py \
	python/evprof/_names.py \
	python/evprof/_event_profiler_c.py \
	python/evprof/event_profiler.py \
	python/evprof/numpy_data.py \
	python/evprof/native.py \
	python/evprof/streaming.py \
	python/evprof/_threadnames.py

# The extension, a file a job (see python/evprof/_core.h).
EVPROF_CORE_C = python/evprof/_core.c python/evprof/_registry.c \
	python/evprof/_session.c python/evprof/_threads.c python/evprof/_memory.c \
	python/evprof/_results.c python/evprof/_hooks.c python/evprof/_floor.c \
	python/evprof/_writer.c python/evprof/_reader.c \
	python/evprof/_reader_blocks.c python/evprof/_reader_read.c \
	python/evprof/_reader_tables.c python/evprof/_sinks.c \
	python/evprof/_numpy.c python/evprof/_native.c \
	python/evprof/_monitoring.c python/evprof/_monitoring_tool.c \
	python/evprof/_stream.c python/evprof/_names.c \
	python/evprof/_events.c python/evprof/_tnotes.c python/evprof/_gate.c \
	python/evprof/_gate_run.c python/evprof/_runs.c
EVPROF_CORE_SOURCES = $(EVPROF_CORE_C) python/evprof/_core.h \
	python/evprof/_compat.h python/evprof/_registry.h \
	python/evprof/_writer.h python/evprof/_reader.h python/evprof/_names.h \
	python/evprof/_monitoring.h python/evprof/_monitoring_frames.h \
	python/evprof/_event_buffers.h \
	python/evprof/_frames311.h

PY_TESTS = \
	t/python/test_api.py \
	t/python/test_edges.py \
	t/python/test_events.py \
	t/python/test_frames.py \
	t/python/test_hazards.py \
	t/python/test_inmem.py \
	t/python/test_memory.py \
	t/python/test_native.py \
	t/python/test_numpy_data.py \
	t/python/test_robust.py \
	t/python/test_seed_compat.py \
	t/python/test_slow_path.py \
	t/python/test_threads.py \
	t/python/test_stream.py

EXTRA_DIST += $(EVPROF_PY_SOURCES) $(PY_TESTS) t/python/evprof_test.py \
	python/evprof-cli.in \
	t/python/stress.py \
	t/python/core_smoke.py t/python/core_monitoring.py t/python/core_cli.py \
	t/python/recording_path.py t/python/freethreaded.py \
	t/python-versions.sh \
	bench/bench_python.py bench/bench_pipeline.py bench/bench_native.py \
	bench/bench_monitoring.py bench/workloads.py bench/build-cpython.sh \
	doc/evprof-python.md bench/bench_ft.py
EXTRA_DIST += bench/bench_numpy.py bench/bench_frame.py

DISTCHECK_CONFIGURE_FLAGS = PYTHON='$(PYTHON)'

TEST_EXTENSIONS += .py
PY_LOG_DRIVER = $(LOG_DRIVER)
PY_LOG_COMPILER = $(PYTHON)

bench: bench-python
bench: bench-numpy
.PHONY: bench-python bench-pipeline bench-native bench-numpy \
	check-python-versions bench-ft

# The C core built by hand against other interpreters (no numpy needed),
# with the package beside it in python-versions/X.Y/evprof; then the core
# alone (core_smoke.py) and the whole recording path without numpy or
# pandas (recording_path.py: the API, run -o, report, convert), and on a
# free-threaded build the GIL left off and threads at once
# (freethreaded.py, which skips elsewhere):
#   make check-python-versions PYTHONS="/path/python3.8 /path/python3.13"
# t/python-versions.sh runs it in `make check` on pyenv's interpreters;
# a core already built from the same sources is not built again.
# With PYTHONS empty: $(PYTHON), pyenv's interpreters (3.8 and later) and
# those that bench/build-cpython.sh built under $(EVPROF_PY_ROOT) (a 3.14,
# a free-threaded 3.13t or 3.14t), each said skipped when it is absent.
# One directory an interpreter: python-versions/3.14t for a free-threaded
# 3.14 (sys.abiflags).  Optimised as configure's default CFLAGS are:
# bench-python times these builds against cProfile.
PYTHONS = $(PYTHON)
EVPROF_PY_ROOT = /opt/evprof-py
# One name an interpreter: python3.14t is also installed as python3.14.
PYTHONS_FOUND = \
	seen=; \
	for p in "$${PYENV_ROOT:-$$HOME/.pyenv}"/versions/3.*/bin/python3.[0-9]* \
	    $(EVPROF_PY_ROOT)/*/bin/python3.[0-9]* \
	    $(EVPROF_PY_ROOT)/*/usr/bin/python3.[0-9]*; do \
	  case $$p in *-config|*.py|*'*'*) continue;; esac; \
	  test -x "$$p" || continue; \
	  for q in $$seen; do test "$$p" -ef "$$q" && continue 2; done; \
	  seen="$$seen $$p"; echo "$$p"; \
	done
check-python-versions: lib/libevprof.a
	@pys='$(PYTHONS)'; \
	if test -z "$$pys"; then \
	  pys="$(PYTHON) `$(PYTHONS_FOUND)`"; \
	  ls -d "$${PYENV_ROOT:-$$HOME/.pyenv}"/versions/3.* >/dev/null 2>&1 \
	    || echo "# SKIP pyenv's interpreters: none under $${PYENV_ROOT:-$$HOME/.pyenv}/versions"; \
	  for v in 3.14 3.13t 3.14t; do \
	    ls $(EVPROF_PY_ROOT)/$$v/bin/python* >/dev/null 2>&1 \
	      || echo "# SKIP CPython $$v: not built (bench/build-cpython.sh)"; \
	  done; \
	fi; \
	for py in $$pys; do \
	  if ! $$py -c 'import sys; sys.exit(sys.version_info < (3, 8))' 2>/dev/null; then \
	    echo "# SKIP $$py: not a Python 3.8 or later"; continue; \
	  fi; \
	  echo "== $$py"; \
	  inc=`$$py -c 'import sysconfig; print(sysconfig.get_paths()["include"])'` && \
	  suf=`$$py -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))'` && \
	  dir=python-versions/`$$py -c 'import sys; print("%d.%d%s" % (sys.version_info[:2] + (getattr(sys, "abiflags", ""),)))'` && \
	  so=$$dir/evprof/_core$$suf && srcs=`for f in $(EVPROF_CORE_C); do echo $(top_srcdir)/$$f; done` && \
	  $(MKDIR_P) $$dir/evprof && \
	  if test -f $$so && test -z "`find $$srcs $(top_srcdir)/python/evprof/*.h lib/libevprof.a -newer $$so`"; then :; else \
	  $(CC) -shared -fPIC -O2 -std=gnu11 $(WARNINGS_CFLAGS) $(PTHREAD_CFLAGS) \
	    -isystem $$inc -I$(top_srcdir)/lib -I$(top_builddir) \
	    -o $$so $$srcs lib/libevprof.a $(DL_LIBS) $(PTHREAD_LIBS) || { rm -f $$so; exit 1; }; fi && \
	  for f in $(EVPROF_PY_SOURCES); do cp $(top_srcdir)/$$f $$dir/evprof/ || exit 1; done && \
	  $$py $(top_srcdir)/t/python/core_smoke.py $$dir/evprof && \
	  $$py $(top_srcdir)/t/python/core_monitoring.py $$dir/evprof && \
	  $$py $(top_srcdir)/t/python/recording_path.py $$dir && \
	  $$py $(top_srcdir)/t/python/freethreaded.py $$dir && \
	  $$py $(top_srcdir)/t/python/core_cli.py $$dir || exit 1; \
	done

# The Python tests against an extension built, with the library's sources,
# under AddressSanitizer and UndefinedBehaviorSanitizer (the interpreter
# is not: the ASan runtime is preloaded).  Leaks are not checked: the
# interpreter keeps what it allocated at exit.
#   make check-python-asan [PY_TESTS='t/python/test_hazards.py ...']
ASAN_DIR = python-asan/python/evprof
ASAN_RUN = LD_PRELOAD=`$(CC) -print-file-name=libasan.so` \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	EVPROF_SRCDIR='$(abs_top_srcdir)' \
	EVPROF_BUILDDIR="`pwd`/python-asan" PYTHONDONTWRITEBYTECODE=1
python-asan-build:
	@test -n "$(SANITIZE_CFLAGS)" || { echo "compiler lacks -fsanitize=address,undefined"; exit 1; }
	@suf=`$(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))'` && \
	  inc=`$(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["include"])'` && \
	  $(MKDIR_P) $(ASAN_DIR) && \
	  $(CC) -shared -fPIC -g -O1 -std=gnu11 $(SANITIZE_CFLAGS) \
	    $(WARNINGS_CFLAGS) $(PTHREAD_CFLAGS) -DHAVE_CONFIG_H \
	    -isystem $$inc -I$(top_srcdir)/lib -I$(top_builddir) \
	    -o $(ASAN_DIR)/_core$$suf \
	    `for f in $(EVPROF_CORE_C) $(lib_libevprof_a_SOURCES); do \
	       case $$f in *.c) echo $(top_srcdir)/$$f;; esac; done` \
	    $(PTHREAD_LIBS)

check-python-asan: python-asan-build
	@failed= && \
	  for t in $(PY_TESTS); do \
	    echo "== $$t"; \
	    log=$(ASAN_DIR)/`basename $$t .py`.log; \
	    $(ASAN_RUN) $(PYTHON) $(top_srcdir)/$$t > $$log 2>&1 \
	      || { failed="$$failed $$t"; tail -40 $$log; }; \
	  done; \
	  if test -n "$$failed"; then echo "FAIL under ASan:$$failed"; exit 1; fi; \
	  echo "all Python tests pass under ASan+UBSan"

# t/python/freethreaded.py (threads with the GIL off, the stress storms)
# on each free-threaded CPython under $(EVPROF_PY_ROOT), against the core
# built under ASan+UBSan for it, in python-asan/X.Yt/evprof beside a copy
# of the package; said skipped when there is none.
check-python-asan-ft:
	@found=; \
	for py in `$(PYTHONS_FOUND)`; do \
	  $$py -c 'import sys, sysconfig; sys.exit(not sysconfig.get_config_var("Py_GIL_DISABLED"))' \
	    2>/dev/null || continue; \
	  found=yes; \
	  dir=python-asan/`$$py -c 'import sys; print("%d.%d%s" % (sys.version_info[:2] + (sys.abiflags,)))'`; \
	  $(MAKE) $(AM_MAKEFLAGS) -s python-asan-build PYTHON=$$py ASAN_DIR=$$dir/evprof \
	    || exit 1; \
	  for f in $(EVPROF_PY_SOURCES); do \
	    cp $(top_srcdir)/$$f $$dir/evprof/ || exit 1; done; \
	  $(ASAN_RUN) $$py $(top_srcdir)/t/python/freethreaded.py $$dir || exit 1; \
	done; \
	test -n "$$found" || echo "check-python-asan-ft: skipped, no free-threaded CPython under $(EVPROF_PY_ROOT) (bench/build-cpython.sh 3.14.4 t)"
.PHONY: check-python-asan-ft

# The stress harness (t/python/stress.py): bounded in time, not part of
# `make check`.  ASAN=yes runs it on the sanitizer build;
# EVPROF_STRESS_SECONDS and EVPROF_STRESS_ONLY are passed through.
check-stress: python/evprof/_core.la
	@if test "$(ASAN)" = yes; then \
	  $(MAKE) $(AM_MAKEFLAGS) python-asan-build && \
	  $(ASAN_RUN) $(PYTHON) $(top_srcdir)/t/python/stress.py; \
	else \
	  EVPROF_SRCDIR='$(abs_top_srcdir)' EVPROF_BUILDDIR='$(abs_top_builddir)' \
	  PYTHONDONTWRITEBYTECODE=1 $(PYTHON) $(top_srcdir)/t/python/stress.py; \
	fi
.PHONY: python-asan-build check-python-asan check-stress

clean-local: clean-python-versions clean-python-asan
clean-python-asan:
	rm -rf python-asan
.PHONY: clean-python-asan
clean-python-versions:
	rm -rf python-versions
.PHONY: clean-python-versions

if ENABLE_PYTHON
evprofpydir = $(pyexecdir)/evprof
evprofpy_PYTHON = $(EVPROF_PY_SOURCES)
# `evprof`, the command: the package's command line on the interpreter
# configure found, with the directory the package is installed in on its
# path (made by make: $(pyexecdir) is only known then).
bin_SCRIPTS = bin/evprof
bin/evprof: $(srcdir)/python/evprof-cli.in Makefile
	$(AM_V_GEN)$(MKDIR_P) bin && \
	  sed -e 's|[@]PYTHON[@]|$(PYTHON)|g' -e 's|[@]pyexecdir[@]|$(pyexecdir)|g' \
	  $(srcdir)/python/evprof-cli.in > $@.tmp && chmod +x $@.tmp && \
	  mv $@.tmp $@
CLEANFILES += bin/evprof
# Where libevprof-malloc.so is installed, for `evprof run --native`: made
# by make, as $(libdir) is only known then.
nodist_evprofpy_PYTHON = python/evprof/_paths.py
python/evprof/_paths.py: Makefile
	$(AM_V_GEN)$(MKDIR_P) python/evprof && \
	  printf '"""Made by make: where libevprof is installed."""\nLIBDIR = %s\n' \
	  "'$(libdir)'" > $@
CLEANFILES += python/evprof/_paths.py
all-local: python/evprof/_paths.py
evprofpy_LTLIBRARIES = python/evprof/_core.la
python_evprof__core_la_SOURCES = $(EVPROF_CORE_SOURCES)
python_evprof__core_la_CPPFLAGS = $(AM_CPPFLAGS) $(PYTHON_CPPFLAGS)
python_evprof__core_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
python_evprof__core_la_LDFLAGS = -module -avoid-version -shared \
	-export-symbols-regex '^PyInit__core$$'
python_evprof__core_la_LIBADD = lib/libevprof-pic.la $(DL_LIBS) $(PTHREAD_LIBS)
# A C extension that calls malloc, for the native allocation tests and
# benchmark (never installed).
check_LTLIBRARIES += t/python/_allocext.la
t_python__allocext_la_SOURCES = t/python/allocext.c
t_python__allocext_la_CPPFLAGS = $(AM_CPPFLAGS) $(PYTHON_CPPFLAGS)
t_python__allocext_la_LDFLAGS = -module -avoid-version -shared \
	-rpath /nowhere -export-symbols-regex '^PyInit__allocext$$'

AM_TESTS_ENVIRONMENT += \
	EVPROF_SRCDIR='$(abs_top_srcdir)'; \
	EVPROF_BUILDDIR='$(abs_top_builddir)'; \
	PYTHONDONTWRITEBYTECODE=1; \
	export EVPROF_SRCDIR EVPROF_BUILDDIR PYTHONDONTWRITEBYTECODE;
TESTS += $(PY_TESTS) t/python-versions.sh

# Then bench_monitoring.py on each interpreter found (3.8 and later,
# BENCH_PYTHONS to choose): the C core built (or rebuilt when stale) and
# tested by check-python-versions, and beside it the bench-only module
# _floor (python/evprof/_floor.c alone: the floors, sys.monitoring's
# included).
BENCH_PYTHONS = `$(PYTHONS_FOUND)`
bench-python: python/evprof/_core.la lib/libevprof.a
	EVPROF_SRCDIR='$(abs_top_srcdir)' EVPROF_BUILDDIR='$(abs_top_builddir)' \
	  $(PYTHON) $(top_srcdir)/bench/bench_python.py
	@for py in $(BENCH_PYTHONS); do \
	  $$py -c 'import sys; sys.exit(sys.version_info < (3, 8))' 2>/dev/null || continue; \
	  out=`$(MAKE) $(AM_MAKEFLAGS) -s --no-print-directory \
	    check-python-versions PYTHONS="$$py" 2>&1` || { echo "$$out"; exit 1; }; \
	  inc=`$$py -c 'import sysconfig; print(sysconfig.get_paths()["include"])'` && \
	  suf=`$$py -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))'` && \
	  dir=python-versions/`$$py -c 'import sys; print("%d.%d%s" % (sys.version_info[:2] + (getattr(sys, "abiflags", ""),)))'` && \
	  $(CC) -shared -fPIC -O2 -std=gnu11 $(WARNINGS_CFLAGS) -DEVPROF_FLOOR_MODULE \
	    -isystem $$inc -I$(top_srcdir)/lib -I$(top_builddir) \
	    -o $$dir/_floor$$suf $(top_srcdir)/python/evprof/_floor.c \
	    lib/libevprof.a $(PTHREAD_LIBS) && \
	  echo && $$py $(top_srcdir)/bench/bench_monitoring.py $$dir || exit 1; \
	done
	@$(MAKE) $(AM_MAKEFLAGS) bench-ft

# Scaling with threads on each free-threaded CPython under
# $(EVPROF_PY_ROOT) (bench/bench_ft.py), its core built and checked by
# check-python-versions first; said skipped when there is none.
bench-ft: lib/libevprof.a
	@found=; \
	for py in `$(PYTHONS_FOUND)`; do \
	  $$py -c 'import sys, sysconfig; sys.exit(not sysconfig.get_config_var("Py_GIL_DISABLED"))' \
	    2>/dev/null || continue; \
	  found=yes; \
	  $(MAKE) $(AM_MAKEFLAGS) -s check-python-versions PYTHONS=$$py >/dev/null \
	    || exit 1; \
	  dir=python-versions/`$$py -c 'import sys; print("%d.%d%s" % (sys.version_info[:2] + (sys.abiflags,)))'`; \
	  $$py $(top_srcdir)/bench/bench_ft.py $$dir || exit 1; \
	done; \
	test -n "$$found" || echo "bench-ft: skipped, no free-threaded CPython under $(EVPROF_PY_ROOT) (bench/build-cpython.sh 3.14.4 t)"

# The whole pipeline a user waits for (run -o, report, convert, sizes,
# a short block, memory held) beside cProfile and cat, then what building
# the DataFrame costs beyond the frame (bench_frame.py): several minutes.
bench-pipeline: python/evprof/_core.la
	EVPROF_SRCDIR='$(abs_top_srcdir)' EVPROF_BUILDDIR='$(abs_top_builddir)' \
	  $(PYTHON) $(top_srcdir)/bench/bench_pipeline.py
	EVPROF_SRCDIR='$(abs_top_srcdir)' EVPROF_BUILDDIR='$(abs_top_builddir)' \
	  $(PYTHON) $(top_srcdir)/bench/bench_frame.py
# numpy's array data recorded or not, beside the same run unprofiled.
bench-numpy: python/evprof/_core.la
	EVPROF_SRCDIR='$(abs_top_srcdir)' EVPROF_BUILDDIR='$(abs_top_builddir)' \
	  $(PYTHON) $(top_srcdir)/bench/bench_numpy.py
# Native allocations: evprof run --native beside heaptrack.
bench-native: python/evprof/_core.la lib/libevprof-malloc.la \
	  t/python/_allocext.la bench/bench_native_cost$(EXEEXT)
	EVPROF_SRCDIR='$(abs_top_srcdir)' EVPROF_BUILDDIR='$(abs_top_builddir)' \
	  $(PYTHON) $(top_srcdir)/bench/bench_native.py
else
bench-python bench-pipeline bench-native bench-ft bench-numpy:
	@echo "$@: the Python package is disabled"
endif

installcheck-local: installcheck-python
.PHONY: installcheck-python
if ENABLE_PYTHON
# The installed command, as a user types it: with a staged install
# (DESTDIR) the package is found through PYTHONPATH, otherwise the script
# finds it alone, wherever --prefix put it.
installcheck-python:
	@tmp=$$(mktemp -d "$${TMPDIR:-/tmp}/evprof-ic.XXXXXX") && \
	  if test -n "$(DESTDIR)"; then \
	    PYTHONPATH='$(DESTDIR)$(pyexecdir)'; export PYTHONPATH; fi && \
	  cd "$$tmp" && \
	  '$(DESTDIR)$(bindir)/evprof' run -o fib.evt \
	    '$(abs_top_srcdir)/examples/fib_alloc.py' 15 && \
	  '$(DESTDIR)$(bindir)/evprof' report fib.evt | grep fib && \
	  cd / && rm -rf "$$tmp" && \
	  echo "installcheck: the evprof command runs and reports"
else
installcheck-python:
	@echo "installcheck-python: the Python package is disabled"
endif
