"""
The outputs of an :class:`EventProfiler`, as methods: ``save`` (the trace
file), ``to_chrome_trace`` (Perfetto / chrome://tracing JSON),
``summary`` (per function DataFrame) and ``plot`` (PNG).  They read the
events as :meth:`EventProfiler.retrieve_results` does (moving what the C
buffer holds first) and leave the profiler usable.
"""
import os
import threading

from . import chrome as _chrome
from . import plot as _plot
from . import summary as _summary
from . import tracefile as _tracefile


def live_thread_names():
    """dict ident -> name of the Python threads alive now."""
    names = {t.ident: t.name for t in threading.enumerate()
             if t.ident is not None}
    main = threading.main_thread()
    if main.ident is not None:
        names[main.ident] = main.name
    return names


def save(self, path, progress=None):
    """
    Writes the events and the name tables into the trace file *path*
    (doc/trace-format.md); :func:`evprof.load` gives the DataFrame back.

    :param progress: called with the number of events written, or None
    """
    if getattr(self, '_stream', None) is not None:
        return self._stream.copy_to(path)  # already a trace file
    _tracefile.save_profiler(self, path, progress=progress,
                             names_of_threads=live_thread_names())


def to_chrome_trace(self, path, progress=None):
    """
    Writes the timeline into *path* as Chrome Trace Event JSON, to open in
    Perfetto (ui.perfetto.dev) or chrome://tracing.  Returns the number of
    trace events written.
    """
    df = self.retrieve_results(thread=True)
    return _chrome.write_chrome_trace(df, path, pid=os.getpid(),
                                      thread_names=live_thread_names(),
                                      progress=progress)


def summary(self, sort='inclusive'):
    """
    Per function (and builtin): calls, inclusive and exclusive time (ns),
    allocations, bytes allocated and net bytes, as a DataFrame
    (see :func:`evprof.summary.summary`).
    """
    return _summary.summary(self.retrieve_results(thread=True), sort=sort)


def plot(self, path, **kwargs):
    """
    Draws the call timeline as a flame chart over time and the bytes in
    use below it into the image *path* (PNG); keywords go to
    :func:`evprof.plot.plot_timeline`.
    """
    kwargs.setdefault('thread_names', live_thread_names())
    return _plot.plot_timeline(self.retrieve_results(thread=True), path,
                               **kwargs)


def attach(cls):
    """Adds the output methods to the profiler class *cls*."""
    for func in (save, to_chrome_trace, summary, plot):
        setattr(cls, func.__name__, func)
    return cls
