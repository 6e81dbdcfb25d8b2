"""
The workloads of the Python benchmarks (bench_python.py,
bench_monitoring.py), plain Python for any interpreter from 3.8 on, numpy
or not: call-heavy, builtin-heavy, allocation-heavy; and the baseline,
cProfile and the timing of one run that both use.
"""
import cProfile
import gc
import time


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


def alloc_heavy():
    out = []
    for i in range(50000):
        out.append([i, str(i), {'k': i}])
    return len(out)


WORKLOADS = [('call', call_heavy), ('builtin', builtin_heavy),
             ('alloc', alloc_heavy)]


# ---- what both benchmarks time around the workloads ----------------------

class Null:
    """No profiler: the unprofiled baseline."""

    def start(self):
        pass

    def stop(self):
        pass


class CProfile:
    def start(self):
        self.prof = cProfile.Profile()
        self.prof.enable()

    def stop(self):
        self.prof.disable()
        self.prof = None


def measure(prof, work):
    """Seconds of work() alone, prof started before and stopped after."""
    gc.collect()
    prof.start()
    t0 = time.perf_counter()
    work()
    t1 = time.perf_counter()
    prof.stop()
    return t1 - t0
