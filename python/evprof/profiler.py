"""
EventProfiler, WithEventProfiler, EventProfilerDebug: a drop-in for
cpyquickhelper's event profiler, on the C core of libevprof.

Here a profiler's runs (start, stop, the hooks); its results are read by
_profiler_results.py, the state all profilers share (the running ones,
the gates, the fork and exit handlers) is _profiler_state.py's, and the
block and the debug profiler built on it are _with_profiler.py's.
"""
import operator
import os
import sys
import threading
import warnings

from . import _core, numpy_data
from ._names import EVENT_MAPPING
from ._profiler_results import Results
from ._profiler_state import (
    _DOMAINS, _IMPLS, _PYMEM, _at_exit, _domain_mask, _gate, _owner,
    _running)

_PACKAGE_DIR = os.path.dirname(__file__)


class UnknownEventError(ValueError, KeyError):
    """
    An event name :meth:`EventProfiler.log_event` does not know: a
    ``ValueError``, and a ``KeyError`` as the seed's mapping look-up raised.
    """

    def __str__(self):
        return ValueError.__str__(self)


class EventProfiler(Results):
    """
    Profiles function calls and memory allocations, every event in order
    with a nanosecond timestamp, and returns a timeline.

    :param size: events a buffer chunk: the buffer grows by chunks of
        *size* events, nothing is ever lost
    :param impl: ``'c'`` (a C profile function, the fastest),
        ``'pybind11'`` (a C callable given to :func:`sys.setprofile`) or
        ``'python'`` (a Python :meth:`log_event`); all log the same events
    :param memory: which allocators to hook: True (all: the PyMem domains
        ``'raw'``, ``'mem'``, ``'obj'``, and ``'numpy'``, numpy's array
        data, when the program imports numpy), False or None (none), or a
        sequence of names, among which ``'native'`` (opt-in: malloc and
        anonymous mmap from any library, when libevprof-malloc.so is
        preloaded, as ``evprof run --native`` does)
    :param threads: also profile the threads started after :meth:`start`
        (:func:`threading.setprofile`), and with ``impl='c'`` the threads
        already running
    :param backend: what ``impl='c'`` installs: ``'monitoring'``
        (:mod:`sys.monitoring` callbacks, Python 3.12 and 3.13),
        ``'profile'`` (a C profile function) or ``'auto'`` (the first
        where it exists); see doc/evprof-python.md
    :param output: a trace file (path) to stream the events into while
        the program runs, names included, memory bounded whatever the
        run's length: :meth:`start` creates it (OSError if it cannot),
        :meth:`stop` completes it, the results are then read from it; one
        run a profiler (see doc/evprof-python.md)

    Unlike cpyquickhelper's profiler, an exception raised by the profiled
    code never crashes the process, no frame is kept alive, and the buffer
    is never flushed from inside an allocator.
    """

    _event_mapping = dict(EVENT_MAPPING)

    def __init__(self, size=1000000, impl='python', memory=True,
                 threads=False, backend='auto', output=None):
        if impl not in _IMPLS:
            raise ValueError("Unexpected value for impl=%r, expected one of "
                             "%r." % (impl, _IMPLS))
        if not isinstance(threads, bool):
            raise TypeError("threads must be a bool, not %s"
                            % type(threads).__name__)
        domains = _domain_mask(memory)
        if not isinstance(size, (bool, int)) and hasattr(size, '__index__'):
            # numpy integers, as the seed's pybind11 constructor took them
            size = operator.index(size)
        self._impl = impl
        self._size = size
        self._threads_option = threads
        self._prof = None
        self._thread_prof = None
        self._hook_obj = None
        self._thread_hook_obj = None
        self._copy_cache = False
        # Events stay in the C buffer's chunks, where the hooks wrote them
        # (48 bytes each), and are read there.  Only _empty_cache() (and
        # reading _events) moves them into numpy arrays, kept in _moved
        # and _moved_threads, older than what the buffer holds.  _closed
        # counts the oldest events of the buffer that belong to runs
        # already stopped.
        self._moved = []
        self._moved_threads = []
        self._closed = 0
        self._numpy = bool(domains & _DOMAINS['numpy'])
        self._native = bool(domains & _DOMAINS['native'])
        self._stream = None
        # The thread that started, a profiler this one paused (see
        # start) and the one that paused it, where this one was paused by
        # another, whether its hook
        # was replaced while it ran.
        self._thread = None
        self._outer = None
        self._inner = None
        self._paused_by = []
        self._replaced = False
        if output is not None:
            from .streaming import Stream
            self._stream = Stream(output)
            size = self._stream.chunk_size(size)
        self._buffer = _core.Profiler(size, domains & _PYMEM,
                                      backend=backend)

    # Called in a run of another profiler, the constructor is not on its
    # timeline (see _gate.c).
    __init__ = _gate('quiet', __init__)

    @property
    def n_columns(self):
        """Number of int64 stored per event (columns of the raw results)."""
        return _core.N_COLUMNS

    @property
    def _events(self):
        """
        The seed's list of event arrays (numpy int64, 6 columns), oldest
        first.  Reading it moves the events of the runs stopped so far
        out of the C buffer into numpy arrays (once: the buffer's chunks
        are freed as they are emptied); the retrieve and save methods do
        not need it and read the events where they are.
        """
        self._move(self._held(False))
        return self._moved

    @_events.setter
    def _events(self, value):
        self._moved = value
        self._moved_threads = []
        self._closed = 0

    @property
    def _thread_index(self):
        """The thread index (uint32) of each event of :attr:`_events`."""
        self._move(self._held(False))
        return self._moved_threads

    @_thread_index.setter
    def _thread_index(self, value):
        self._moved_threads = value

    def _held(self, everything):
        """
        Events of the C buffer a report includes: all of them with
        *everything* (or once stopped), else those of the stopped runs.
        """
        if everything or not self._started:
            return self._buffer.count()
        return self._closed

    @property
    def _started(self):
        """Whether a run is going on (start() called, stop() not yet)."""
        return self._buffer.running

    def _hooks(self):
        """
        What start() installs: (the object for sys.setprofile or None for
        the C profile function, what sys.getprofile() then returns, the
        object for threading.setprofile or None).
        """
        if self._impl == 'python':
            hook = self._python_hook()
            installed = seen = hook
        elif self._impl == 'pybind11':
            installed = seen = self._buffer.hook()
        else:
            installed, seen = None, self._buffer
        thread_hook = None
        if self._threads_option:
            thread_hook = (seen if installed is not None
                           else self._buffer.c_install_thread)
        return installed, seen, thread_hook

    def start(self):
        """
        Starts (or resumes) the profiling.  As in the seed, the events of
        an earlier start/stop stay: a report covers every run since the
        profiler was built.

        Everything is installed in one step (the allocator hooks, the
        profile function, the thread hook), or nothing when it raises:
        also when a KeyboardInterrupt or a signal handler strikes during
        the call.  The call is no event of the run: its first event is
        the caller's next one.
        """
        # The Python half of the gate below: what it returns is begun by
        # the C core, as the last step of the call (see _gate.c).
        if self._started:
            raise RuntimeError(
                "The profiler was already started. It cannot be done again.")
        # A profiler already running in this thread was paused by the
        # gate, before this half ran, for the time of this run, and is
        # resumed by its stop: each records its own part, and the outer
        # one says where it paused.
        me = threading.get_ident()
        outer = _owner(_core.gate_paused())
        if outer is not None:
            # The program's line (WithEventProfiler's __enter__ is ours).
            where = sys._getframe(1)
            while (where.f_back is not None and os.path.dirname(
                    where.f_code.co_filename) == _PACKAGE_DIR):
                where = where.f_back
            outer._paused_by.append(
                '%s:%d' % (where.f_code.co_filename, where.f_lineno))
            self._outer = outer
            outer._inner = self
        self._thread = me
        self._copy_cache = False
        if self._stream is not None:
            self._stream.open(self._buffer, self._impl)
        _running.add(self)
        _at_exit.started(self)
        return self._begin_args()

    def _begin_args(self):
        """What the gate begins (see _gate.c), the hooks recorded."""
        installed, seen, thread_hook = self._hooks()
        token = object()
        self._prof = sys.getprofile()
        self._hook_obj = seen
        self._thread_prof = getattr(threading, '_profile_hook', None)
        self._thread_hook_obj = thread_hook
        post = []
        if self._numpy:
            install = numpy_data.start(self)
            if install is not None:
                post.append(install)
        if self._native:
            post.append(self._buffer.native_install)
        return (self._buffer, token, installed, thread_hook,
                self._threads_option, self._start_failed, tuple(post),
                self._start_warn, None)

    _start_prep = start
    start = _gate('start', start)

    def _start_failed(self):
        """Undoes the bookkeeping of a start whose begin() failed."""
        _running.discard(self)
        _at_exit.stopped(self)
        self._prof = self._hook_obj = None
        self._thread_prof = self._thread_hook_obj = None
        if self._numpy:
            numpy_data.stop(self)
        if self._stream is not None:
            self._stream.close()

    def _start_warn(self, messages):
        """What the steps after begin() could not do, said."""
        for why in messages:
            what = ("native allocations are not recorded"
                    if 'native' in why or 'preload' in why
                    else "numpy's array data is not recorded")
            warnings.warn("evprof: %s: %s" % (what, why), RuntimeWarning,
                          stacklevel=2)

    def stop(self, ours=None):
        """
        Stops the profiling, in one step (see :meth:`start`); the call is
        no event of the run.  In a child process forked while profiling,
        the profiler was stopped at the fork (the child's copy of the
        events is dropped): stop() then returns quietly once.
        """
        # The Python half of the gate below: the C core has stopped the
        # run (end()) before it is called; *ours* is what end() returned,
        # None when no run was going on.
        inner = self._inner
        if (ours is None and inner is not None
                and inner._buffer is _core.gate_paused()):
            # Paused by a profiler started in its run and still running
            # (the program left it on), which the gate has just ended:
            # that one stops here, first.
            inner._outer = None
            inner._stop_done(True)
            ours = True
        elif ours is None and inner is not None and inner._buffer.running:
            # The same, the inner one running in another thread.
            inner._outer = None
            inner.stop()
            ours = True
        if ours is None:
            if self._buffer.take_forked():
                return
            raise RuntimeError(
                "The profiler was not started. It must be done first.")
        self._inner = None
        _running.discard(self)
        _at_exit.stopped(self)
        if self._numpy:
            numpy_data.stop(self)
        self._prof = self._hook_obj = None
        self._thread_prof = self._thread_hook_obj = None
        if self._stream is not None:
            self._stream.close(stacklevel=2)
        # The events stay where they are: nothing is copied.
        self._closed = self._buffer.count()
        lost = self._buffer.lost()
        if lost:
            warnings.warn("%d events were lost (out of memory)" % lost,
                          RuntimeWarning, stacklevel=2)
        self._replaced = not ours
        if not ours:
            warnings.warn(
                "the profile function was replaced or removed while "
                "profiling (sys.setprofile, another profiler, or an "
                "exception raised inside it): the events after that are "
                "missing", RuntimeWarning, stacklevel=2)
        outer, self._outer = self._outer, None
        if outer is not None:
            outer._inner = None
        if outer is not None and not outer._started and outer in _running:
            # Resumed by the gate, as the last step of this call.
            return outer._begin_args()
        return None

    _stop_done = stop
    stop = _gate('stop', stop, lambda self: None)

    def __del__(self):
        # A profiler dropped while running uninstalls itself.
        try:
            if self._started:
                self.stop()
        except Exception:  # pragma: no cover
            pass

    # Called in the run of another profiler: not on its timeline.
    __del__ = _gate('quiet', __del__)

    def _python_hook(self):
        # self.log_event, without keeping self alive: a profiler dropped
        # while running is collected (and stopped by __del__).
        meth = self.log_event
        if getattr(meth, '__self__', None) is self and \
                hasattr(meth, '__func__'):
            return _core.weak_method(self, meth.__func__)
        return meth

    def _setup_profiler(self):
        """Installs the profile function of *impl* (and the thread hook)."""
        installed, seen, thread_hook = self._hooks()
        self._prof = sys.getprofile()
        self._hook_obj = seen
        self._thread_prof = getattr(threading, '_profile_hook', None)
        self._thread_hook_obj = thread_hook
        self._buffer.install(all_threads=self._threads_option,
                             installed=installed, thread_hook=thread_hook)

    def _restore_profiler(self):
        """
        Puts back the profile function found by :meth:`start`, in the
        thread that started, unless something else replaced ours since;
        returns whether ours was still in place.
        """
        ours = self._buffer.restore_profile()
        self._prof = None
        self._hook_obj = None
        self._thread_prof = self._thread_hook_obj = None
        return ours

    def log_event(self, frame, event, arg):
        """
        Logs an event (the signature of a :func:`sys.setprofile` function).

        :param frame: the frame of the event
        :param event: ``'call'``, ``'return'``, ``'c_call'``, ...
        :param arg: the builtin for ``c_*`` events
        """
        try:
            self._buffer.c_log_event(frame, event, arg)
        except ValueError as e:
            if type(e) is ValueError and isinstance(event, str):
                raise UnknownEventError(str(e)) from None
            raise


# Last: they build on EventProfiler.
from ._with_profiler import (  # noqa: E402
    EventProfilerDebug, WithEventProfiler)

__all__ = ['EventProfiler', 'EventProfilerDebug', 'WithEventProfiler',
           'UnknownEventError']
