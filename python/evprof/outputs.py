"""
The outputs of an :class:`EventProfiler`, as methods: ``save`` (the trace
file), ``to_chrome_trace`` (Perfetto / chrome://tracing JSON),
``summary`` (per function DataFrame) and ``plot`` (PNG).  They read the
events where the profiler holds them and leave it usable.  ``save``,
``to_chrome_trace`` and ``summary`` never build a DataFrame of the
events: the events go to a trace file a block at a time, and the
library's sinks read it a block at a time (memory follows the names and
threads, not the events); only ``plot`` (and ``summary``'s small result)
need numpy and pandas.
"""
import os
import threading
import warnings

from . import _sinkfile
from . import tracefile as _tracefile


def live_thread_names():
    """dict ident -> name of the Python threads alive now."""
    names = {t.ident: t.name for t in threading.enumerate()
             if t.ident is not None}
    main = threading.main_thread()
    if main.ident is not None:
        names[main.ident] = main.name
    return names


def thread_names(prof):
    """
    [(ident, name)] of the threads of *prof* in thread order, those that
    have ended included, then of the threads alive that it does not name.
    """
    from . import _threadnames
    threads = prof._buffer.threads()
    out = [(int(t[0]), n) for t, n in
           zip(threads, _threadnames.names_of(threads)) if n is not None]
    named = {ident for ident, _ in out}
    out += [(ident, n) for ident, n in live_thread_names().items()
            if ident not in named]
    return out


def save(self, path, progress=None):
    """
    Writes the events and the name tables into the trace file *path*
    (doc/trace-format.md); :func:`evprof.load` gives the DataFrame back.

    :param progress: called with the number of events written, or None
    """
    if getattr(self, '_stream', None) is not None:
        return self._stream.copy_to(path)  # already a trace file
    _tracefile.save_profiler(self, path, progress=progress,
                             names_of_threads=thread_names(self))


class _Scratch:
    """A trace of the profiler in a file of its own, removed after use."""

    def __init__(self, prof, suffix='.evt'):
        import tempfile
        fd, self.path = tempfile.mkstemp(prefix='evprof-', suffix=suffix)
        os.close(fd)
        try:
            save(prof, self.path)
        except BaseException:
            os.unlink(self.path)
            raise

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        try:
            os.unlink(self.path)
        except OSError:  # pragma: no cover
            pass


def _count_trace_events(path):
    """The trace events of a Chrome JSON file of the sink: one "ph" each."""
    n = 0
    tail = b''
    with open(path, 'rb') as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                return n
            data = tail + block
            n += data.count(b'"ph":')
            # A key cut between two blocks is counted with the next one
            # (4 bytes cannot hold a whole key: none is counted twice).
            tail = data[-4:]


def _warn_cut(prof, stats, what):
    """A TraceTruncatedWarning when the sink read a trace cut off (the
    file of a stream stopped by a full disk)."""
    if stats['truncated']:
        stream = getattr(prof, '_stream', None)
        warnings.warn(_tracefile.TraceTruncatedWarning(
            '%s: %s; %s covers the events up to there'
            % (stream.path if stream is not None else 'the trace',
               stats['truncated'], what)),
            stacklevel=_tracefile._caller_level())


def to_chrome_trace(self, path, progress=None):
    """
    Writes the timeline into *path* as Chrome Trace Event JSON, to open in
    Perfetto (ui.perfetto.dev) or chrome://tracing.  Returns the number of
    trace events written.  The file appears complete or not at all.

    :warns TraceTruncatedWarning: the profiler's trace file is cut off (a
        full disk stopped its stream): the JSON holds the events up to
        the cut
    """
    with _Scratch(self) as trace:
        if progress is not None:
            progress(0, None)
        _warn_cut(self, _sinkfile.run(trace, 'chrome', path), 'the JSON')
    n = _count_trace_events(path)
    if progress is not None:
        progress(n, n)
    return n


def summary(self, sort='inclusive'):
    """
    Per function (and builtin): calls, inclusive and exclusive time (ns),
    allocations, bytes allocated and net bytes, as a DataFrame
    (see :func:`evprof.summary.summary`), computed by the library's
    summary sink.

    :warns TraceTruncatedWarning: the profiler's trace file is cut off (a
        full disk stopped its stream): the table counts the events up to
        the cut
    """
    import tempfile
    from . import _core
    from .summary import SUMMARY_COLUMNS, _SORT_KEYS, from_tsv
    if sort not in _SORT_KEYS:
        raise ValueError("unknown sort key %r (expected one of %s)"
                         % (sort, ', '.join(sorted(_SORT_KEYS))))
    with _Scratch(self) as trace:
        fd, out = tempfile.mkstemp(prefix='evprof-', suffix='.tsv')
        os.close(fd)
        try:
            got = _core.sink_run(trace, 'summary-tsv', out, sort=sort,
                                 limit=0, partial=True)
            table = from_tsv(out)
        finally:
            os.unlink(out)
    _warn_cut(self, got, 'the summary')
    # Allocations made outside any recorded call (threads not profiled):
    # named plainly, as evprof run's summary names them.
    table.loc[table['name'] == '', 'name'] = UNNAMED
    # A builtin method has no module of its own: None, as in
    # retrieve_results (the seed's _choose_mod).
    table['mod'] = table['mod'].where(table['mod'] != '', None)
    return table[SUMMARY_COLUMNS]


#: memory a DataFrame of the events takes at its peak while it is built,
#: bytes an event (numpy 1.24, pandas 1.5: convert to png 2.6 GB for 6.85
#: million events, run --plot 4.2 GB for 9.6 million and 23 GB for 48)
FRAME_PEAK_BYTES = 500


def available_memory():
    """
    Bytes the outputs may take: $EVPROF_MEMORY_LIMIT, else MemAvailable
    of /proc/meminfo; None when neither says.

    :raises ValueError: EVPROF_MEMORY_LIMIT is not a number of bytes
    """
    limit = os.environ.get('EVPROF_MEMORY_LIMIT')
    if limit:
        try:
            return int(limit)
        except ValueError:
            raise ValueError('EVPROF_MEMORY_LIMIT must be a number of '
                             'bytes, not %r' % limit) from None
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def frame_too_big(events, what):
    """
    None when the DataFrame of *events* events that *what* (the picture,
    the CSV) is made from likely fits in the memory available, else the
    sentence that says it does not: beyond that the system kills the
    process, with nothing written.
    """
    need = events * FRAME_PEAK_BYTES
    free = available_memory()
    if free is None or need <= free:
        return None
    return ('%s of %s events needs about %s of memory to make, %s are '
            'available' % (what, format(events, ','), _size(need),
                           _size(max(free, 0))))


def _size(n):
    """*n* bytes, in B, KiB, MiB, GiB or TiB."""
    if n < 1024:
        return '%d B' % n
    for unit in ('KiB', 'MiB', 'GiB', 'TiB'):
        n /= 1024
        if n < 1024 or unit == 'TiB':
            return '%.1f %s' % (n, unit)


#: the name of the summary's row of allocations outside any recorded call
UNNAMED = '(no function: threads not profiled)'


def plot(self, path, **kwargs):
    """
    Draws the call timeline as a flame chart over time and the bytes in
    use (of each allocation domain) below it into the image *path* (PNG);
    keywords go to :func:`evprof.plot.plot_timeline`.
    """
    from . import plot as _plot
    return _plot.plot_timeline(
        self.retrieve_results(thread=True, domain=True), path, **kwargs)


def attach(cls):
    """Adds the output methods to the profiler class *cls*."""
    for func in (save, to_chrome_trace, summary, plot):
        setattr(cls, func.__name__, func)
    return cls
