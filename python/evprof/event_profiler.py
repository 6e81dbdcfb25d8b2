"""
The seed's module path: code written for cpyquickhelper imports
``EventProfilerDebug`` from ``cpyquickhelper.profiling.event_profiler``;
``evprof.event_profiler`` gives the same three classes (the very objects
of :mod:`evprof`).
"""
from .profiler import EventProfiler, EventProfilerDebug, WithEventProfiler

__all__ = ['EventProfiler', 'EventProfilerDebug', 'WithEventProfiler']
