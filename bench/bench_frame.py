"""
What building the DataFrame costs beyond the frame itself, per event, on a
recursive fib: `evprof.load()` of a trace written by `evprof run -o`, and
`retrieve_results()` of an in-memory profiler.  Each is measured in a
child of its own: the peak RSS (VmHWM) minus the RSS before (pandas
imported; for the profiler, after stop(), so that the events it holds
are left out) minus the frame's own memory (`memory_usage(deep=False)`:
its columns; the str columns' objects are the few distinct names, shared
by every row), divided by the events; and the time the frame took.

Run with `make bench-pipeline`, or by hand:

    EVPROF_SRCDIR=. EVPROF_BUILDDIR=. python3 bench/bench_frame.py

EVPROF_BENCH_FRAME_FIB (default "27 30") gives the sizes of fib.  The
target (at most 100 bytes an event) is printed beside each figure;
nothing here fails on it.
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(HERE, '..', 't', 'python')
sys.path.insert(0, TESTS)
import evprof_test  # noqa: E402

SIZES = [int(x) for x in
         os.environ.get('EVPROF_BENCH_FRAME_FIB', '27 30').split()]
TARGET = 100

FIB = '''\
import sys


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


fib(int(sys.argv[1]))
'''

CHILD = r'''
import sys, time
sys.path.insert(0, %(tests)r)
import evprof_test
import pandas  # noqa: F401 (in the RSS before)
evprof = evprof_test.load()


def status(key):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


if %(live)r:
    p = evprof.EventProfiler()
    p.start()
    fib(%(n)d)
    p.stop()
    before = status('VmRSS')
    t0 = time.perf_counter()
    df = p.retrieve_results()
else:
    before = status('VmRSS')
    t0 = time.perf_counter()
    df = evprof.load(%(path)r)
took = time.perf_counter() - t0
print(status('VmHWM') - before, int(df.memory_usage(deep=False).sum()),
      len(df), took)
'''


def measure(n, live, path):
    out = subprocess.run([sys.executable, '-c', CHILD % {
        'tests': TESTS, 'n': n, 'live': live, 'path': path}],
        env=evprof_test.subprocess_env(), check=True,
        stdout=subprocess.PIPE, text=True).stdout.split()
    peak, frame, events, took = (int(out[0]), int(out[1]), int(out[2]),
                                 float(out[3]))
    beyond = (peak - frame) / max(events, 1)
    print('  %-44s %-34s %s' % (
        '%s, fib(%d), %d events' % (
            'retrieve_results()' if live else 'evprof.load()', n, events),
        '%.1f B/event beyond the frame, %.2f s' % (beyond, took),
        '<= %d: %s (frame %.1f B/event)' % (
            TARGET, 'met' if beyond <= TARGET else 'NOT met',
            frame / max(events, 1))))


def main():
    tmp = tempfile.mkdtemp(prefix='evprof-bench-')
    try:
        print('bench-frame: %s, peak RSS building the DataFrame'
              % sys.version.split()[0])
        script = os.path.join(tmp, 'fib.py')
        with open(script, 'w') as f:
            f.write(FIB)
        for n in SIZES:
            path = os.path.join(tmp, 'fib%d.evt' % n)
            subprocess.run([sys.executable,
                            os.path.join(TESTS, 'run_evprof.py'), 'run',
                            '-o', path, script, str(n)],
                           env=evprof_test.subprocess_env(), check=True,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            measure(n, False, path)
            measure(n, True, path)
            os.unlink(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
