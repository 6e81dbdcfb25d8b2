#!/bin/sh
# The recording path (API, run -o, report, convert) on every pyenv
# interpreter from 3.8 to 3.13 found, and on the CPythons that
# bench/build-cpython.sh built under /opt/evprof-py (3.14, 3.14t), none of
# which has numpy: one test an interpreter, through
# `make check-python-versions`; skipped when there is none.
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
echo "1..$#"
i=0
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
