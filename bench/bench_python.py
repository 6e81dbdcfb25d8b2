"""
Benchmark of the evprof Python profiler against the floor (a C profile
function that does nothing), cProfile, tracemalloc and yappi (when
importable), side by side in one process.

For each workload (call-heavy, builtin-heavy, allocation-heavy) and each
profiler, the workload runs REPEAT times, the profilers interleaved; the
table gives the median time and its ratio to the unprofiled time and to
the floor.  Run with `make bench`, or by hand:

    EVPROF_SRCDIR=. EVPROF_BUILDDIR=. python3 bench/bench_python.py
"""
import os
import statistics
import sys
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 't', 'python'))
sys.path.insert(0, HERE)
import evprof_test  # noqa: E402
from workloads import WORKLOADS, CProfile, Null, measure  # noqa: E402

evprof = evprof_test.load()

try:
    import yappi
except ImportError:  # pragma: no cover
    yappi = None

REPEAT = int(os.environ.get('EVPROF_BENCH_REPEAT', '7'))


# ---- profilers: (start, stop) pairs -------------------------------------


class Floor:
    def start(self):
        evprof._core._null_profiler_start()

    def stop(self):
        evprof._core._null_profiler_stop()


class ClockFloor:
    def start(self):
        evprof._core._clock_profiler_start()

    def stop(self):
        evprof._core._null_profiler_stop()


class Evprof:
    def __init__(self, impl, memory=True):
        self.impl = impl
        self.memory = memory
        self.prof = None

    def start(self):
        self.prof = evprof.EventProfiler(impl=self.impl, memory=self.memory)
        self.prof.start()

    def stop(self):
        self.prof.stop()
        self.events = len(self.prof.retrieve_raw_results(empty_cache=False))
        self.prof = None


class TraceMalloc:
    def start(self):
        tracemalloc.start()

    def stop(self):
        tracemalloc.stop()


class Yappi:
    def start(self):
        yappi.clear_stats()
        yappi.set_clock_type('wall')
        yappi.start(builtins=True)

    def stop(self):
        yappi.stop()
        yappi.clear_stats()


def profilers():
    out = [('none', Null()), ('floor (C no-op hook)', Floor()),
           ('floor + clock read (C hook)', ClockFloor()),
           ("evprof impl='c'", Evprof('c')),
           ("evprof impl='c' memory=False", Evprof('c', memory=False)),
           ("evprof impl='pybind11'", Evprof('pybind11')),
           ("evprof impl='python'", Evprof('python')),
           ('cProfile', CProfile()), ('tracemalloc', TraceMalloc())]
    if yappi is not None:
        out.append(('yappi (builtins)', Yappi()))
    return out


def main():
    profs = profilers()
    print("evprof %s, Python %s, clock %s, median of %d runs"
          % (evprof.__version__, sys.version.split()[0],
             evprof._core.clock_name(), REPEAT))
    for wname, work in WORKLOADS:
        times = {name: [] for name, _ in profs}
        work()  # warm up
        for r in range(REPEAT):
            # Rotate the order so that no profiler always runs first.
            order = profs[r % len(profs):] + profs[:r % len(profs)]
            for name, prof in order:
                times[name].append(measure(prof, work))
        base = statistics.median(times['none'])
        floor = statistics.median(times['floor (C no-op hook)'])
        print()
        print("workload %-23s %12s %8s %8s %10s"
              % (wname, 'median ms', 'x none', 'x floor', 'events'))
        for name, prof in profs:
            med = statistics.median(times[name])
            events = getattr(prof, 'events', None)
            print("  %-32s %10.2f %8.2f %8.2f %10s"
                  % (name, med * 1e3, med / base, med / floor,
                     '' if events is None else events))
            if events is not None:
                del prof.events
    return 0


if __name__ == '__main__':
    sys.exit(main())
