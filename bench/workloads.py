"""
The workloads of the Python benchmarks (bench_python.py,
bench_monitoring.py), plain Python for any interpreter from 3.8 on, numpy
or not: call-heavy, builtin-heavy, allocation-heavy.
"""


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
