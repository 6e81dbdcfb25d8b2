#!/bin/sh
# Build a CPython from its release source into a private prefix, to run
# `make check-python-versions` on interpreters the distribution does not
# ship (a 3.14, a free-threaded 3.13t or 3.14t).  Nothing in the build or
# the tests needs this script: check-python-versions finds whatever exists
# under /opt/evprof-py and skips what does not.
#
#   bench/build-cpython.sh 3.14.4            -> /opt/evprof-py/3.14/bin/python3.14
#   bench/build-cpython.sh 3.14.4 t          -> /opt/evprof-py/3.14t/bin/python3.14t
#   bench/build-cpython.sh 3.13.7 t          -> /opt/evprof-py/3.13t/bin/python3.13t
#
# The source is the release tarball as the distributions mirror it
# (python.org itself may be out of reach); set CPYTHON_TARBALL to a local
# python3.X_V.orig.tar.xz or Python-V.tar.xz to skip the download, and
# CPYTHON_SHA256 to check it.  The build needs the usual -dev packages
# (libssl-dev zlib1g-dev libffi-dev libsqlite3-dev libbz2-dev liblzma-dev
# libreadline-dev libncurses-dev uuid-dev).
set -eu

version=${1:?usage: $0 VERSION [t]}
flavour=${2:-}
minor=${version%.*}
root=${EVPROF_PY_ROOT:-/opt/evprof-py}
prefix=$root/$minor$flavour
work=${TMPDIR:-/tmp}/evprof-cpython-$version$flavour
mirror=${CPYTHON_MIRROR:-http://archive.ubuntu.com/ubuntu/pool/main/p}

case $flavour in
'') gil= ;;
t) gil=--disable-gil ;;
*) echo "$0: flavour is empty or 't' (free-threaded), not '$flavour'" >&2
   exit 2 ;;
esac

mkdir -p "$work"
tarball=${CPYTHON_TARBALL:-$work/python${minor}_$version.orig.tar.xz}
if [ ! -s "$tarball" ]; then
    curl -fsS -m 600 -o "$tarball.part" \
        "$mirror/python$minor/python${minor}_$version.orig.tar.xz"
    mv "$tarball.part" "$tarball"
fi
if [ -n "${CPYTHON_SHA256:-}" ]; then
    echo "$CPYTHON_SHA256  $tarball" | sha256sum -c -
fi

src=$work/src
rm -rf "$src"
mkdir -p "$src"
tar -xJf "$tarball" -C "$src" --strip-components=1

# No --enable-optimizations: PGO triples the build time and the tests only
# need a correct interpreter; nor CPython's own test suite and pip, which
# take most of the install's time.  --enable-shared with an rpath so that
# the installed binary runs without LD_LIBRARY_PATH, as sys.executable
# must in the tests' subprocesses.
cd "$src"
./configure --prefix="$prefix" $gil --enable-shared \
    --disable-test-modules --without-ensurepip \
    LDFLAGS="-Wl,-rpath,$prefix/lib" >"$work/configure.log" 2>&1 \
    || { tail -30 "$work/configure.log" >&2; exit 1; }
nice make -j"${JOBS:-2}" >"$work/make.log" 2>&1 \
    || { tail -40 "$work/make.log" >&2; exit 1; }
make install >"$work/install.log" 2>&1 \
    || { tail -40 "$work/install.log" >&2; exit 1; }

py=$prefix/bin/python$minor$flavour
"$py" -c 'import sys, sysconfig, ssl, sqlite3, zlib, ctypes
print(sys.version)
print("include:", sysconfig.get_paths()["include"])
print("Py_GIL_DISABLED:", sysconfig.get_config_var("Py_GIL_DISABLED"))'
echo "installed $py"
