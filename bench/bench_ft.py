"""
Scaling on a free-threaded CPython (3.13t, 3.14t): events recorded a second
by 1, 2 and 4 threads that call and allocate at once, profiled with
EventProfiler(impl='c', threads=True), the GIL off; and the same work
unprofiled, for what the interpreter itself gives.  Every run counts its
events against what its threads did (nothing may be lost).

    python3.14t bench/bench_ft.py python-versions/3.14t [runs]

(`make bench-python` builds the core for each free-threaded interpreter
under /opt/evprof-py and runs this.)  Runs of 1 and 2 threads alternate,
one process, medians; a loaded machine gives no scaling figure (2 threads
need 2 idle cores): the load average is printed beside it, and the events
a CPU second of the threads, which fall when threads contend whatever the
load.  `chrt -f 1` (a real-time priority, for the seconds it runs) gives
the threads their cores on a busy machine.
"""
import os
import statistics
import sys
import sysconfig
import threading
import time

CALLS = 40000        # calls of leaf() a thread a run
EVERY = 4            # one block allocated every EVERY calls
SIZE = 2000          # bytes a block: one realloc event each (bytearray)


def leaf(x):
    return x + 1


def block(n):
    return bytearray(n)


def work(calls):
    s = 0
    for i in range(calls):
        s += leaf(i)
        if i % EVERY == 0:
            block(SIZE)
    return s


def run(nthreads, profiled):
    """(seconds, CPU seconds of the threads, events recorded, events the
    threads made) of one run."""
    import evprof
    barrier = threading.Barrier(nthreads + 1)
    done, cpu = [], []

    def body():
        barrier.wait()
        c0 = time.thread_time()
        work(CALLS)
        cpu.append(time.thread_time() - c0)
        done.append(time.perf_counter())
    ts = [threading.Thread(target=body) for _ in range(nthreads)]
    for t in ts:
        t.start()
    p = None
    if profiled:
        p = evprof.EventProfiler(impl='c', threads=True, size=1 << 16)
        p.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in ts:
        t.join()
    elapsed = max(done) - t0
    recorded = 0
    if p is not None:
        p.stop()
        if p._buffer.lost():
            raise SystemExit('events lost: %d' % p._buffer.lost())
        recorded = count_work_events(p)
        p._buffer.reset()
    blocks = (CALLS + EVERY - 1) // EVERY
    # call + return of leaf and block, one allocation of each block
    made = nthreads * (2 * CALLS + 2 * blocks + blocks)
    return elapsed, sum(cpu), recorded, made


def count_work_events(p):
    """Events of the threads' work: calls and returns of leaf and block,
    the blocks of SIZE allocated in block()."""
    import array
    b = p._buffer
    n = b.count()
    ev = array.array('q', bytes(48 * n))
    th = array.array('I', bytes(4 * n))
    n = b.dump(ev, th)
    reg, base = b.registry(), b.key_base()
    keys = {base + 1 + i for i, o in enumerate(reg)
            if o is leaf.__code__ or o is block.__code__}
    bkey = [base + 1 + i for i, o in enumerate(reg) if o is block.__code__]
    got = 0
    for i in range(n):
        f, e, v2 = ev[6 * i], ev[6 * i + 2], ev[6 * i + 5]
        if f in keys and e in (1, 2):
            got += 1
        elif bkey and f == bkey[0] and e in (1000, 1001, 1002) \
                and v2 == SIZE + 1:
            got += 1
    return got


def loadavg():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float('nan')


def main():
    top = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    if not sysconfig.get_config_var('Py_GIL_DISABLED'):
        print('bench_ft: %s is not a free-threaded build: skipped'
              % sys.version.split()[0])
        return
    sys.path.insert(0, top)
    import evprof  # noqa: F401
    if sys._is_gil_enabled():
        print('bench_ft: the GIL is on (PYTHON_GIL=1?): skipped')
        return
    print('free-threaded %s, %d CPUs, load %.2f; %d calls and %d blocks a '
          'thread, medians of %d' % (sys.version.split()[0], os.cpu_count(),
                                     loadavg(), CALLS, CALLS // EVERY, runs))
    run(1, True)  # warm-up
    rates = {(n, prof): [] for n in (1, 2, 4) for prof in (False, True)}
    per_cpu = {k: [] for k in rates}
    loads = []
    for _ in range(runs):
        for n in (1, 2, 1, 4):
            for prof in (True, False):
                el, cpu, got, made = run(n, prof)
                if prof and got != made:
                    raise SystemExit('%d threads: %d events of the work '
                                     'recorded, %d made' % (n, got, made))
                units = made if prof else n * CALLS
                rates[(n, prof)].append(units / el)
                per_cpu[(n, prof)].append(units / cpu)
        loads.append(loadavg())
    med = {k: statistics.median(v) for k, v in rates.items()}
    cmed = {k: statistics.median(v) for k, v in per_cpu.items()}
    # A second of wall time scales with the cores only when they are
    # free; a CPU second of the threads does not depend on it: what it
    # loses with more threads is contention (shared cache lines, locks).
    for n in (1, 2, 4):
        print('%d thread%s  profiled %9.0f events/s (x%.2f), %9.0f a CPU '
              's (x%.2f)   unprofiled %9.0f calls/s (x%.2f), %9.0f a CPU s '
              '(x%.2f)'
              % (n, ' ' if n == 1 else 's', med[(n, True)],
                 med[(n, True)] / med[(1, True)], cmed[(n, True)],
                 cmed[(n, True)] / cmed[(1, True)], med[(n, False)],
                 med[(n, False)] / med[(1, False)], cmed[(n, False)],
                 cmed[(n, False)] / cmed[(1, False)]))
    print('every event of the work recorded, none lost; load %.2f to %.2f '
          'during the runs' % (min(loads), max(loads)))


if __name__ == '__main__':
    main()
