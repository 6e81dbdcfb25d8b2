"""
An :class:`EventProfiler` streaming into a trace file while the program
runs (``EventProfiler(output=path)``).

The C core drains the event buffer into the file from a thread of its own
(``evprof_stream_start(3)``), a section at a time, so memory stays within
a budget however long the run; the names and line tables the events need
are written as the code is first met, before the events, and the names of
the threads as they start, so that a file cut off anywhere (SIGKILL,
``os._exit``, a full disk) reads back up to its last complete section with
names resolved.  :meth:`EventProfiler.stop` writes what is left and closes
the file; the results are then read back from it.
"""
import os
import threading
import warnings
import weakref

from . import _core

#: threads logging at once that a chunk is sized for (the allocator hooks
#: log on every thread, profiled or not)
CHUNK_THREADS = 4

#: bytes the event chunks of a stream may hold: a quarter of a second of
#: events at full speed, half the library's default, so that a profiled
#: interpreter with numpy and pandas loaded stays well under 100 MiB
DEFAULT_BUDGET = 16 << 20

# Streams running, told of each thread started (see _note_threads).
_streams = weakref.WeakSet()


def _streams_now():
    # Taken at once, for the reason of profiler._running_now.
    return [s for s in (ref() for ref in list(_streams.data))
            if s is not None]


_patched = []


def _note_threads():
    """
    Threads started while a stream runs get their name written into its
    file (META ``thread_name.IDENT``) at once: the thread may be gone
    when the profiler stops.  Thread.start is wrapped once, and passes
    through while no stream runs.
    """
    if _patched:
        return
    start = threading.Thread.start

    def start_and_name(thread, *args, **kwargs):
        start(thread, *args, **kwargs)
        if _streams and thread.ident is not None:
            for stream in _streams_now():
                stream.name_threads({thread.ident: thread.name})
    start_and_name.__doc__ = start.__doc__
    start_and_name.__wrapped__ = start
    threading.Thread.start = start_and_name
    _patched.append(start)


def _live_thread_names():
    names = {t.ident: t.name for t in threading.enumerate()
             if t.ident is not None}
    main = threading.main_thread()
    if main.ident is not None:
        names[main.ident] = main.name
    return names


def _after_fork_in_child():
    # The file is the parent's: the child's copy of a stream is inert.
    for stream in _streams_now():
        stream.state = 'forked'
        stream.buffer = None
    _streams.clear()


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def lost_message(path, stats):
    """
    One line saying what a stream could not write, or None when it wrote
    everything.
    """
    if stats is None:
        return None
    if stats['error']:
        return ('evprof: writing %s failed (%s) after %d events: %d events '
                'were not written; the file reads up to its last complete '
                'section' % (path, stats['error_text'], stats['events'],
                             stats['lost']))
    if stats['lost']:
        return ('evprof: %d events were lost (out of memory) while '
                'streaming into %s' % (stats['lost'], path))
    if stats['names_lost']:
        return ('evprof: %d names could not be kept (out of memory) while '
                'streaming into %s' % (stats['names_lost'], path))
    return None


class Stream:
    """
    The file side of an :class:`EventProfiler` built with *output*: it
    streams one run, from :meth:`EventProfiler.start` to
    :meth:`EventProfiler.stop`.

    :param path: the trace file, created (or truncated) at start
    :param budget: bytes the event chunks may hold (0:
        :data:`DEFAULT_BUDGET`, 16 MiB)
    :param wait: over the budget, a thread waits for the disk instead of
        allocating more (the memory stays bounded)
    :param meta: META pairs of the file (str -> str)
    """

    def __init__(self, path, budget=0, wait=True, meta=None):
        path = os.fspath(path)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(budget, int) or isinstance(budget, bool):
            raise TypeError("budget must be an int, not %s"
                            % type(budget).__name__)
        if budget < 0:
            raise ValueError("budget must be >= 0 (0: 16 MiB)")
        self.path = path
        self.budget = budget or DEFAULT_BUDGET
        self.wait = bool(wait)
        self.meta = dict(meta or {})
        self.state = 'new'
        self.stats = None
        self.buffer = None

    def chunk_size(self, size):
        """The chunk capacity (events) for a profiler of *size*."""
        return max(1, min(int(size), _core.stream_capacity(
            self.budget, CHUNK_THREADS)))

    def open(self, buffer, impl):
        """Creates the file and starts streaming *buffer* into it."""
        if self.state != 'new':
            raise RuntimeError(
                "a profiler streaming into a file records one run: %s is "
                "%s; make a new EventProfiler for another run"
                % (self.path, 'complete' if self.state == 'closed'
                   else 'the parent process\'s'))
        meta = {'evprof': getattr(_core, 'LIB_VERSION', ''),
                'impl': impl,
                'id_frame': 'code key of the running function',
                'id_arg': 'code key of the caller (Python events), '
                          'builtin key (c_* events)',
                'value1': 'caller instruction offset (Python events), '
                          'pointer (memory events)',
                'value2': 'block size (memory events; 0 for frees: '
                          'paired with their allocation when read)'}
        meta.update(self.meta)
        meta.update(('thread_name.%d' % ident, name)
                    for ident, name in _live_thread_names().items())
        buffer.stream_open(self.path, meta, self.budget, self.wait)
        self.state = 'running'
        self.buffer = buffer
        _note_threads()
        _streams.add(self)

    def name_threads(self, names):
        """Writes the names of threads (ident -> name) at the next drain."""
        if self.state == 'running' and self.buffer is not None:
            try:
                self.buffer.stream_meta({'thread_name.%d' % ident: name
                                         for ident, name in names.items()})
            except RuntimeError:  # pragma: no cover - closed meanwhile
                pass

    def close(self, stacklevel=2):
        """
        Stops streaming (the run stopped), writes the last names and
        closes the file; warns (RuntimeWarning) when events could not be
        written.  Returns the stream's final counts.
        """
        if self.state != 'running':
            return self.stats
        _streams.discard(self)
        self.name_threads(_live_thread_names())
        self.stats = self.buffer.stream_close()
        self.state = 'closed'
        self.buffer = None
        msg = lost_message(self.path, self.stats)
        if msg:
            warnings.warn(msg, RuntimeWarning, stacklevel=stacklevel + 1)
        return self.stats

    def _check_readable(self):
        why = {'new': 'start() and stop() the profiler first',
               'running': 'stop() the profiler first, then read them '
                          '(retrieve_results or evprof.load)',
               'forked': 'the file is the parent process\'s'}
        if self.state != 'closed':
            raise RuntimeError("the events are streamed into %s: %s"
                               % (self.path, why[self.state]))

    def copy_to(self, path):
        """As :meth:`EventProfiler.save`: a copy of the streamed file."""
        import shutil
        self._check_readable()
        path = os.fspath(path)
        if not (os.path.exists(path) and os.path.samefile(path, self.path)):
            shutil.copyfile(self.path, path)

    def _events(self):
        from . import tracefile
        from ._report import fill_freed_sizes
        import numpy
        self._check_readable()
        trace = tracefile.read_trace(self.path)
        trace.events = fill_freed_sizes(numpy.array(trace.events))
        return trace

    def raw_results(self):
        """As :meth:`EventProfiler.retrieve_raw_results`, from the file."""
        res = self._events().events
        res[res[:, 2] < 1000, 4:] = 0
        return res

    def results(self, clean_file_name=None, thread=False, domain=False):
        """
        As :meth:`EventProfiler.retrieve_results`, from the file, a block
        of events at a time (as :func:`evprof.load`).
        """
        import pandas
        from . import tracefile
        self._check_readable()
        if clean_file_name is not None and not callable(clean_file_name):
            raise TypeError("clean_file_name must be callable")
        data, trace = tracefile._load_columns(self.path, clean_file_name,
                                              thread, domain, None)
        df = pandas.DataFrame(data, columns=list(data), copy=False)
        if thread:
            df.attrs['thread_names'] = tracefile._thread_names_by_key(trace)
        return df
