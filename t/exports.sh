#!/bin/sh
# Every symbol libevprof.a exports starts with evprof_ (or evprof__ for the
# internals the inline fast paths need): nothing leaks into a user's
# namespace.
lib=${top_builddir:-.}/lib/libevprof.a
echo 1..2
if ! command -v nm >/dev/null 2>&1; then
    echo "ok 1 # skip nm not found"
    echo "ok 2 # skip nm not found"
    exit 0
fi
syms=$(nm -g --defined-only "$lib" | awk 'NF == 3 { print $3 }')
if [ -n "$syms" ]; then
    echo "ok 1 - $lib exports symbols"
else
    echo "not ok 1 - $lib exports symbols"
fi
bad=$(printf '%s\n' "$syms" | grep -v '^evprof_')
if [ -z "$bad" ]; then
    echo "ok 2 - all of them start with evprof_"
else
    echo "not ok 2 - all of them start with evprof_"
    printf '%s\n' "$bad" | sed 's/^/# /'
fi
