"""
The cost of recording numpy's array data: a numpy-heavy workload (small
arrays made, added and dropped, and some large ones) unprofiled, profiled
with numpy's data (memory=('mem', 'obj', 'numpy')) and without it
(memory=('mem', 'obj')), alternated in one process, medians of
EVPROF_BENCH_REPEAT (default 3) runs.  The target: numpy's data on costs
at most 1.3x the same run with it off.

Run with `make bench-numpy` (part of `make bench`), or by hand:

    EVPROF_SRCDIR=. EVPROF_BUILDDIR=. python3 bench/bench_numpy.py
"""
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 't', 'python'))
import evprof_test  # noqa: E402

REPEAT = int(os.environ.get('EVPROF_BENCH_REPEAT', '3'))
SMALL = int(os.environ.get('EVPROF_BENCH_ARRAYS', '200000'))


def workload(numpy):
    total = 0.0
    for i in range(SMALL):
        a = numpy.arange(64.0)
        b = a * 2.0 + i
        total += b.sum()
    for _ in range(20):
        big = numpy.ones(1 << 18)
        big = big + big
        total += big[0]
    return total


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    try:
        import numpy
    except ImportError:
        print('bench-numpy: SKIP, numpy is not installed')
        return
    evprof = evprof_test.load()

    def profiled(memory):
        def run():
            p = evprof.EventProfiler(impl='c', memory=memory)
            p.start()
            workload(numpy)
            p.stop()
            events = len(p.retrieve_raw_results())
            return events
        return run

    cases = {
        'unprofiled': lambda: workload(numpy),
        "numpy data on  memory=('mem', 'obj', 'numpy')":
            profiled(('mem', 'obj', 'numpy')),
        "numpy data off memory=('mem', 'obj')": profiled(('mem', 'obj')),
    }
    res = {k: [] for k in cases}
    workload(numpy)
    for i in range(REPEAT):
        keys = list(cases) if i % 2 == 0 else list(cases)[::-1]
        for k in keys:
            res[k].append(timed(cases[k]))
    med = {k: statistics.median(v) for k, v in res.items()}
    base = med['unprofiled']
    print('numpy workload: %d small arrays (64 doubles, made, added, '
          'summed, dropped), 20 of 2 MiB; medians of %d, alternated'
          % (SMALL, REPEAT))
    for k, v in med.items():
        print('  %-48s %8.1f ms  %5.2fx unprofiled' % (k, v * 1e3, v / base))
    on, off = list(med.values())[1:]
    ratio = on / off
    print('  numpy data on / off: %.2fx (target <= 1.3: %s)'
          % (ratio, 'met' if ratio <= 1.3 else 'NOT met'))


if __name__ == '__main__':
    main()
