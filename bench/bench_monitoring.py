"""
The backends of impl 'c' side by side on one interpreter: sys.monitoring
(3.12, 3.13), the profile function, a C profile function that does
nothing (the floor), and cProfile; the C core alone, so no numpy needed:

    make check-python-versions PYTHONS=python3.12   # builds the core
    python3.12 bench/bench_monitoring.py python-versions/3.12

Each workload runs REPEAT times (EVPROF_BENCH_REPEAT, 7), the profilers
alternated; the table gives the median time over the unprofiled median.
"""
import cProfile
import gc
import os
import statistics
import sys
import time

sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else '.')
import _core  # noqa: E402

REPEAT = int(os.environ.get('EVPROF_BENCH_REPEAT', '7'))


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def call_heavy():
    fib(22)


def builtin_heavy():
    data = list(range(200))
    total = 0
    for _ in range(400):
        for x in data:
            total += abs(x) + len(data) + min(x, 3)
    return total


class Evprof:
    def __init__(self, backend):
        self.backend = backend

    def start(self):
        self.p = _core.Profiler(1000000, backend=self.backend)
        self.p.begin(object(), sys._getframe(), None, None, False, True)

    def stop(self):
        self.p.end(None)
        self.p = None


class Floor:
    def start(self):
        _core._null_profiler_start()

    def stop(self):
        _core._null_profiler_stop()


class CProfile:
    def start(self):
        self.p = cProfile.Profile()
        self.p.enable()

    def stop(self):
        self.p.disable()
        self.p = None


class Null:
    def start(self):
        pass

    def stop(self):
        pass


def main():
    profilers = [('none', Null()), ('floor', Floor())]
    if _core.Profiler(1).backend == 'monitoring':
        profilers.append(('evprof monitoring', Evprof('monitoring')))
    profilers += [('evprof profile', Evprof('profile')),
                  ('cProfile', CProfile())]
    print('Python', sys.version.split()[0], '- median of', REPEAT,
          'alternated runs, time / unprofiled time')
    for wname, work in [('fib(22)', call_heavy),
                        ('builtin loop', builtin_heavy)]:
        times = {n: [] for n, _ in profilers}
        for _ in range(REPEAT):
            for n, prof in profilers:
                gc.collect()
                prof.start()
                t0 = time.perf_counter()
                work()
                t1 = time.perf_counter()
                prof.stop()
                times[n].append(t1 - t0)
        base = statistics.median(times['none'])
        print('  %-13s' % wname + '  '.join(
            '%s %.2fx' % (n, statistics.median(t) / base)
            for n, t in times.items() if n != 'none'),
            ' (unprofiled %.1f ms)' % (base * 1e3))


main()
