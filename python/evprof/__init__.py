"""
evprof: an event-timeline profiler (function calls, returns and memory
allocations, every event in order with a nanosecond timestamp) on the C
library libevprof.  A drop-in for cpyquickhelper's EventProfiler::

    from evprof import WithEventProfiler

    prof = WithEventProfiler(impl='c')
    with prof:
        work()
    print(prof.report)

Recording and saving a trace need neither numpy nor pandas: they are
imported when a DataFrame, an array or a picture is asked for, and so are
the submodules that use them (evprof.summary, evprof.chrome, evprof.plot,
evprof.timeline), on first use.
"""
from ._core import LIB_VERSION as __lib_version__
from .profiler import EventProfiler, EventProfilerDebug, WithEventProfiler
from .outputs import attach as _attach_outputs
from .tracefile import TraceFileError, TraceTruncatedWarning, load

_attach_outputs(EventProfiler)

__version__ = __lib_version__
__all__ = ['EventProfiler', 'EventProfilerDebug', 'WithEventProfiler',
           'TraceFileError', 'TraceTruncatedWarning', 'load']

_LAZY = ('chrome', 'plot', 'summary', 'timeline', 'cli', 'progress',
         'event_profiler', 'tracefile', 'outputs')


def __getattr__(name):
    # evprof.summary and the like, imported on first use.
    if name in _LAZY:
        import importlib
        return importlib.import_module('.' + name, __name__)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
