"""
The stress harness (`make check-stress`, not part of `make check`): each
scenario runs against the three impls in a child process for a bounded
time, and must end with exit status 0, nothing on stderr but what the
scenario expects, and the hooks in the state it checks.  Prints TAP.

    EVPROF_STRESS_SECONDS  seconds a scenario runs (default 4)
    EVPROF_STRESS_ONLY     run only the scenarios whose name contains it

Under `make check-stress ASAN=yes` the extension is the ASan+UBSan build
and every child inherits the preloaded runtime: a memory error is an
abort with a report on stderr.
"""
import os
import subprocess
import sys
import textwrap

import evprof_test

IMPLS = ('python', 'pybind11', 'c')
SECONDS = float(os.environ.get('EVPROF_STRESS_SECONDS', '4'))

PRELUDE = """
import os, sys, threading, time, signal, random, lzma, zlib
import evprof_test
evprof = evprof_test.load()
IMPL = %r
DEADLINE = time.monotonic() + %r
rnd = random.Random(os.getpid())
def running():
    return time.monotonic() < DEADLINE
def py_work():
    return sum(len(str(i)) for i in range(200))
DATA = lzma.compress(b'x' * 2000)
def gilless_work():
    lzma.decompress(DATA)
    zlib.compress(DATA * 8)
    os.getcwd()
UNDER_ASAN = 'libasan' in os.environ.get('LD_PRELOAD', '')
try:
    import numpy
except ImportError:  # an interpreter without numpy (a free-threaded one)
    numpy = None
def drain(p):
    # the events taken out: how many
    if numpy is not None:
        return len(p.retrieve_raw_results())
    import array
    n = p._buffer.count()
    return p._buffer.dump(array.array('q', bytes(48 * n)),
                          array.array('I', bytes(4 * n)))
def consistent(p):
    hooked = evprof._core.memory_hooked()
    if p._started:
        # impl='python': an exception raised inside the Python profile
        # function (a signal handler's) makes CPython remove it.
        return hooked and (sys.getprofile() is not None or IMPL == 'python')
    return (not hooked and sys.getprofile() is None
            and getattr(threading, '_profile_hook', None) is None)
def workers(n, gil=True, gilless=True):
    stop = []
    def loop(fn):
        while not stop:
            fn()
    ts = []
    for i in range(n):
        if gil:
            ts.append(threading.Thread(target=loop, args=(py_work,)))
        if gilless:
            ts.append(threading.Thread(target=loop, args=(gilless_work,)))
    for t in ts:
        t.start()
    def done():
        stop.append(1)
        for t in ts:
            t.join()
    return done
def settle(seconds=10.0):
    # Until the allocators are no profiler's: a dropped profiler that is
    # never collected (a cycle keeping it) fails here, by name.
    end = time.monotonic() + seconds
    while evprof._core.memory_hooked():
        if time.monotonic() > end:
            print('a dropped profiler still hooks the allocators')
            return
        time.sleep(0.001)
def finish(*ps):
    for p in ps:
        if p._started:
            p.stop()
    print('end', all(consistent(p) for p in ps))
"""

SCENARIOS = {
    # start/stop cycles while threads run Python and allocate without
    # the GIL, short threads come and go, and an audit hook releases the
    # GIL on sys.setprofile.
    'storm': """
        def hook(ev, args):
            if ev == 'sys.setprofile':
                time.sleep(0)
        sys.addaudithook(hook)
        done = workers(2)
        quit = []
        def spawner():
            while not quit:
                t = threading.Thread(target=py_work)
                t.start()
                t.join()
        # Two spawners: threads start and end (allocating without the
        # GIL) while start() and stop() swap the raw domain's family.
        sps = [threading.Thread(target=spawner) for _ in range(2)]
        for sp in sps:
            sp.start()
        n = 0
        while running():
            p = evprof.EventProfiler(impl=IMPL, size=rnd.choice([1, 64, 4096]),
                                     threads=rnd.random() < 0.5)
            p.start()
            py_work()
            if rnd.random() < 0.2:
                # Dropped while running: stops itself when collected.
                # A thread inside the profile function holds the
                # profiler for that call, so it may be collected there a
                # moment later: wait for that (bounded) before the next.
                del p
                settle()
                continue
            p.stop()
            if rnd.random() < 0.5:
                drain(p)
            n += 1
        quit.append(1)
        for sp in sps:
            sp.join()
        done()
        q = evprof.EventProfiler(impl=IMPL)
        finish(q)
    """,
    # Exceptions from signal handlers anywhere in start() and stop(), and
    # a handler that toggles the profiler itself.
    'signals': """
        class Hit(Exception):
            pass
        def hit(sig, frame):
            raise Hit()
        p = evprof.EventProfiler(impl=IMPL, threads=True)
        done = workers(1)
        bad = 0
        signal.signal(signal.SIGALRM, hit)
        while running():
            try:
                signal.setitimer(signal.ITIMER_REAL, rnd.uniform(1e-6, 3e-4))
                try:
                    p.stop() if p._started else p.start()
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
            except Hit:
                pass
            bad += not consistent(p)
            if rnd.random() < 0.05:
                break
        def toggle(sig, frame):
            try:
                p.stop() if p._started else p.start()
            except RuntimeError:
                pass
        signal.signal(signal.SIGALRM, toggle)
        signal.setitimer(signal.ITIMER_REAL, 1e-3, 1e-3)
        while running():
            toggle(None, None)
            py_work()
        signal.setitimer(signal.ITIMER_REAL, 0)
        done()
        print('inconsistent', bad)
        finish(p)
    """,
    # fork() while profiling, from a thread or the main thread; children
    # profile themselves, or exit at once.
    'fork': """
        import warnings
        # 3.12+ warns of any fork() with threads running: that is the case.
        warnings.filterwarnings('ignore', 'This process .* is multi-threaded',
                                DeprecationWarning)
        p = evprof.EventProfiler(impl=IMPL, threads=True)
        p.start()
        # Under ASan, no thread allocating without the GIL at the fork:
        # the sanitizer's allocator keeps its locks across fork(), and
        # the child can hang in it (gdb: Quarantine::Drain in the child).
        done = workers(1, gilless=not UNDER_ASAN)
        bad = 0
        while running():
            pid = os.fork()
            if pid == 0:
                ok = consistent(p)
                if rnd.random() < 0.5:
                    q = evprof.EventProfiler(impl=IMPL)
                    q.start()
                    py_work()
                    q.stop()
                    ok = ok and drain(q) > 0
                os._exit(0 if ok else 7)
            _, st = os.waitpid(pid, 0)
            bad += st != 0
        done()
        print('children failed', bad)
        finish(p)
    """,
    # multiprocessing workers, fork and spawn, under a profiling parent.
    'pool': """
        import multiprocessing
        p = evprof.EventProfiler(impl=IMPL, threads=True)
        p.start()
        res = set()
        while running():
            for method in ('fork', 'spawn'):
                ctx = multiprocessing.get_context(method)
                with ctx.Pool(2) as pool:
                    res |= set(pool.map(os.getpid().__class__, range(20)))
        print('results', len(res) == 20)
        finish(p)
    """,
    # stop() from another thread than start(), and profilers of two
    # threads at once (one profiler a thread).
    'cross': """
        done = workers(1, gilless=True)
        p = evprof.EventProfiler(impl=IMPL)  # finished when no cycle ran
        while running():
            p = evprof.EventProfiler(impl=IMPL)
            p.start()
            t = threading.Thread(target=p.stop)
            t.start()
            t.join()
            ps = []
            def own():
                q = evprof.EventProfiler(impl=IMPL, memory=False)
                q.start()
                py_work()
                q.stop()
                ps.append(q)
            ts = [threading.Thread(target=own) for _ in range(2)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
        done()
        finish(p)
    """,
}

EXPECTED = {
    'storm': 'end True\n',
    'signals': 'inconsistent 0\nend True\n',
    'fork': 'children failed 0\nend True\n',
    'pool': 'results True\nend True\n',
    'cross': 'end True\n',
}


def main():
    only = os.environ.get('EVPROF_STRESS_ONLY', '')
    cases = [(name, impl) for name in SCENARIOS if only in name
             for impl in IMPLS]
    print('1..%d' % len(cases), flush=True)
    failed = 0
    for i, (name, impl) in enumerate(cases, 1):
        code = PRELUDE % (impl, SECONDS) + textwrap.dedent(SCENARIOS[name])
        try:
            r = subprocess.run([sys.executable, '-X', 'faulthandler', '-c',
                                code], env=evprof_test.subprocess_env(),
                               capture_output=True, text=True,
                               timeout=SECONDS * 10 + 120)
            ok = (r.returncode == 0 and r.stdout == EXPECTED[name]
                  and r.stderr == '')
            detail = r
        except subprocess.TimeoutExpired as e:
            ok, detail = False, e
        print('%s %d - %s %s' % ('ok' if ok else 'not ok', i, name, impl),
              flush=True)
        if not ok:
            failed += 1
            for line in ('rc=%s' % getattr(detail, 'returncode', 'timeout'),
                         'stdout: %r' % (detail.stdout or '')[-500:],
                         'stderr: %s' % (detail.stderr or '')[-3000:]):
                for part in str(line).splitlines():
                    print('# ' + part)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
