"""
Smoke test of the C core alone (no numpy needed), for the interpreters
without numpy: `make check-python-versions PYTHONS="python3.8 python3.13"`
builds evprof._core by hand against each one and runs this script with the
directory of the built module as argument.
"""
import array
import dis
import gc
import os
import sys
import sysconfig
import threading
import time
import warnings

sys.path.insert(0, sys.argv[1])
with warnings.catch_warnings(record=True) as import_warnings:
    warnings.simplefilter('always')
    import _core  # noqa: E402
assert not import_warnings, [str(w.message) for w in import_warnings]
if sysconfig.get_config_var('Py_GIL_DISABLED'):
    # A free-threaded build: the module runs without the GIL, so importing
    # it leaves the GIL off (unless PYTHON_GIL=1 asked for it).
    if os.environ.get('PYTHON_GIL') != '1':
        assert not sys._is_gil_enabled()
    print('# free-threaded build, the GIL on:', sys._is_gil_enabled())


def leaf(x):
    return x + 1


def work():
    s = 0
    for i in range(100):
        s += leaf(i)
    time.sleep(0)  # the c_call line
    try:
        divmod(1, 0)
    except ZeroDivisionError:
        pass
    bytearray(1 << 20)
    return s


def dump(p):
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
    if hasattr(code, 'co_lines'):
        for start, end, line in code.co_lines():
            if start <= off < end:
                return line
        return None
    last = None
    for start, line in dis.findlinestarts(code):
        if start <= off:
            last = line
    return last


def name(o):
    return getattr(o, 'co_name', getattr(o, '__name__', None))


def main():
    p = _core.Profiler(20)
    p.set_active(True)
    p.memory_start()
    p.install()
    threading.setprofile(p.c_install_thread)
    work()
    t = threading.Thread(target=work)
    t.start()
    t.join()
    threading.setprofile(None)
    p.restore_profile()
    p.memory_stop()
    p.set_active(False)
    assert sys.getprofile() is None
    assert not _core.memory_hooked()
    events = dump(p)
    calls = [e for e in events if e[2] == 1 and name(e[0]) == 'leaf']
    assert len(calls) == 200, len(calls)
    assert {e[5] for e in calls} == {0, 1}
    assert {line_of(e[1], e[3]) for e in calls} == {
        work.__code__.co_firstlineno + 3}
    sleeps = [e for e in events if e[2] in (3, 4) and name(e[0]) == 'sleep']
    assert len(sleeps) == 4
    assert {line_of(e[1], e[3]) for e in sleeps} == {
        work.__code__.co_firstlineno + 4}
    assert any(e[2] == 6 and name(e[0]) == 'divmod' for e in events)
    big = [e for e in events if e[2] >= 1000 and e[4] >= 1 << 20]
    assert len(big) == 2 and {name(e[0]) for e in big} == {'work'}, big
    p.reset()
    edges()
    streamed()
    print(sys.version.split()[0], 'ok', len(events), 'events')


def streamed():
    # Streamed into a file, names and lines written by the C core as the
    # code is met: every call of leaf is named, its call site resolved.
    import os
    import tempfile
    fd, path = tempfile.mkstemp(suffix='.evt')
    os.close(fd)
    try:
        p = _core.Profiler(_core.stream_capacity(0, 4))
        p.stream_open(path, {'program': 'smoke'})
        token = object()
        p.begin(token, sys._getframe())
        work()
        p.end(None)
        stats = p.stream_close()
        assert stats['error'] == 0 and stats['lost'] == 0, stats
        r = _core.TraceReader(path)
        ev, _ = r.read()
        ev = memoryview(ev).cast('B').cast('q')
        names = {k: n for k, _, _, n, _, _ in r.names()}
        flat = memoryview(r.lines()).cast('B').cast('q')
        lines = {(flat[i], flat[i + 1]): flat[i + 2]
                 for i in range(0, len(flat), 3)}
        assert r.meta('program') == 'smoke'
        r.close()
        calls = [i for i in range(len(ev) // 6)
                 if ev[6 * i + 2] == 1 and names.get(ev[6 * i]) == 'leaf']
        assert len(calls) == 100, len(calls)
        assert {lines.get((ev[6 * i + 1], ev[6 * i + 4])) for i in calls} \
            == {work.__code__.co_firstlineno + 3}
        assert stats['events'] == len(ev) // 6, stats
    finally:
        os.unlink(path)


def edges():
    """restore_profile() across threads and interpreter versions."""
    def mine(frame, event, arg):
        pass

    def down(n):
        return down(n + 1)

    # the profile function's own semantics (on 3.12 and 3.13 impl 'c'
    # defaults to sys.monitoring: t/python/core_monitoring.py)
    p = _core.Profiler(100, 0, backend='profile')
    p.set_active(True)
    # installed by hand (impl='pybind11'), stopped from another thread
    sys.setprofile(mine)
    p.save_profile()
    hook = p.hook()
    sys.setprofile(hook)
    res = []
    t = threading.Thread(target=lambda: res.append(p.restore_profile(hook)))
    t.start()
    t.join()
    if sys.version_info >= (3, 9):
        assert res == [True] and sys.getprofile() is mine, res
    else:  # no way to reach another thread's profiler: left as it was
        assert res == [False] and sys.getprofile() is hook, res
        sys.setprofile(mine)
    # a profile function put over ours is left alone
    p.install()
    sys.setprofile(None)
    sys.setprofile(mine)
    assert p.restore_profile() is False
    assert sys.getprofile() is mine
    sys.setprofile(None)
    # the hook stays installed at the recursion limit
    old = sys.getrecursionlimit()
    p.save_profile()
    sys.setprofile(hook)
    sys.setrecursionlimit(120)
    try:
        down(0)
    except RecursionError:
        pass
    finally:
        sys.setrecursionlimit(old)
    assert sys.getprofile() is hook
    assert p.restore_profile(hook) is True and sys.getprofile() is None
    assert hook == p.c_log_event and hash(hook) == hash(p.c_log_event)
    p.set_active(False)

    # impl='python': a hook holding its object weakly
    class Obj:
        def log(self, frame, event, arg):
            self.seen.append(event)

    o = Obj()
    o.seen = []
    weak = _core.weak_method(o, Obj.log)
    assert weak == o.log and hash(weak) == hash(o.log)
    sys.setprofile(weak)
    leaf(1)
    sys.setprofile(None)
    assert 'call' in o.seen, o.seen
    seen = o.seen
    del o
    gc.collect()
    weak(sys._getframe(), 'call', None)  # dead: does nothing
    assert weak != Obj().log
    assert 'dead' in repr(weak) or seen[-1] == 'call', repr(weak)


main()
