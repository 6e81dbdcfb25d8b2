#! /bin/sh
# libtool-install.sh SHELL LIBTOOL ARG...: runs the libtool script LIBTOOL
# with SHELL, telling it in install mode to keep to itself.
#
# Our libtool libraries are modules loaded by their full path (the Python
# extension, the LD_PRELOAD library), never linked against: what libtool's
# install mode ends with (`remember to run libtool --finish DIR' in a
# staged install, "Libraries have been installed in: ..." otherwise) is
# advice for libraries found through the linker's search path, and does not
# apply to them.  Its compile and link modes keep their messages.
#
# "-W none" before "--quiet": libtool 2.4.7 loops forever on the other order.
sh=$1 lt=$2
shift 2
for arg
do
  case $arg in
    --mode=install) exec "$sh" "$lt" -W none --quiet "$@" ;;
    --mode=*) break ;;
  esac
done
exec "$sh" "$lt" "$@"
