"""
evprof: an event-timeline profiler (function calls, returns and memory
allocations, every event in order with a nanosecond timestamp) on the C
library libevprof.  A drop-in for cpyquickhelper's EventProfiler::

    from evprof import WithEventProfiler

    prof = WithEventProfiler(impl='c')
    with prof:
        work()
    print(prof.report)
"""
from ._core import LIB_VERSION as __lib_version__
from .profiler import EventProfiler, EventProfilerDebug, WithEventProfiler
from .outputs import attach as _attach_outputs
from .tracefile import TraceFileError, load

_attach_outputs(EventProfiler)

__version__ = __lib_version__
__all__ = ['EventProfiler', 'EventProfilerDebug', 'WithEventProfiler',
           'TraceFileError', 'load']
