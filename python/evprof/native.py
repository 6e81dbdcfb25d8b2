"""
Native allocations: where libevprof-malloc.so is, and whether the
process runs with it preloaded (see libevprof-malloc(3) and
``evprof run --native``).
"""
import ctypes
import os

LIBRARY_ENV = 'EVPROF_MALLOC_LIBRARY'
REEXEC_ENV = 'EVPROF_NATIVE_REEXEC'
NAME = 'libevprof-malloc.so'


def library():
    """The path of libevprof-malloc.so: $EVPROF_MALLOC_LIBRARY, or the one
    installed beside libevprof; None when neither exists."""
    path = os.environ.get(LIBRARY_ENV)
    if path:
        return os.path.abspath(path) if os.path.isfile(path) else None
    try:
        from ._paths import LIBDIR
    except ImportError:  # pragma: no cover - a tree without make's file
        return None
    path = os.path.join(LIBDIR, NAME)
    return path if os.path.isfile(path) else None


def preloaded():
    """Whether libevprof-malloc.so is in the process (preloaded)."""
    try:
        return hasattr(ctypes.CDLL(None), 'evprof_native_attach')
    except OSError:  # pragma: no cover
        return False
