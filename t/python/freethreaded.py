"""
evprof on a free-threaded CPython (3.13t, 3.14t), with the GIL off: run by
`make check-python-versions` with the directory that holds the copy of the
package built for the interpreter (DIR/evprof); prints TAP, and skips on an
interpreter with a GIL.

  - importing evprof leaves the GIL off, without a warning;
  - 4 threads calling and allocating at once under threads=True, for each
    impl: every call, return and allocation of each thread is there, each
    allocation attributed to the function that made it, each thread's
    events in its order, nothing lost;
  - start() and stop() from other threads than the ones that run, over
    and over while 4 threads call and allocate: no crash, the hooks gone
    after each stop, events recorded;
  - the stress harness (t/python/stress.py, its start/stop storms and
    cross-thread stops) with PYTHON_GIL=0;
  - the GIL still off at the end.
"""
import array
import os
import subprocess
import sys
import sysconfig
import threading
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
CALL, RETURN = 1, 2
ALLOCS = (1000, 1001, 1002)      # malloc, calloc, realloc
NTHREADS = 4
N = 2000                          # calls (and blocks) a thread
RESULTS = []


def result(ok, what, detail=''):
    RESULTS.append(bool(ok))
    print('%s %d - %s' % ('ok' if ok else 'not ok', len(RESULTS), what))
    if not ok and detail:
        for line in str(detail).splitlines()[:30]:
            print('# ' + line)
    sys.stdout.flush()


def size_of(idx):
    """The block size of thread idx: one no other allocation has."""
    return 3000 + 16 * idx


def alloc(n):
    return bytearray(n)


def worker(idx, barrier, idents):
    idents[idx] = threading.get_ident()
    barrier.wait()
    n = size_of(idx)
    for _ in range(N):
        alloc(n)


def events(p):
    """(events as rows of 6, thread index of each, key -> object)."""
    b = p._buffer
    n = b.count()
    ev = array.array('q', bytes(48 * n))
    th = array.array('I', bytes(4 * n))
    n = b.dump(ev, th)
    reg, base = b.registry(), b.key_base()
    rows = [tuple(ev[6 * i:6 * i + 6]) for i in range(n)]
    return rows, list(th[:n]), {base + 1 + i: o for i, o in enumerate(reg)}


def check_run(impl):
    """4 threads at once under threads=True: everything of each there."""
    import evprof
    idents = [None] * NTHREADS
    barrier = threading.Barrier(NTHREADS)
    p = evprof.EventProfiler(impl=impl, threads=True, size=4096)
    p.start()
    ts = [threading.Thread(target=worker, args=(i, barrier, idents))
          for i in range(NTHREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    p.stop()
    lost = p._buffer.lost()
    rows, th, objs = events(p)
    tinfo = p._buffer.threads()
    keys = [k for k, o in objs.items()
            if getattr(o, '__code__', o) is alloc.__code__]
    problems = []
    if lost:
        problems.append('%d events lost' % lost)
    if len(keys) != 1:
        problems.append('alloc registered %d times' % len(keys))
    key = keys[0] if keys else None
    by_thread = {}
    for r, t in zip(rows, th):
        by_thread.setdefault(t, []).append(r)
    for idx, ident in enumerate(idents):
        tix = [i for i, (tid, _) in enumerate(tinfo) if tid == ident]
        if len(tix) != 1:
            problems.append('thread %d: %d records' % (idx, len(tix)))
            continue
        mine = by_thread.get(tix[0], [])
        times = [r[3] for r in mine]
        if times != sorted(times):
            problems.append('thread %d: events out of order' % idx)
        calls = rets = blocks = 0
        depth = 0
        for f, a, e, _, v1, v2 in mine:
            if f != key:
                continue
            if e == CALL:
                calls += 1
                depth += 1
                if depth != 1:
                    problems.append('thread %d: call in call' % idx)
                    break
            elif e == RETURN:
                rets += 1
                depth -= 1
                if depth != 0:
                    problems.append('thread %d: return first' % idx)
                    break
            elif e in ALLOCS and v2 == size_of(idx) + 1:
                blocks += 1
                if depth != 1:
                    problems.append('thread %d: block outside' % idx)
                    break
        if (calls, rets, blocks) != (N, N, N):
            problems.append('thread %d: %d calls, %d returns, %d blocks of '
                            'alloc, not %d each' % (idx, calls, rets, blocks,
                                                    N))
        others = [r for r in mine if r[2] in ALLOCS
                  and r[5] in [size_of(i) + 1 for i in range(NTHREADS)
                               if i != idx]]
        if others:
            problems.append('thread %d: blocks of other threads' % idx)
    result(not problems, '%s: %d threads x %d calls and blocks, all there, '
           'in order, nothing lost' % (impl, NTHREADS, N),
           '\n'.join(problems))


def check_cross_thread():
    """start() and stop() on other threads while 4 threads run."""
    import evprof
    stop = []

    def loop(idx):
        n = size_of(idx)
        while not stop:
            alloc(n)
    ts = [threading.Thread(target=loop, args=(i,)) for i in range(NTHREADS)]
    for t in ts:
        t.start()
    problems = []
    recorded = 0
    try:
        for cycle in range(40):
            p = evprof.EventProfiler(impl=('c', 'pybind11')[cycle % 2],
                                     threads=cycle % 4 < 2)
            a = threading.Thread(target=p.start)
            a.start()
            a.join()
            for _ in range(200):
                alloc(10)
            b = threading.Thread(target=p.stop)
            b.start()
            b.join()
            if p._started or evprof._core.memory_hooked():
                problems.append('cycle %d: still hooked' % cycle)
            recorded += p._buffer.count()
    finally:
        stop.append(1)
        for t in ts:
            t.join()
    if sys.getprofile() is not None:
        problems.append('a profile function left: %r' % sys.getprofile())
    if not recorded:
        problems.append('nothing recorded')
    result(not problems, 'start and stop from other threads, 40 times, '
           'while %d threads call and allocate' % NTHREADS,
           '\n'.join(problems))


def check_stress(top):
    """The stress harness's storms and cross-thread stops, GIL off."""
    env = dict(os.environ, PYTHON_GIL='0',
               EVPROF_PACKAGE_DIR=os.path.join(top, 'evprof'),
               EVPROF_STRESS_SECONDS=os.environ.get(
                   'EVPROF_STRESS_SECONDS', '1'),
               PYTHONPATH=HERE + os.pathsep + os.environ.get('PYTHONPATH',
                                                             ''))
    for only in ('storm', 'cross'):
        env['EVPROF_STRESS_ONLY'] = only
        r = subprocess.run([sys.executable, os.path.join(HERE, 'stress.py')],
                           env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True)
        result(r.returncode == 0 and 'not ok' not in r.stdout,
               'stress %s, PYTHON_GIL=0' % only, r.stdout[-3000:])


def main():
    top = os.path.abspath(sys.argv[1])
    if not sysconfig.get_config_var('Py_GIL_DISABLED'):
        print('1..0 # SKIP %s is not a free-threaded build'
              % sys.version.split()[0])
        return
    if os.environ.get('PYTHON_GIL') == '1':
        print('1..0 # SKIP PYTHON_GIL=1 turns the GIL on')
        return
    sys.path.insert(0, top)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        import evprof  # noqa: F401
    result(not sys._is_gil_enabled() and not caught,
           'import evprof leaves the GIL off, without a warning',
           [str(w.message) for w in caught])
    for impl in ('c', 'pybind11', 'python'):
        check_run(impl)
    check_cross_thread()
    check_stress(top)
    result(not sys._is_gil_enabled(), 'the GIL still off at the end')
    print('1..%d' % len(RESULTS))
    if all(RESULTS):
        print('%s free-threaded ok: %d checks, the GIL off' % (
            sys.version.split()[0], len(RESULTS)))
    sys.exit(0 if all(RESULTS) else 1)


if __name__ == '__main__':
    main()
