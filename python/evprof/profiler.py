"""
EventProfiler, WithEventProfiler, EventProfilerDebug: a drop-in for
cpyquickhelper's event profiler, on the C core of libevprof.
"""
import atexit
import functools
import operator
import os
import sys
import threading
import warnings
import weakref

from . import _core, _threadnames, numpy_data
from ._names import EVENT_MAPPING

_PACKAGE_DIR = os.path.dirname(__file__)

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


def _identity(name):
    return name


class UnknownEventError(ValueError, KeyError):
    """
    An event name :meth:`EventProfiler.log_event` does not know: a
    ``ValueError``, and a ``KeyError`` as the seed's mapping look-up raised.
    """

    def __str__(self):
        return ValueError.__str__(self)


class EventProfiler:
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

    def _empty_cache(self):
        """
        Moves the events held by the C buffer into numpy arrays appended
        to :attr:`_events` (the seed's cache).  Returns how many were moved.
        """
        if self._copy_cache:
            raise RuntimeError(  # pragma: no cover
                "Profiling cache being copied.")
        return self._move(self._buffer.count())

    def _move(self, n):
        """Moves the *n* oldest events of the C buffer into _moved."""
        if n <= 0:
            return 0
        numpy = _need('numpy', 'reading the events as arrays')
        events = numpy.empty((n, _core.N_COLUMNS), dtype=numpy.int64)
        index = numpy.empty(n, dtype=numpy.uint32)
        # A chunk's worth at a time: each step frees the chunks it
        # emptied, so that the events are held once, not twice.  Each
        # move and its append are one C call: a signal handler that
        # empties the cache too cannot interleave with it.
        step = max(self._size, _FRAME_BLOCK)
        done = 0
        while done < n:
            got = self._buffer.dump(events[done:done + step],
                                    index[done:done + step],
                                    self._moved, self._moved_threads)
            if got == 0:
                break
            done += got
        self._closed = max(0, self._closed - done)
        return done

    def _gather(self, everything, threads=False):
        """
        The events of a report, oldest first, as one int64 array with the
        freed sizes filled in (and the thread index of each one): those
        moved out, then those the C buffer holds, read in place.
        """
        numpy = _need('numpy', 'reading the events as arrays')
        n = self._held(everything)
        events = numpy.empty((n, _core.N_COLUMNS), dtype=numpy.int64)
        index = numpy.empty(n, dtype=numpy.uint32) if threads else None
        moved = self._moved
        n = self._buffer.read(events, index, n, not moved)
        events = events[:n]
        index = index[:n] if threads else None
        if moved:
            from ._report import fill_freed_sizes
            events = fill_freed_sizes(numpy.vstack(moved + [events]))
            if threads:
                index = numpy.concatenate(self._moved_threads + [index])
        return events, index

    def retrieve_raw_results(self, empty_cache=True):
        """
        The events as a numpy int64 array, one row an event, columns
        ``id_frame, id_arg, event, time, value1, value2``.  As in the
        seed, ``value1`` and ``value2`` are the block and its size for
        memory events and 0 for the others; ``value2`` of a
        ``free``/``realloc_free`` row is minus the size freed (0 when the
        block was allocated before the profiling started).

        :param empty_cache: moves what the C buffer holds first
        """
        if self._stream is not None:
            return self._stream.raw_results()
        res, _ = self._gather(empty_cache)
        # The C core keeps the caller's instruction offset in value1 of
        # function events (for from_line); the seed's raw rows hold 0.
        res[res[:, 2] < 1000, 4:] = 0
        return res

    def _thread_keys(self, numpy):
        """
        The value of the ``thread`` column of each thread, by thread
        index (:func:`evprof._names.thread_keys`), and their names.
        """
        from . import _threadnames
        from ._names import thread_keys
        threads = self._buffer.threads()
        keys = thread_keys(threads)
        idents = [int(t[0]) for t in threads]
        names = {}
        for key, ident, name in zip(keys, idents,
                                    _threadnames.names_of(threads)):
            # None: unknown, and not to be named after its ident, which
            # other threads of the profile had.
            if name is not None or idents.count(ident) > 1:
                names[key] = name
        return numpy.array(keys or [0], dtype=numpy.int64), names

    def _choose(self, frame, arg, f_back=False):
        """
        The name of the called function (the seed's helper): the builtin
        *arg* when given, else the function of *frame* (or of its caller).
        """
        if arg is None:
            if f_back:
                return ('' if frame.f_back is None
                        else frame.f_back.f_code.co_name)
            return frame.f_code.co_name
        try:
            return arg.__qualname__
        except AttributeError:
            return arg.__class__.__name__

    def _choose_mod(self, frame, arg, clean_name, f_back=False):
        """
        The module of the called function (the seed's helper), as
        :meth:`_choose`; file names go through *clean_name*.
        """
        if arg is None:
            if f_back:
                name = ('' if frame.f_back is None
                        else frame.f_back.f_code.co_filename)
            else:
                name = frame.f_code.co_filename
            return clean_name(name)
        try:
            return arg.__module__
        except AttributeError:
            return arg.__class__.__module__

    def retrieve_results(self, empty_cache=True, clean_file_name=None,
                         thread=False, domain=False):
        """
        The events as a DataFrame with the columns ``time, value1, value2,
        event, name, mod, lineno, from_name, from_mod, from_line``.

        :param empty_cache: moves what the C buffer holds first
        :param clean_file_name: function applied to each file name
        :param thread: adds a column ``thread``: the thread's ident (as
            :func:`threading.get_ident`), unique a thread (see
            doc/evprof-python.md); ``df.attrs['thread_names']`` maps it
            to the thread's name
        :param domain: adds a column ``domain``: the allocator of each
            memory event (``'raw'``, ``'mem'``, ``'obj'``, ``'numpy'``,
            ``'native'``, ``'mmap'``), ``''`` for the other events
        """
        if self._stream is not None:
            if clean_file_name is not None and not callable(clean_file_name):
                raise TypeError("clean_file_name must be callable")
            return self._stream.results(clean_file_name, thread, domain)
        if clean_file_name is None:
            clean_file_name = _identity
        elif not callable(clean_file_name):
            raise TypeError("clean_file_name must be callable")
        numpy = _need('numpy', 'retrieve_results')
        pandas = _need('pandas', 'retrieve_results')
        from ._frame import BLOCK, FrameBuilder
        from ._report import KeyTable
        # The events counted before the registry is read: each one's keys
        # are in it.
        n = self._held(empty_cache) + sum(len(m) for m in self._moved)
        table = KeyTable(self._buffer.registry(), self._buffer.key_base(),
                         clean_file_name)
        thread_names = idents = None
        if thread:
            idents, thread_names = self._thread_keys(numpy)
        # The frame's columns are made once and filled a block of events
        # at a time; pandas takes them as they are (copy=False).
        frame = FrameBuilder(n, table, idents, domain)
        if self._moved:
            # Some were moved into arrays (the seed's cache): those and
            # the buffer's, in one array with the freed sizes paired.
            res, index = self._gather(empty_cache, thread)
            for lo in range(0, res.shape[0], BLOCK):
                frame.add(res[lo:lo + BLOCK],
                          None if index is None else index[lo:lo + BLOCK])
            del res, index
        else:
            # From the buffer's chunks into one block, a block at a time.
            block = numpy.empty((BLOCK, _core.N_COLUMNS), dtype=numpy.int64)
            index = numpy.empty(BLOCK, dtype=numpy.uint32) if thread else None

            def add(k):
                frame.add(block[:k], None if index is None else index[:k])
            self._buffer.read_blocks(block, index, add, n)
        data = frame.finish()
        df = pandas.DataFrame(data, columns=list(data), copy=False)
        if thread_names is not None:
            df.attrs['thread_names'] = thread_names
        return df


class WithEventProfiler:
    """
    Profiles a block::

        prof = WithEventProfiler(impl='c')
        with prof:
            ...  # may raise
        df = prof.report

    The hooks and allocators are restored when the block raises, and the
    exception propagates unchanged.

    :param size: see :class:`EventProfiler`
    :param impl: see :class:`EventProfiler`
    :param clean_file_name: function applied to each file name of the report
    :param memory: see :class:`EventProfiler`
    :param threads: see :class:`EventProfiler`
    """

    def __init__(self, size=1000000, impl='python', clean_file_name=None,
                 memory=True, threads=False):
        if clean_file_name is not None and not callable(clean_file_name):
            raise TypeError("clean_file_name must be callable")
        self.size = size
        self.clean_file_name = clean_file_name
        self.report_ = None
        self.prof_ = None
        self.impl = impl
        self.memory = memory
        self.threads = threads

    __init__ = _gate('quiet', __init__)

    def __enter__(self):
        # The Python half of the gate below (see EventProfiler.start):
        # the block's first event is its first line's.
        prof = EventProfiler(size=self.size, impl=self.impl,
                             memory=self.memory, threads=self.threads)
        self.prof_ = prof
        self._buffer = prof._buffer
        return prof._start_prep()[:8] + (self,)

    __enter__ = _gate('start', __enter__)

    def __exit__(self, ours, typ, value, traceback):
        # The Python half of the gate below: the run is stopped before.
        resume = self.prof_._stop_done(ours)
        self.report_ = self.prof_.retrieve_results(
            clean_file_name=self.clean_file_name)
        return resume

    __exit__ = _gate('stop', __exit__,
                     lambda self, typ, value, traceback: None)

    @property
    def report(self):
        """The profiling report as a DataFrame."""
        return self.report_

    @property
    def profiler(self):
        """The :class:`EventProfiler` of the last block (None before)."""
        return self.prof_

    def _profiled(self):
        if self.prof_ is None:
            raise RuntimeError("nothing profiled yet: use the "
                               "WithEventProfiler in a with statement first")
        return self.prof_

    def save(self, path, progress=None):
        """The block's trace file: see :meth:`EventProfiler.save`."""
        return self._profiled().save(path, progress=progress)

    def to_chrome_trace(self, path, progress=None):
        """The block's Chrome JSON: see
        :meth:`EventProfiler.to_chrome_trace`."""
        return self._profiled().to_chrome_trace(path, progress=progress)

    def summary(self, sort='inclusive'):
        """The block's summary: see :meth:`EventProfiler.summary`."""
        return self._profiled().summary(sort=sort)

    def plot(self, path, **kwargs):
        """The block's picture: see :meth:`EventProfiler.plot`."""
        return self._profiled().plot(path, **kwargs)

    def retrieve_results(self, empty_cache=True, clean_file_name=None,
                         thread=False, domain=False):
        """See :meth:`EventProfiler.retrieve_results`."""
        if clean_file_name is None:
            clean_file_name = self.clean_file_name
        return self._profiled().retrieve_results(
            empty_cache=empty_cache, clean_file_name=clean_file_name,
            thread=thread, domain=domain)


class EventProfilerDebug(EventProfiler):
    """
    Measures the cost of logging: :meth:`start` installs no hook, so only
    the events given to :meth:`log_event` by hand are recorded.
    """

    def start(self):
        """Starts the profiling without installing any hook."""
        if self._started:
            raise RuntimeError(
                "The profiler was already started. It cannot be done again.")
        self._copy_cache = False
        token = object()
        try:
            self._buffer.begin(token, sys._getframe(1), hooks=False)
        except BaseException:
            self._buffer.abort(token)
            raise

    def stop(self):
        """Stops the profiling started by :meth:`start`."""
        if not self._started:
            if self._buffer.take_forked():
                return
            raise RuntimeError(
                "The profiler was not started. It must be done first.")
        if self._buffer.end(sys._getframe(1)) is not None:
            self._closed = self._buffer.count()
