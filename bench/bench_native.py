"""
The cost of recording native allocations: a C extension doing N
malloc/free pairs (t/python/allocext.c), unprofiled, under `evprof run
--native -o`, under `evprof run -o` (PyMem only) and under heaptrack
(when installed), side by side in one run.  For each: the time of the
malloc loop as the script itself measures it, and the whole command's
wall time and peak RSS, medians of EVPROF_BENCH_REPEAT (default 5) runs
alternated.

Run with `make bench-native`, or by hand:

    EVPROF_SRCDIR=. EVPROF_BUILDDIR=. python3 bench/bench_native.py
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(HERE, '..', 't', 'python')
sys.path.insert(0, TESTS)
import evprof_test  # noqa: E402

REPEAT = int(os.environ.get('EVPROF_BENCH_REPEAT', '5'))
N = int(os.environ.get('EVPROF_BENCH_MALLOCS', '1000000'))

SCRIPT = '''\
import sys, time
sys.path.insert(0, %(ext)r)
import _allocext
t = time.perf_counter()
_allocext.churn(%(n)d, 64)
print('elapsed', time.perf_counter() - t)
'''


def run(argv, env):
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    out = proc.stdout.read()
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit('bench-native: %s failed' % ' '.join(argv))
    words = out.split()
    loop = float(words[words.index(b'elapsed') + 1])
    return loop, wall, usage.ru_maxrss * 1024


def main():
    env = evprof_test.subprocess_env()
    ext = os.path.join(evprof_test.BUILDDIR, 't', 'python', '.libs')
    if not os.path.isdir(ext) or not env.get('EVPROF_MALLOC_LIBRARY'):
        raise SystemExit('bench-native: build t/python/_allocext.la and '
                         'lib/libevprof-malloc.la first (make check)')
    tmp = tempfile.mkdtemp(prefix='evprof-bench-native-')
    try:
        script = os.path.join(tmp, 'churn.py')
        with open(script, 'w') as f:
            f.write(SCRIPT % {'ext': ext, 'n': N})
        py = sys.executable
        cli = [py, os.path.join(TESTS, 'run_evprof.py'), 'run', '-o',
               os.path.join(tmp, 't.evt')]
        commands = {
            'unprofiled': [py, script],
            'evprof run --native': cli[:3] + ['--native'] + cli[3:]
            + [script],
            'evprof run (PyMem only)': cli + [script],
        }
        if shutil.which('heaptrack'):
            commands['heaptrack'] = ['heaptrack', '-o',
                                     os.path.join(tmp, 'ht'), py, script]
        res = {k: [] for k in commands}
        for _ in range(REPEAT):
            for key, argv in commands.items():
                res[key].append(run(argv, env))
        base = statistics.median(r[0] for r in res['unprofiled'])
        wbase = statistics.median(r[1] for r in res['unprofiled'])
        print('bench-native: %d malloc/free pairs of 64 bytes in a C '
              'extension, medians of %d' % (N, REPEAT))
        print('  %-26s %14s %8s %12s %8s %9s' % (
            'command', 'malloc loop', 'ratio', 'whole run', 'ratio',
            'peak RSS'))
        for key, rows in res.items():
            loop = statistics.median(r[0] for r in rows)
            wall = statistics.median(r[1] for r in rows)
            rss = max(r[2] for r in rows)
            print('  %-26s %12.1f ms %7.2fx %10.2f s %7.2fx %6.0f MiB' % (
                key, loop * 1e3, loop / base, wall, wall / wbase,
                rss / (1 << 20)))
        print('  target: --native loop at most 2x unprofiled, and below '
              'heaptrack')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
