"""
A small program to profile (the quick start of the README):

    python3 -m evprof run -o fib.json examples/fib_alloc.py 18

It computes Fibonacci numbers recursively (nested calls), sleeps (a
builtin call that takes time), and builds and drops lists (allocations
and frees), so that every track of the timeline has something on it.
"""
import sys
import time


def fib(n):
    """Fibonacci, recursively: a deep tree of calls."""
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def allocate(n):
    """Builds n lists of growing size, keeps half of them."""
    kept = []
    for i in range(n):
        block = [i] * (i * 100)
        if i % 2 == 0:
            kept.append(block)
    return kept


def main(argv):
    n = int(argv[1]) if len(argv) > 1 else 15
    kept = allocate(20)
    time.sleep(0.01)
    value = fib(n)
    del kept
    time.sleep(0.005)
    print('fib(%d) = %d' % (n, value))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
