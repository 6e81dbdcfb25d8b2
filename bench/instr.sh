#!/bin/sh
# instr.sh: median of RUNS runs of bench/instr_plain (no instrumentation),
# bench/instr_hooked without EVPROF_OUTPUT (hooks installed, not recording)
# and with it (recording every call and return), side by side.
set -eu
RUNS=${RUNS:-7}
ARGS=${ARGS:-"24 5"}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/evprof-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

run() { # label command...: prints "label calls median_ns"
  label=$1; shift
  : > "$tmp/times"
  i=0
  while test $i -lt "$RUNS"; do
    "$@" $ARGS > "$tmp/out"
    read -r _ calls _ ns < "$tmp/out"
    echo "$ns" >> "$tmp/times"
    i=$((i + 1))
  done
  med=$(sort -n "$tmp/times" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  echo "$label $calls $med"
}

{
  run plain ./bench/instr_plain
  run hooked-idle env -u EVPROF_OUTPUT ./bench/instr_hooked
  run hooked-recording env EVPROF_OUTPUT="$tmp/trace.evt" ./bench/instr_hooked
} > "$tmp/results"
echo "fib($ARGS): median of $RUNS runs each (trace writing at exit not timed)"
awk 'NR == 1 { base = $3 / $2 }
     { per = $3 / $2
       printf "%-17s %9d calls %10.2f ms %7.2f ns/call", $1, $2, $3 / 1e6, per
       if (NR > 1) printf "  +%.2f ns/call  x%.2f", per - base, per / base
       printf "\n" }' "$tmp/results"
