"""
WithEventProfiler (a profiled block) and EventProfilerDebug (events
logged by hand, no hook), on EventProfiler (python/evprof/profiler.py).
"""
import sys

from ._profiler_state import _gate
from .profiler import EventProfiler


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
