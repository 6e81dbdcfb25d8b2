"""
The cost of recording native allocations: a C extension
(t/python/allocext.c) unprofiled, under `evprof run --native -o`, under
`evprof run -o` (PyMem only) and under heaptrack (when installed), side
by side in one run, on two workloads:

- churn: N malloc/free pairs of 64 bytes and nothing else, the worst case
  (a pair costs the C library a few ns, less than the two timestamps of
  its events);
- records: N small records, each a node and a name of 8 to 40 characters
  written and hashed, linked and freed in batches of 1000 (two pairs a
  record), as an extension building small structures does.

Unprofiled, then again after a thread was started and joined: from the
first thread on, glibc's malloc takes its arena's lock where a process
that never had one does not, which every profiled run pays (evprof's
stream thread, heaptrack's).  For each: the time of the workload's loop
as the script itself measures it (wall, and the CPU time of its thread,
less disturbed by other processes on a shared machine, but blind to the
work of other threads and processes: evprof's stream, heaptrack's
interpreter), the whole command's wall time, its CPU time (all its
threads, user and system: what a profiler that drains on a thread of
its own hides from the loop's times) and peak RSS, medians of
EVPROF_BENCH_REPEAT (default 5) runs alternated.  Then, when
bench/bench_native_cost is built, where the time of one recorded pair
goes (forwarding, the clock, the rest).

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
if sys.argv[1:] == ['thread']:
    import threading
    t = threading.Thread(target=int)
    t.start()
    t.join()
t, c = time.perf_counter(), time.thread_time()
%(call)s
print('elapsed', time.perf_counter() - t, time.thread_time() - c)
'''

WORKLOADS = [
    ('churn', '_allocext.churn(%d, 64)' % N,
     '%d malloc/free pairs of 64 bytes' % N),
    ('records', '_allocext.records(%d, 1000)' % N,
     '%d records of a node and a name (%d pairs), filled, hashed, freed'
     % (N, 2 * N)),
]


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
    at = words.index(b'elapsed')
    return (float(words[at + 1]), float(words[at + 2]), wall,
            usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime)


def report(title, res):
    """The table of one workload: medians, ratios to unprofiled."""
    def med(key, col):
        return statistics.median(r[col] for r in res[key])
    print('bench-native: %s, medians of %d' % (title, REPEAT))
    print('  %-24s %11s %7s %10s %7s %9s %7s %8s %8s' % (
        'command', 'loop wall', 'ratio', 'loop CPU', 'ratio', 'whole run',
        'ratio', 'run CPU', 'peak RSS'))
    for key, rows in res.items():
        print('  %-24s %8.1f ms %6.2fx %7.1f ms %6.2fx %7.2f s %6.2fx '
              '%6.2f s %4.0f MiB' % (
                  key, med(key, 0) * 1e3, med(key, 0) / med('unprofiled', 0),
                  med(key, 1) * 1e3, med(key, 1) / med('unprofiled', 1),
                  med(key, 2), med(key, 2) / med('unprofiled', 2),
                  med(key, 4), max(r[3] for r in rows) / (1 << 20)))


def cost(env):
    """bench_native_cost's breakdown of one recorded pair, if built."""
    prog = os.path.join(evprof_test.BUILDDIR, 'bench', 'bench_native_cost')
    if not os.access(prog, os.X_OK):
        print('bench-native: bench/bench_native_cost not built: no '
              'breakdown')
        return
    env = dict(env, LD_PRELOAD=env['EVPROF_MALLOC_LIBRARY'])
    out = subprocess.run([prog], env=env, stdout=subprocess.PIPE,
                         text=True, check=True).stdout
    print('bench-native: ' + out.rstrip())


def main():
    env = evprof_test.subprocess_env()
    ext = os.path.join(evprof_test.BUILDDIR, 't', 'python', '.libs')
    if not os.path.isdir(ext) or not env.get('EVPROF_MALLOC_LIBRARY'):
        raise SystemExit('bench-native: build t/python/_allocext.la and '
                         'lib/libevprof-malloc.la first (make check)')
    tmp = tempfile.mkdtemp(prefix='evprof-bench-native-')
    try:
        for name, call, title in WORKLOADS:
            script = os.path.join(tmp, name + '.py')
            with open(script, 'w') as f:
                f.write(SCRIPT % {'ext': ext, 'call': call})
            res = measure(script, tmp, env)
            report(title, res)
        print('  target: --native loop at most 2x unprofiled, and below '
              'heaptrack')
        cost(env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure(script, tmp, env):
    """Each command REPEAT times, alternated: {command: [run(), ...]}."""
    py = sys.executable
    cli = [py, os.path.join(TESTS, 'run_evprof.py'), 'run', '-o',
           os.path.join(tmp, 't.evt')]
    commands = {
        'unprofiled': [py, script],
        'unprofiled, a thread run': [py, script, 'thread'],
        'evprof run --native': cli[:3] + ['--native'] + cli[3:] + [script],
        'evprof run (PyMem only)': cli + [script],
    }
    if shutil.which('heaptrack'):
        commands['heaptrack'] = ['heaptrack', '-o',
                                 os.path.join(tmp, 'ht'), py, script]
    res = {k: [] for k in commands}
    for _ in range(REPEAT):
        for key, argv in commands.items():
            res[key].append(run(argv, env))
    return res


if __name__ == '__main__':
    main()
