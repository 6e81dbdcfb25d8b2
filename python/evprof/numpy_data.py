"""
numpy's array data on the timeline (domain ``numpy``): numpy's default
data handler is wrapped in place while a profiler runs (see
python/evprof/_numpy.c).  numpy is never imported for this: when the
program has not imported it yet at start(), an import finder waits for
it and wraps the handler as soon as numpy is loaded.
"""
import importlib.machinery
import sys
import warnings
import weakref

from . import _core

# The profiler waiting for numpy (a weakref), or None.  No lock: start()
# and stop() may be interrupted anywhere by a signal handler's exception,
# which would leave a lock held; single assignments under the GIL are
# enough for the one profiler that may wait.
_waiting = None


def _loaded():
    return ('numpy._core._multiarray_umath' in sys.modules
            or 'numpy.core._multiarray_umath' in sys.modules)


def _warn(why):
    warnings.warn("evprof: numpy's array data is not recorded: %s" % why,
                  RuntimeWarning, stacklevel=4)


def _install(prof):
    why = prof._buffer.numpy_install()
    if why is not None:
        _warn(why)


class _Loader:
    """The loader of numpy's package, that wraps the handler once numpy
    is imported."""

    def __init__(self, real):
        self._real = real

    def create_module(self, spec):
        return self._real.create_module(spec)

    def exec_module(self, module):
        self._real.exec_module(module)
        _numpy_imported()

    def __getattr__(self, name):
        return getattr(self._real, name)


class _Finder:
    """Finds nothing itself: gives numpy's package a loader that tells
    us when numpy is imported."""

    def find_spec(self, name, path=None, target=None):
        if name != 'numpy' or _waiting is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _Loader(spec.loader)
        return spec

    # Asked at each import of the profiled program: not on its timeline
    # (see _gate.c).
    find_spec = _core.gate('quiet', find_spec)


_FINDER = _Finder()


def _numpy_imported():
    waiting = _waiting
    prof = waiting() if waiting is not None else None
    _unwatch()
    if prof is not None and prof._started and _loaded():
        _install(prof)


def _unwatch():
    global _waiting
    _waiting = None
    try:
        sys.meta_path.remove(_FINDER)
    except ValueError:
        pass


def start(prof):
    """
    Called by start() before its run begins: returns what wraps numpy's
    handler once the run began (a method of the C core, giving None or
    why not) when numpy is loaded, else waits for numpy.
    """
    global _waiting
    if _loaded():
        return prof._buffer.numpy_install
    if _waiting is not None and _waiting() is not None:
        return  # another profiler waits for it already
    _waiting = weakref.ref(prof)
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def stop(prof):
    """Called by stop() (the C side has put numpy's functions back)."""
    waiting = _waiting
    if waiting is not None and waiting() in (prof, None):
        _unwatch()
