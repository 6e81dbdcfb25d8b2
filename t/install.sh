#!/bin/sh
# make install says nothing a packager would read as a defect: no
# `libtool --finish' to remember after a staged install (DESTDIR), no
# "Libraries have been installed in" block after an install into the
# prefix, and each installed libtool library names the directory it was
# installed in.
top=${top_builddir:-.}
make=${MAKE:-make}
echo 1..5
tmp=$(mktemp -d "${TMPDIR:-/tmp}/evprof-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# A staged install, as a packager makes it.
# Its own make, not the jobs of the one running the tests.
if (cd "$top" && MAKEFLAGS= && export MAKEFLAGS &&
    $make install DESTDIR="$tmp/stage") >"$tmp/out" 2>&1; then
    echo "ok 1 - make install DESTDIR=... succeeds"
else
    echo "not ok 1 - make install DESTDIR=... succeeds"
    sed 's/^/# /' "$tmp/out"
fi
hints=$(grep -i -e 'libtool --finish' -e 'have been installed in' \
    -e 'warning' "$tmp/out")
if [ -z "$hints" ]; then
    echo "ok 2 - no libtool hint nor warning in its output"
else
    echo "not ok 2 - no libtool hint nor warning in its output"
    printf '%s\n' "$hints" | sed 's/^/# /'
fi
libdir=$(sed 's/ .*//' "$top/install-dirs.stamp")
la=$tmp/stage$libdir/libevprof-malloc.la
if grep "^libdir='$libdir'\$" "$la" >/dev/null 2>&1; then
    echo "ok 3 - the installed .la names $libdir"
else
    echo "not ok 3 - the installed .la names $libdir"
    grep '^libdir=' "$la" 2>&1 | sed 's/^/# /'
fi

# An install into the prefix itself, which a test cannot write: libtool's
# dry run says what it would print.  Run bare first, to show that this is
# the case that prints the block.
lt_install="$top/libtool --dry-run --mode=install /bin/true \
    $top/lib/libevprof-malloc.la $libdir/libevprof-malloc.la"
if [ ! -d "$libdir" ]; then
    # libtool's finish mode wants the directory.
    echo "ok 4 # skip $libdir does not exist yet"
    echo "ok 5 # skip $libdir does not exist yet"
    exit 0
fi
# shellcheck disable=SC2086
bare=$(${SHELL:-/bin/sh} $lt_install 2>&1)
case $bare in
*"have been installed in"*)
    echo "ok 4 - bare libtool prints the block for $libdir" ;;
*)
    echo "not ok 4 - bare libtool prints the block for $libdir"
    printf '%s\n' "$bare" | sed 's/^/# /' ;;
esac
# shellcheck disable=SC2086
quiet=$(${SHELL:-/bin/sh} "${srcdir:-.}/libtool-install.sh" ${SHELL:-/bin/sh} \
    $lt_install 2>&1)
if [ -z "$quiet" ]; then
    echo "ok 5 - through make's libtool it prints nothing"
else
    echo "not ok 5 - through make's libtool it prints nothing"
    printf '%s\n' "$quiet" | sed 's/^/# /'
fi
