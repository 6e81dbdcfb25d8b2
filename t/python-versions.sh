#!/bin/sh
# The recording path (API, run -o, report, convert) on every pyenv
# interpreter from 3.8 to 3.13 found, and on the CPythons that
# bench/build-cpython.sh built under /opt/evprof-py (3.14, 3.14t), none of
# which has numpy: one test an interpreter, through
# `make check-python-versions`; skipped when there is none.  On a
# free-threaded one the same run checks threads with the GIL off
# (t/python/freethreaded.py); the first line says whether there is one.
root=${PYENV_ROOT:-}
if [ -z "$root" ] && command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root 2>/dev/null)
fi
[ -n "$root" ] || root=$HOME/.pyenv
found=
for minor in 8 9 10 11 12 13; do
    for py in "$root"/versions/3.$minor.*/bin/python3; do
        [ -x "$py" ] && { found="$found $py"; break; }
    done
done
for py in ${EVPROF_PY_ROOT:-/opt/evprof-py}/3.1[4-9]*/bin/python3.1[4-9]; do
    [ -x "$py" ] && found="$found $py"
done
if [ -z "$found" ]; then
    echo "1..0 # SKIP no pyenv interpreter 3.8-3.13 under $root/versions," \
         "no CPython under ${EVPROF_PY_ROOT:-/opt/evprof-py}"
    exit 0
fi
set -- $found
# One line more: the free-threaded checks (t/python/freethreaded.py run by
# check-python-versions), said skipped when no interpreter is one.
ft=
for py in "$@"; do
    "$py" -c 'import sys, sysconfig
sys.exit(not sysconfig.get_config_var("Py_GIL_DISABLED"))' 2>/dev/null \
        && ft=$py
done
# 3.14 and 3.14t, where `run` leaves the command line's frames on the
# stack below the program (recording_path.py checks that none shows):
# each said skipped when absent.
absent=
for v in 3.14 3.14t; do
    ls "${EVPROF_PY_ROOT:-/opt/evprof-py}/$v/bin/python3.14"* >/dev/null 2>&1 \
        || absent="$absent $v"
done
n_absent=$(echo $absent | wc -w)
echo "1..$(($# + 1 + n_absent))"
if [ -n "$ft" ]; then
    echo "ok 1 - free-threaded: $ft (its checks in its line below)"
else
    echo "ok 1 # SKIP no free-threaded CPython (3.13t, 3.14t) under" \
         "${EVPROF_PY_ROOT:-/opt/evprof-py}: bench/build-cpython.sh 3.14.4 t"
fi
i=1
for py in "$@"; do
    i=$((i + 1))
    if out=$(${MAKE:-make} -s --no-print-directory -C "${top_builddir:-.}" \
             check-python-versions PYTHONS="$py" 2>&1); then
        echo "ok $i - $(printf '%s\n' "$out" | grep ' ok: ' | tail -1)"
    else
        echo "not ok $i - $py"
        printf '%s\n' "$out" | tail -20 | sed 's/^/# /'
    fi
done
for v in $absent; do
    i=$((i + 1))
    case $v in *t) how="3.14.4 t";; *) how=3.14.4;; esac
    echo "ok $i # SKIP CPython $v: not under ${EVPROF_PY_ROOT:-/opt/evprof-py}" \
         "(bench/build-cpython.sh $how), its recording path untested"
done
