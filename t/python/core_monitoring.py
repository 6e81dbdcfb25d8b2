"""
The sys.monitoring backend of impl 'c' (3.12 to 3.14) against the profile
function, on the same interpreter: the same events, names, callers, lines
and allocation attribution for a fixed program of calls, builtins,
exceptions, generators, a coroutine and a thread; nothing allocated by the
profiler attributed to the program.  Run by `make check-python-versions`
with the directory of the built module as argument (no numpy needed).
"""
import array
import os
import sys
import threading

sys.path.insert(0, sys.argv[1])
import _core  # noqa: E402

MONITORING = (3, 12) <= sys.version_info < (3, 15)
CALL, RETURN, C_CALL, C_RETURN, C_EXCEPTION = 1, 2, 3, 4, 6
BIG = 1 << 20


# ---- the program --------------------------------------------------------

def nothing(a, b):
    return a is b


def leaf(x):
    return x + 1


def fails(n):
    if n:
        raise KeyError(n)
    return n


def gen(n):
    for i in range(n):
        nothing(i, i)
        got = yield i
        if got == 'alloc':
            bytearray(BIG)


def empty_gen():
    yield 1
    yield 2


async def coro(n):
    return nothing(n, n)


# A function whose calls are past 256 bytes into its code: CPython makes
# an int object for each offset given to the callbacks there.
exec("def big(f):\n"
     + "".join("    x%d = %d\n" % (i, i) for i in range(150))
     + "    f(1, 2)\n    f(3, 4)\n    return len('ab')\n")


class Thing:
    def __init__(self, v):
        self.v = v

    @property
    def double(self):
        return self.v * 2


def program():
    s = 0
    for i in range(5):
        s += leaf(i)
    data = []
    data.append(len('abc'))
    sorted([3, 1, 2], key=leaf)
    try:
        fails(1)
    except KeyError:
        pass
    try:
        divmod(1, 0)
    except ZeroDivisionError:
        pass
    for v in gen(3):
        nothing(v, v)
    g = gen(3)
    next(g)
    g.send('alloc')
    bytearray(2 * BIG)
    try:
        g.throw(ValueError('x'))
    except ValueError:
        pass
    list(empty_gen())
    c = coro(1)
    try:
        c.send(None)
    except StopIteration:
        pass
    t = Thing(2)
    s += t.double
    nothing(t, t)
    big(nothing)  # noqa: F821
    return s


def threaded():
    th = threading.Thread(target=program)
    th.start()
    th.join()


# ---- recording ----------------------------------------------------------

def record(backend, fn, threads=False, memory=True):
    p = _core.Profiler(1000, 7 if memory else 0, backend=backend)
    assert p.backend == backend, p.backend
    token = object()
    p.begin(token, sys._getframe(), None,
            p.c_install_thread if threads else None, threads, True)
    try:
        fn()
    finally:
        ours = p.end(sys._getframe())
    assert ours is True, ours
    assert sys.getprofile() is None
    if MONITORING:
        assert 'evprof' not in [sys.monitoring.get_tool(i) for i in range(6)]
    n = p.count()
    ev = array.array('q', bytes(8 * 6 * n))
    th = array.array('I', bytes(4 * n))
    assert p.dump(ev, th) == n
    reg, base = p.registry(), p.key_base()

    def obj(k):
        return reg[k - base - 1] if base < k <= base + len(reg) else None

    return [(obj(ev[6 * i]), obj(ev[6 * i + 1]), ev[6 * i + 2],
             ev[6 * i + 4], ev[6 * i + 5], th[i]) for i in range(n)]


def line_of(code, off):
    if code is None or not hasattr(code, 'co_lines'):
        return None
    for start, end, line in code.co_lines():
        if start <= off < end:
            return line
    return None


def name(o):
    if isinstance(o, tuple):  # a builtin method, described
        return o[0]
    return getattr(o, '__qualname__', getattr(o, 'co_qualname', None)) \
        or getattr(o, '__name__', None)


def calls(events):
    """Call and return events, per thread, as (event, name, caller, line)."""
    out = {}
    for f, a, e, v1, v2, t in events:
        if e in (CALL, RETURN, C_CALL, C_RETURN, C_EXCEPTION):
            out.setdefault(t, []).append(
                (e, name(f), name(a), line_of(a, v1)))
    return out


def big_blocks(events):
    """Who allocated the blocks of BIG bytes and more."""
    return [(name(f), v2 // BIG) for f, a, e, v1, v2, t in events
            if e in (1000, 1001, 1002) and v2 >= BIG]


def allocators(events):
    return {name(f) for f, a, e, v1, v2, t in events if e >= 1000}


# ---- checks -------------------------------------------------------------

RESULTS = []


def check(ok, what, detail=''):
    RESULTS.append(ok)
    print(('ok' if ok else 'not ok'), len(RESULTS), '-', what)
    if not ok and detail:
        print('#', str(detail)[:2000])


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i, a[max(0, i - 3):i + 3], b[max(0, i - 3):i + 3]
    return len(a), len(a), len(b)


def same_as_profile():
    prof = record('profile', program)
    mon = record('monitoring', program)
    a, b = calls(prof), calls(mon)
    check(a == b, 'the same calls, names, callers and lines as the '
          'profile function', first_difference(a.get(0, []), b.get(0, [])))
    check(big_blocks(prof) == big_blocks(mon)
          == [('gen', 1), ('program', 2)],
          'big allocations attributed alike: after a resume to the '
          'generator, after a yield to its caller',
          (big_blocks(prof), big_blocks(mon)))
    # (Each code object's first run ever under sys.monitoring allocates
    # its monitoring data, logged for the caller: the profile function,
    # itself on sys.monitoring in 3.12, ran the program first.)
    for who in ('nothing', 'leaf', 'empty_gen', 'coro', 'Thing.double',
                'big'):
        check(who not in allocators(mon),
              'a function that allocates nothing shows no allocation: '
              + who, sorted(map(str, allocators(mon))))
    resumes = [(name(f), v2) for f, a, e, v1, v2, t in mon
               if e in (CALL, RETURN) and name(f) == 'gen']
    # for v in gen(3): start, (yield, resume) x 3, return; then next,
    # send, throw: start, yield, resume, yield, throw, unwind
    check([v for n, v in resumes] == [0, 1, 1, 1, 1, 1, 1, 0,
                                      0, 1, 1, 1, 1, 0],
          'value2 marks a resume (call) and a yield (return)', resumes)


def within(seq, fn):
    """The events from the first call of fn to its last return."""
    first = [i for i, e in enumerate(seq) if e[:2] == (CALL, fn)]
    last = [i for i, e in enumerate(seq) if e[:2] == (RETURN, fn)]
    return seq[first[0]:last[-1] + 1] if first and last else []


def threads():
    prof = record('profile', threaded, threads=True)
    mon = record('monitoring', threaded, threads=True)
    a, b = calls(prof), calls(mon)
    # The profile function reaches the thread once threading's bootstrap
    # has installed it; sys.monitoring sees the thread from its first
    # frame: compared from the call of program() there.
    # (The thread's index may be 2: its first events can be allocations.)
    ta, tb = max(a), max(b)
    a1, b1 = within(a[ta], 'program'), within(b[tb], 'program')
    check(len(a) == len(b) == 2 and a1 == b1 and len(a1) > 50,
          'threads=True: the same events in the thread started',
          (sorted(a), sorted(b), first_difference(a1, b1)))
    check(b[tb][0][:2] == (CALL, 'Thread._bootstrap'),
          'sys.monitoring: the thread from its first call', b[tb][:2])
    solo = record('monitoring', threaded, threads=False)
    check({e[5] for e in solo if e[2] < 1000} == {0},
          'threads=False: only the thread that started',
          {e[5] for e in solo})


def concurrent():
    """Four threads in the program at once (on a free-threaded build
    without the GIL, the callbacks run in parallel): each gets the events
    of a thread alone."""
    def four():
        ths = [threading.Thread(target=program) for _ in range(4)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()

    alone = calls(record('monitoring', threaded, threads=True))
    ref = within(alone[max(alone)], 'program')
    both = calls(record('monitoring', four, threads=True))
    got = [within(ev, 'program') for t, ev in sorted(both.items())
           if any(e[:2] == (CALL, 'program') for e in ev)]
    check(len(got) == 4 and all(g == ref for g in got) and len(ref) > 50,
          'four threads at once: each the events of a thread alone',
          [first_difference(ref, g) for g in got])


def bad_arguments():
    """evprof's callbacks called by hand with what the interpreter never
    gives them: None, nothing logged, and the run's events as before."""
    got = []
    mon = sys.monitoring
    bad = [(), (None,), (None, 0), ('x', 1), (1.5, 0, None, None),
           (None, 0, len, None), (None, 0, nothing, None), ('x', 7, len)]

    def poke():
        tool = [i for i in range(6) if mon.get_tool(i) == 'evprof'][0]
        cbs = []
        for ev in (mon.events.PY_START, mon.events.PY_RETURN,
                   mon.events.CALL, mon.events.C_RETURN):
            cb = mon.register_callback(tool, ev, None)
            mon.register_callback(tool, ev, cb)
            cbs.append(cb)
        for cb in cbs:
            for args in bad:
                got.append(cb(*args))
        program()

    ev = record('monitoring', poke)
    ref = calls(record('monitoring', program))
    ours = calls(ev)
    check(len(got) == 4 * len(bad) and all(g is None for g in got),
          'callbacks called with bad arguments: None', got)
    check(program_part(ours) == program_part(ref)
          and len(program_part(ref)) > 50,
          'then the events of the program as without them',
          first_difference(program_part(ref), program_part(ours)))


def program_part(per_thread):
    """The events of the first call of program() to its return, the
    caller of these two left out (it is not the same everywhere)."""
    ev = [c for t in per_thread.values() for c in t]
    i = next(k for k, c in enumerate(ev) if c[:2] == (CALL, 'program'))
    j = next(k for k, c in enumerate(ev)
             if k > i and c[:2] == (RETURN, 'program'))
    return [ev[i][:2]] + ev[i + 1:j] + [ev[j][:2]]


def taken_tool_id():
    taken = [i for i in (2, 3) if sys.monitoring.get_tool(i) is None]
    for i in taken:
        sys.monitoring.use_tool_id(i, 'other')
    try:
        mon = record('monitoring', program, memory=False)
        check(len(calls(mon)[0]) > 50, 'ids 2 and 3 taken: id 4 used')
        sys.monitoring.use_tool_id(4, 'other')
        try:
            record('monitoring', program, memory=False)
        except RuntimeError as e:
            check('tool id' in str(e), 'no id free: RuntimeError', e)
        else:
            check(False, 'no id free: RuntimeError')
        finally:
            sys.monitoring.free_tool_id(4)
    finally:
        for i in taken:
            sys.monitoring.free_tool_id(i)


def raising_callbacks_never():
    """The program's own exceptions pass through, ours never appear."""
    def deep(n):
        return deep(n + 1)

    def run():
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(200)
        try:
            deep(0)
        except RecursionError:
            pass
        finally:
            sys.setrecursionlimit(old)

    mon = record('monitoring', run, memory=False)
    n = sum(1 for e in mon if e[2] == CALL
            and str(name(e[0])).endswith('.deep'))
    check(n > 100, 'at the recursion limit: the calls recorded', str(n))


def fork():
    if not hasattr(os, 'fork'):
        return
    p = _core.Profiler(1000, 0, backend='monitoring')
    p.begin(object(), sys._getframe(), None, None, False, True)
    pid = os.fork()
    if pid == 0:
        p.after_fork()
        ok = all(sys.monitoring.get_tool(i) is None for i in (2, 3, 4))
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    p.end(None)
    check(status == 0, 'after fork: the tool id released in the child',
          status)


def bad_backend():
    try:
        _core.Profiler(10, backend='nope')
    except ValueError:
        check(True, "backend='nope': ValueError")
    else:
        check(False, "backend='nope': ValueError")
    if not MONITORING:
        try:
            _core.Profiler(10, backend='monitoring')
        except ValueError:
            check(True, "backend='monitoring' before 3.12: ValueError")
        else:
            check(False, "backend='monitoring' before 3.12: ValueError")
        check(_core.Profiler(10).backend == 'profile', 'default: profile')
    else:
        check(_core.Profiler(10).backend == 'monitoring',
              'default: monitoring')


def main():
    bad_backend()
    if MONITORING:
        same_as_profile()
        threads()
        concurrent()
        bad_arguments()
        taken_tool_id()
        raising_callbacks_never()
        fork()
    print('1..%d' % len(RESULTS))
    sys.exit(0 if all(RESULTS) else 1)


main()
