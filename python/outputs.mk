# python/outputs.mk: the outputs of the Python package (included from
# Makefile.am after python/local.mk): trace files, Chrome Trace Event JSON,
# summary, picture and the command line `python3 -m evprof`, their tests,
# the CLI's man page and the example of the README's quick start.

EVPROF_PY_SOURCES += \
	python/evprof/__main__.py \
	python/evprof/chrome.py \
	python/evprof/cli.py \
	python/evprof/_cli_run.py \
	python/evprof/outputs.py \
	python/evprof/plot.py \
	python/evprof/_plot_calls.py \
	python/evprof/_plot_memory.py \
	python/evprof/progress.py \
	python/evprof/_sinkfile.py \
	python/evprof/summary.py \
	python/evprof/timeline.py \
	python/evprof/tracefile.py \
	python/evprof/_frame.py

PY_TESTS += \
	t/python/test_outputs_trace.py \
	t/python/test_cut.py \
	t/python/test_cut_threads.py \
	t/python/test_outputs_chrome.py \
	t/python/test_outputs_summary.py \
	t/python/test_outputs_cli.py \
	t/python/test_plot.py \
	t/python/test_frame_columns.py \
	t/python/test_frame_blocks.py \
	t/python/test_cli_user.py \
	t/python/test_readme.py

dist_man_MANS += doc/evprof.1

EXTRA_DIST += t/python/run_evprof.py examples/fib_alloc.py

# The README's quick start on the bundled example: a trace for Perfetto
# and a picture, written in the build directory.
if ENABLE_PYTHON
example-python: python/evprof/_core.la
	EVPROF_SRCDIR='$(abs_top_srcdir)' EVPROF_BUILDDIR='$(abs_top_builddir)' \
	  $(PYTHON) $(top_srcdir)/t/python/run_evprof.py run -o fib.json \
	  --plot fib.png $(top_srcdir)/examples/fib_alloc.py 18
else
example-python:
	@echo "example-python: the Python package is disabled"
endif
CLEANFILES += fib.json fib.png

.PHONY: example-python

# The C side of t/python/test_outputs_interop.py: the C library and the
# Python package read each other's trace files.
check_PROGRAMS += t/trace-interop
t_trace_interop_SOURCES = t/trace-interop.c
PY_TESTS += t/python/test_outputs_interop.py

# The trace reader against hostile files (t/fuzz-trace.c): a TAP test of
# seeded mutations in `make check` (and check-sanitize, check-valgrind),
# and `make fuzz-trace`: the same target under clang's libFuzzer for
# FUZZ_TIME seconds, seeded with a trace the TAP test leaves behind.
C_TESTS += t/fuzz-trace
t_fuzz_trace_SOURCES = t/fuzz-trace.c
CLANG = clang
FUZZ_TIME = 60
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined
fuzz-trace: $(srcdir)/t/fuzz-trace.c
	$(CLANG) $(FUZZ_FLAGS) -DEVPROF_LIBFUZZER $(DEFS) $(DEFAULT_INCLUDES) \
	  $(AM_CPPFLAGS) -o t/fuzz-trace-libfuzzer $(srcdir)/t/fuzz-trace.c \
	  $(addprefix $(srcdir)/,$(filter %.c,$(lib_libevprof_a_SOURCES))) \
	  $(PTHREAD_LIBS)
	@mkdir -p t/fuzz-corpus
	EVPROF_FUZZ_SEED=t/fuzz-corpus/seed.evt ./t/fuzz-trace > /dev/null
	./t/fuzz-trace-libfuzzer -max_total_time=$(FUZZ_TIME) \
	  -max_len=4096 t/fuzz-corpus
CLEANFILES += t/fuzz-trace-libfuzzer
clean-local: clean-fuzz-corpus
clean-fuzz-corpus:
	-rm -rf t/fuzz-corpus
.PHONY: fuzz-trace clean-fuzz-corpus
