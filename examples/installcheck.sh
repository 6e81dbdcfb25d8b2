#!/bin/sh
# installcheck.sh: builds examples/ against the *installed* libevprof with
# pkg-config, exactly as a user would, runs them and checks their traces.
# Run by `make installcheck`; needs CC, PKG_CONFIG, pkgconfigdir, srcdir
# and (optionally) DESTDIR in the environment.
set -eu
: "${PKG_CONFIG:=pkg-config}" "${CC:=cc}" "${DESTDIR:=}"
PKG_CONFIG_PATH="$DESTDIR$pkgconfigdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export PKG_CONFIG_PATH
# A staged install (DESTDIR): pkg-config puts DESTDIR before -I and -L.
if test -n "$DESTDIR"; then
  PKG_CONFIG_SYSROOT_DIR=$DESTDIR
  export PKG_CONFIG_SYSROOT_DIR
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/evprof-installcheck.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
ex=$srcdir/examples
fail=0
step() { echo "+ $*"; "$@" || { echo "FAILED: $*"; fail=1; }; }

evprof_cflags=$($PKG_CONFIG --cflags evprof)
evprof_libs=$($PKG_CONFIG --libs evprof)
instr_cflags=$($PKG_CONFIG --cflags evprof-instrument)
instr_libs=$($PKG_CONFIG --libs evprof-instrument)
echo "evprof: $evprof_cflags | $evprof_libs"
echo "evprof-instrument: $instr_cflags | $instr_libs"

step $CC -g $evprof_cflags "$ex/alloc.c" -o "$tmp/alloc" $evprof_libs
step $CC -g $evprof_cflags "$ex/check_trace.c" -o "$tmp/check_trace" \
  $evprof_libs
step $CC -g -O1 $instr_cflags "$ex/calls.c" -o "$tmp/calls" $instr_libs
test $fail = 0 || exit 1

step "$tmp/alloc" "$tmp/alloc.evt"
step "$tmp/check_trace" alloc "$tmp/alloc.evt"
EVPROF_OUTPUT=$tmp/calls.evt
export EVPROF_OUTPUT
step "$tmp/calls"
step "$tmp/check_trace" calls "$tmp/calls.evt" fib main worker
EVPROF_OUTPUT=$tmp/calls-exit.evt
step "$tmp/calls" exit
step "$tmp/check_trace" calls-open "$tmp/calls-exit.evt" fib finish_early
# An unwritable output: a clear message, and the program still runs.
EVPROF_OUTPUT=$tmp/no/such/dir/x.evt
step sh -c '"$1" 2>"$2"; grep -i "evprof-instrument: EVPROF_OUTPUT=.*: no such file" "$2"' \
  sh "$tmp/calls" "$tmp/err"
# A full disk at exit: a clear message, the program's own exit status.
if test -w /dev/full; then
  EVPROF_OUTPUT=/dev/full
  step sh -c '"$1" >/dev/null 2>"$2"; grep -i "cannot write the trace /dev/full: no space" "$2"' \
    sh "$tmp/calls" "$tmp/err"
fi
unset EVPROF_OUTPUT
test $fail = 0 && echo "installcheck: examples built with pkg-config and checked"
exit $fail
