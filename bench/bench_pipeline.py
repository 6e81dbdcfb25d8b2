"""
What a user waits for, end to end, on a recursive fib program: recording
with `evprof run -o`, then `report` and `convert` of the trace it wrote,
each beside its reference measured in the same run (cProfile for the
recording, `cat` for reading the trace), with wall time and peak RSS
(the child's ru_maxrss, as /usr/bin/time -v gives it); the sizes of the
files per event; `start(); fib(22); stop()` against cProfile's
`enable(); fib(22); disable()` alternated in one process; and what the
in-memory profiler holds per event after stop.

Run with `make bench-pipeline`, or by hand:

    EVPROF_SRCDIR=. EVPROF_BUILDDIR=. python3 bench/bench_pipeline.py

EVPROF_BENCH_FIB (default "30 35") gives the sizes of fib to run,
EVPROF_BENCH_REPEAT (default 3) the runs of each command (medians).
Targets are printed beside each figure; nothing here fails on a target.
"""
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(HERE, '..', 't', 'python')
sys.path.insert(0, TESTS)
import evprof_test  # noqa: E402

MIB = 1 << 20
REPEAT = int(os.environ.get('EVPROF_BENCH_REPEAT', '3'))
SIZES = [int(x) for x in
         os.environ.get('EVPROF_BENCH_FIB', '30 35').split()]

FIB = '''\
import sys


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


print(fib(int(sys.argv[1])))
'''

BLOCK = r'''
import cProfile, statistics, sys, time
sys.path.insert(0, %(tests)r)
import evprof_test
evprof = evprof_test.load()


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def ours():
    p = evprof.EventProfiler(impl='c')
    t0 = time.perf_counter()
    p.start()
    fib(22)
    p.stop()
    return time.perf_counter() - t0


def theirs():
    p = cProfile.Profile()
    t0 = time.perf_counter()
    p.enable()
    fib(22)
    p.disable()
    return time.perf_counter() - t0


a, b, r = [], [], []
for i in range(%(n)d):
    if i %% 2:
        a.append(ours()); b.append(theirs())
    else:
        b.append(theirs()); a.append(ours())
    r.append(a[-1] / b[-1])
print(statistics.median(a), statistics.median(b), statistics.median(r))
'''

HELD = r'''
import gc, sys
sys.path.insert(0, %(tests)r)
import evprof_test
evprof = evprof_test.load()


def rss():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * 4096


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


p = evprof.EventProfiler(impl='c')
gc.collect()
before = rss()
p.start()
fib(%(n)d)
p.stop()
gc.collect()
held = rss() - before
n = len(p.retrieve_raw_results())
print(held, n)
'''


def child(argv, stdout=subprocess.DEVNULL, env=None):
    """Runs argv; returns (wall seconds, peak RSS bytes, (user, system)
    CPU seconds)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE,
                            env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read()
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.stderr.write(err.decode(errors='replace'))
        raise SystemExit('bench-pipeline: %s failed (%d)'
                         % (' '.join(argv), proc.returncode))
    return wall, usage.ru_maxrss * 1024, (usage.ru_utime, usage.ru_stime)


def trace_events(path):
    """The event count in the END section (last 24 bytes of the file)."""
    with open(path, 'rb') as f:
        f.seek(-24, os.SEEK_END)
        return struct.unpack('<QQQ', f.read(24))[0]


def medians(commands, repeat):
    """Runs each command `repeat` times, interleaved; the medians of the
    wall times, the peak RSS, and (in CPU) the medians of the user and
    system times."""
    walls = {k: [] for k in commands}
    cpus = {k: [] for k in commands}
    rss = {k: 0 for k in commands}
    for _ in range(repeat):
        for key, argv in commands.items():
            wall, peak, cpu = child(argv, env=ENV)
            walls[key].append(wall)
            cpus[key].append(cpu)
            rss[key] = max(rss[key], peak)
    for key, v in cpus.items():
        CPU[key] = tuple(statistics.median(x[i] for x in v) for i in (0, 1))
    return {k: statistics.median(v) for k, v in walls.items()}, rss


def row(what, value, reference, target):
    print('  %-40s %-30s %-30s %s' % (what, value, reference, target))


def pipeline(tmp, n):
    script = os.path.join(tmp, 'fibw.py')
    with open(script, 'w') as f:
        f.write(FIB)
    evt = os.path.join(tmp, 'fib%d.evt' % n)
    py = sys.executable
    cli = [py, os.path.join(TESTS, 'run_evprof.py')]
    repeat = REPEAT if n <= 30 else 1
    wall, rss = medians({
        'cprofile': [py, '-m', 'cProfile', '-o',
                     os.path.join(tmp, 'c.prof'), script, str(n)],
        'run': cli + ['run', '-o', evt, script, str(n)],
        'plain': [py, script, str(n)],
    }, repeat)
    events = trace_events(evt)
    size = os.path.getsize(evt)
    print('fib(%d): %d events, trace %.1f MiB, medians of %d'
          % (n, events, size / MIB, repeat))
    row('evprof run -o t.evt',
        '%.2f s, %.0f MiB' % (wall['run'], rss['run'] / MIB),
        'cProfile -o: %.2f s, %.0f MiB' % (wall['cprofile'],
                                           rss['cprofile'] / MIB),
        '<= 3x, <= 100 MiB: %.1fx %s' % (
            wall['run'] / wall['cprofile'],
            'met' if wall['run'] <= 3 * wall['cprofile']
            and rss['run'] <= 100 * MIB else 'NOT met'))
    row('  (the program unprofiled)', '%.2f s' % wall['plain'], '', '')
    outs = {
        'report': cli + ['report', evt],
        'convert chrome': cli + ['convert', evt, '--format', 'chrome',
                                 '-o', os.path.join(tmp, 't.json')],
        'convert perfetto': cli + ['convert', evt, '--format', 'perfetto',
                                   '-o', os.path.join(tmp, 't.pftrace')],
        'cat': ['cat', evt],
    }
    wall, rss = medians(outs, repeat)
    for key in ('report', 'convert chrome', 'convert perfetto'):
        rate = events / wall[key]
        row('evprof ' + key, '%.2f s, %.1fM ev/s, %.0f MiB'
            % (wall[key], rate / 1e6, rss[key] / MIB),
            'cat: %.2f s (%.1fx)' % (wall['cat'], wall[key] / wall['cat']),
            '>= 20M ev/s, <= 100 MiB: %s' % (
                'met' if rate >= 20e6 and rss[key] <= 100 * MIB
                else 'NOT met'))
        # Where the time went: formatting (user) or the kernel's writes.
        row('  (CPU)', 'user %.2f s, system %.2f s' % CPU[key], '', '')
    # The floor of a convert: writing a file of its output's size, in
    # the same run (the disk, not the sink, bounds a large JSON).
    for key, out in (('convert chrome', 't.json'),
                     ('convert perfetto', 't.pftrace')):
        path = os.path.join(tmp, out)
        mib = max(1, os.path.getsize(path) // MIB)
        floor, _ = medians({'dd': ['dd', 'if=/dev/zero',
                                   'of=' + path + '.dd', 'bs=1M',
                                   'count=%d' % mib]}, repeat)
        os.unlink(path + '.dd')
        row('  (writing %d MiB, %s\'s output)' % (mib, key),
            '%.2f s' % floor['dd'],
            '%s: %.1fx of it' % (key, wall[key] / floor['dd']), '')
    for name, path, target in (
            ('evprof file', evt, 24),
            ('Perfetto file', os.path.join(tmp, 't.pftrace'), 16),
            ('Chrome JSON', os.path.join(tmp, 't.json'), None)):
        per = os.path.getsize(path) / events
        row(name, '%.1f B/event' % per, '',
            '<= %d: %s' % (target, 'met' if per <= target else 'NOT met')
            if target else '')
    for path in (evt, os.path.join(tmp, 't.json'),
                 os.path.join(tmp, 't.pftrace')):
        os.unlink(path)


def block():
    # 41 pairs, each in alternating order: the medians, and the median of
    # each pair's ratio (a shared machine's load drifts between pairs).
    out = subprocess.run([sys.executable, '-c', BLOCK % {
        'tests': TESTS, 'n': 41}], env=ENV, check=True,
        stdout=subprocess.PIPE, text=True).stdout.split()
    ours, theirs, ratio = float(out[0]), float(out[1]), float(out[2])
    row('start(); fib(22); stop()', '%.2f ms' % (ours * 1e3),
        'cProfile: %.2f ms' % (theirs * 1e3),
        'no slower: %.2fx (pairs: %.2fx) %s' % (
            ours / theirs, ratio,
            'met' if ours <= theirs and ratio <= 1 else 'NOT met'))


def held():
    # About 100k, 500k, 1.3M and 5.4M events.
    for n in (22, 25, 27, 30):
        out = subprocess.run([sys.executable, '-c', HELD % {
            'tests': TESTS, 'n': n}], env=ENV, check=True,
            stdout=subprocess.PIPE, text=True).stdout.split()
        nbytes, events = int(out[0]), int(out[1])
        per = nbytes / max(events, 1)
        row('held after stop, fib(%d), %d events' % (n, events),
            '%.1f B/event' % per, '',
            '<= 50: %s' % ('met' if per <= 50 else 'NOT met'))


ENV = evprof_test.subprocess_env()
CPU = {}  # command -> medians (user, system) of its last medians() run


def main():
    tmp = tempfile.mkdtemp(prefix='evprof-bench-')
    try:
        print('bench-pipeline: %s, %d cores' % (
            sys.version.split()[0], os.cpu_count() or 1))
        row('figure', 'evprof', 'reference (same run)', 'target')
        for n in SIZES:
            pipeline(tmp, n)
        print('blocks and memory:')
        block()
        held()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
