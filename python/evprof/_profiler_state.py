"""
The state every EventProfiler shares (python/evprof/profiler.py): the
profilers running (stopped at exit, dropped in a forked child), the gates
that keep a start or a stop off the timeline (python/evprof/_gate.c) and
what resumes a run one set aside, the memory domains, and the imports of
numpy and pandas on first use.
"""
import atexit
import functools
import os
import threading
import weakref

from . import _core, _threadnames

_DOMAINS = {'raw': 1, 'mem': 2, 'obj': 4, 'numpy': 8, 'native': 16}
_PYMEM = 7
_IMPLS = ('python', 'pybind11', 'c')
# Events moved out of the C buffer at a time (at least).
_FRAME_BLOCK = 1 << 16
_PACKAGES = {'numpy': 'python3-numpy', 'pandas': 'python3-pandas'}


def _need(module, what):
    """
    Imports numpy or pandas for *what*: recording needs neither, only the
    arrays and DataFrames do.
    """
    try:
        return __import__(module)
    except ImportError:
        raise ImportError(
            "%s needs %s: apt-get install %s (or pip install %s)"
            % (what, module, _PACKAGES[module], module)) from None


# Profilers started and not stopped, stopped at exit.
_running = weakref.WeakSet()
# The names of the threads they see start (for those that end).
_threadnames.install(_running.data)


def _running_now():
    """The profilers running, as a list taken at once: a signal handler
    that starts or stops one between two steps of an iteration over the
    WeakSet itself would change it under that iteration."""
    return [prof for prof in (ref() for ref in list(_running.data))
            if prof is not None]


class _AtExit:
    """
    What atexit stops first: *_buffer* is that of the profiler started
    last in the main thread and still running (the one recording there
    when the program ends), read by the stop gate atexit calls.
    """

    def __init__(self):
        self._buffer = None
        self._order = []

    def started(self, prof):
        if prof._thread == threading.main_thread().ident:
            self._order.append(weakref.ref(prof))
            self._buffer = prof._buffer

    def stopped(self, prof):
        self._order = [ref for ref in self._order
                       if ref() is not None and ref() is not prof]
        last = self._order[-1]() if self._order else None
        self._buffer = last._buffer if last is not None else None


_at_exit = _AtExit()


def _stop_all(holder, ours):
    # The Python half of a stop gate (registered below): the run of
    # holder._buffer has ended before any Python code of evprof ran at
    # exit, so that none is on its timeline; its profiler is stopped
    # without resuming the one it paused, then every other.
    first = holder._order[-1]() if holder._order else None
    if ours is not None and first is not None:
        first._outer = None
        first._stop_done(ours)
    for prof in _running_now():
        try:
            if prof._started:
                prof.stop()
            else:
                # Paused by a profiler stopped above: its run has ended.
                prof._stop_done(True)
        except Exception:  # pragma: no cover - best effort at exit
            pass


def _after_fork_in_child():
    # The child has a copy of each running profiler that nobody would
    # read: it stops, drops what it inherited, and may start again.
    for prof in _running_now():
        prof._buffer.after_fork()
        prof._moved = []
        prof._moved_threads = []
        prof._closed = 0
        prof._prof = prof._hook_obj = None
        prof._thread_prof = prof._thread_hook_obj = None
    _running.clear()
    _at_exit.__init__()
    _core.after_fork()


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _domain_mask(memory):
    if memory is None or memory is False:
        return 0
    if memory is True:
        return 15
    if isinstance(memory, str):
        memory = (memory,)
    try:
        names = list(memory)
    except TypeError:
        raise TypeError(
            "memory must be a bool or a sequence of 'raw', 'mem', 'obj', "
            "not %s" % type(memory).__name__) from None
    mask = 0
    for name in names:
        if not isinstance(name, str):
            raise TypeError("memory domains are str, not %s"
                            % type(name).__name__)
        if name not in _DOMAINS:
            raise ValueError("unknown memory domain %r (expected 'raw', "
                             "'mem', 'obj', 'numpy' or 'native')" % name)
        mask |= _DOMAINS[name]
    return mask


def _gate(kind, func, shown=None):
    """
    *func* as a method of *kind* ``'start'`` or ``'stop'`` whose call is
    no event of the run it starts or stops (see python/evprof/_gate.c).
    A stop's Python half gets what end() returned as its second argument,
    which the caller does not pass: *shown*, a function of the caller's
    signature, is what inspect and help() find behind the gate (through
    ``__wrapped__``; inspect itself is not imported, which would cost more
    than the rest of ``import evprof``).
    """
    gate = _core.gate(kind, func)
    if shown is not None:
        func.__wrapped__ = shown
    return gate


atexit.register(functools.partial(_gate('stop', _stop_all), _at_exit))


def _owner(buffer):
    """The profiler of *buffer* (a run a gate set aside), or None."""
    if buffer is None:
        return None
    for prof in list(_running):
        if prof._buffer is buffer:
            return prof
    return None


def _resume(buffer):
    # What begins again the run a gate set aside (see _gate.c): that of a
    # profiler still meant to run, else nothing.
    prof = _owner(buffer)
    if prof is None or prof._started:
        return None
    return prof._begin_args()


_core.gate_resume_with(_resume)
