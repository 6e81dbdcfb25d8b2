"""Edges: the profiler never crashes nor corrupts the profiled program
(its profile function, its allocators, its exceptions), whatever the
program does while it runs."""
import asyncio
import gc
import subprocess
import sys
import textwrap
import threading
import tracemalloc
import unittest
import warnings

import evprof_test

evprof = evprof_test.load()
EventProfiler = evprof.EventProfiler
WithEventProfiler = evprof.WithEventProfiler

IMPLS = ('python', 'pybind11', 'c')


def run(code, timeout=120):
    code = "import evprof_test\nevprof = evprof_test.load()\n" + \
        textwrap.dedent(code)
    return subprocess.run([sys.executable, '-c', code],
                          env=evprof_test.subprocess_env(),
                          capture_output=True, text=True, timeout=timeout)


def f():
    return 1


def mine(frame, event, arg):
    pass


def balanced(df, name):
    ev = df[df.name == name].event
    return (ev == 'call').sum(), (ev == 'return').sum()


class TestEdges(unittest.TestCase):

    def tearDown(self):
        sys.setprofile(None)
        self.assertFalse(evprof._core.memory_hooked())

    # -- the profile function of the program --------------------------------

    def test_user_setprofile_kept(self):
        # A profile function the program installs while profiling is left
        # in place by stop() (it used to be replaced by the one saved at
        # start), and the missing events are reported.
        for impl in IMPLS:
            with self.subTest(impl=impl):
                p = EventProfiler(impl=impl, memory=False)
                p.start()
                f()
                sys.setprofile(mine)
                f()
                with self.assertWarnsRegex(RuntimeWarning, 'replaced'):
                    p.stop()
                self.assertIs(sys.getprofile(), mine)
                sys.setprofile(None)
                self.assertEqual(balanced(p.retrieve_results(), 'f'), (1, 1))

    def test_user_thread_profile_kept(self):
        # Same for threading.setprofile (threads=True).
        for impl in IMPLS:
            with self.subTest(impl=impl):
                p = EventProfiler(impl=impl, memory=False, threads=True)
                p.start()
                threading.setprofile(mine)
                p.stop()
                self.assertIs(threading._profile_hook, mine)
                threading.setprofile(None)
                p.start()
                p.stop()
                self.assertIsNone(threading._profile_hook)

    def test_size_any_integer(self):
        import numpy
        p = EventProfiler(size=numpy.int64(100), memory=False)
        self.assertEqual(p._buffer.size, 100)
        for bad in (1.0, numpy.float64(3), None, '10', True):
            self.assertRaisesRegex(TypeError, 'size must be an int',
                                   EventProfiler, size=bad)

    def test_no_warning_when_untouched(self):
        for impl in IMPLS:
            with self.subTest(impl=impl):
                sys.setprofile(mine)
                p = EventProfiler(impl=impl, memory=False)
                p.start()
                f()
                with warnings.catch_warnings():
                    warnings.simplefilter('error')
                    p.stop()
                self.assertIs(sys.getprofile(), mine)
                sys.setprofile(None)

    def test_stop_from_another_thread(self):
        # stop() (or a __del__ run by the GC) in another thread restores
        # the starting thread's profiler: ours used to stay installed there
        # for ever (and, impl='python', keep the profiler alive).
        for impl in IMPLS:
            with self.subTest(impl=impl):
                sys.setprofile(mine)
                p = EventProfiler(impl=impl)
                p.start()
                f()
                t = threading.Thread(target=p.stop)
                t.start()
                t.join()
                self.assertIs(sys.getprofile(), mine)
                sys.setprofile(None)
                self.assertEqual(balanced(p.retrieve_results(), 'f'), (1, 1))
                # and it starts again
                p.start()
                f()
                p.stop()
                self.assertIsNone(sys.getprofile())

    def test_start_in_thread_that_ended(self):
        # The starting thread ended: stop() elsewhere must not touch its
        # (freed) thread state.
        for impl in IMPLS:
            with self.subTest(impl=impl):
                p = EventProfiler(impl=impl, memory=False)
                t = threading.Thread(target=p.start)
                t.start()
                t.join()
                threading.Thread(target=lambda: [0] * 10).start()
                with warnings.catch_warnings():
                    warnings.simplefilter('ignore')
                    p.stop()
                self.assertIsNone(sys.getprofile())

    def test_threads_hooks_removed_at_stop(self):
        # Started in a thread that ended (threads=True, impl='c' hooking the
        # running threads, the main one too), stopped in the main thread:
        # ours stayed in the main thread; and the threads started while
        # profiling (impl 'python', 'pybind11') kept ours after stop().
        for impl in IMPLS:
            with self.subTest(impl=impl):
                p = EventProfiler(impl=impl, threads=True, memory=False)
                t = threading.Thread(target=p.start)
                t.start()
                t.join()
                with warnings.catch_warnings():
                    warnings.simplefilter('error')
                    p.stop()
                self.assertIsNone(sys.getprofile())
                self.assertIsNone(threading._profile_hook)

                go, done = threading.Event(), threading.Event()
                called = threading.Event()
                seen = []

                def worker():
                    f()
                    called.set()
                    go.wait()
                    seen.append(sys.getprofile())
                    done.set()

                p.start()
                w = threading.Thread(target=worker)
                w.start()
                f()
                called.wait()
                p.stop()
                go.set()
                done.wait()
                w.join()
                self.assertEqual(seen, [None])
                calls, _ = balanced(p.retrieve_results(), 'f')
                self.assertGreaterEqual(calls, 2)

    def test_second_profiler_same_thread(self):
        # A second profiler on the thread pauses the first one for its
        # run (it never takes its profile function away silently): each
        # records its own part, the first goes on after.
        for impl in IMPLS:
            with self.subTest(impl=impl):
                p = EventProfiler(impl=impl)
                q = EventProfiler(impl=impl)
                p.start()
                try:
                    q.start()
                    f()
                    q.stop()
                    f()
                    f()
                finally:
                    p.stop()
                self.assertEqual(balanced(q.retrieve_results(), 'f'), (1, 1))
                self.assertEqual(balanced(p.retrieve_results(), 'f'), (2, 2))
                self.assertEqual(len(p._paused_by), 1)
                self.assertIn(__file__.rstrip('c'), p._paused_by[0])
                q.start()
                q.stop()

    def test_nested_with(self):
        for impl in IMPLS:
            with self.subTest(impl=impl):
                w = WithEventProfiler(impl=impl)
                with w:
                    inner = WithEventProfiler(impl=impl, memory=False)
                    with inner:
                        f()
                    f()
                    f()
                self.assertEqual(balanced(inner.report, 'f'), (1, 1))
                self.assertEqual(balanced(w.report, 'f'), (2, 2))

    def test_other_threads_own_profilers(self):
        # One profiler a thread is fine.
        out = {}

        def body(i):
            q = EventProfiler(impl='c', memory=False)
            q.start()
            f()
            q.stop()
            out[i] = balanced(q.retrieve_results(), 'f')

        p = EventProfiler(impl='c', memory=False)
        p.start()
        ts = [threading.Thread(target=body, args=(i,)) for i in range(3)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        p.stop()
        self.assertEqual(out, {0: (1, 1), 1: (1, 1), 2: (1, 1)})

    # -- exceptions -----------------------------------------------------------

    def test_recursion_limit(self):
        # At the recursion limit, a profile function that is a builtin
        # method raised RecursionError itself: the interpreter removed it
        # and the rest of the run was lost.  impl='python' cannot avoid it
        # (a Python call) but says so.
        def down(n):
            return down(n + 1)

        old = sys.getrecursionlimit()
        for impl in IMPLS:
            with self.subTest(impl=impl):
                p = EventProfiler(impl=impl, memory=False)
                sys.setrecursionlimit(150)
                try:
                    p.start()
                    for _ in range(3):
                        with self.assertRaises(RecursionError):
                            down(0)
                    f()
                finally:
                    sys.setrecursionlimit(old)
                    with warnings.catch_warnings(record=True) as w:
                        warnings.simplefilter('always')
                        p.stop()
                df = p.retrieve_results()
                calls, returns = balanced(df, 'down')
                if impl == 'python':
                    self.assertTrue(any('replaced or removed' in str(x.message)
                                        for x in w))
                    continue
                self.assertEqual(w, [])
                self.assertGreater(calls, 3 * 100)
                self.assertEqual(calls, returns)
                self.assertEqual(balanced(df, 'f'), (1, 1))

    def test_generators(self):
        def g():
            try:
                yield 1
                yield 2
            except ValueError:
                yield 'caught'

        for impl in IMPLS:
            with self.subTest(impl=impl):
                p = EventProfiler(impl=impl)
                p.start()
                it = g()
                next(it)
                it.send(None)
                self.assertEqual(it.throw(ValueError), 'caught')
                it.close()
                it = g()
                next(it)
                with self.assertRaises(KeyError):
                    it.throw(KeyError)
                it = g()
                next(it)
                it.close()
                p.stop()
                calls, returns = balanced(p.retrieve_results(), 'g')
                self.assertEqual(calls, returns)
                self.assertEqual(calls, 8)

    def test_asyncio_tasks_raising(self):
        async def job(i):
            await asyncio.sleep(0)
            if i % 2:
                raise ValueError(i)
            return i

        async def main():
            return await asyncio.gather(
                *[asyncio.create_task(job(i)) for i in range(6)],
                return_exceptions=True)

        for impl in IMPLS:
            with self.subTest(impl=impl):
                p = EventProfiler(impl=impl)
                p.start()
                res = asyncio.run(main())
                p.stop()
                self.assertEqual([type(r).__name__ for r in res],
                                 ['int', 'ValueError'] * 3)
                calls, returns = balanced(p.retrieve_results(), 'job')
                self.assertEqual(calls, returns)
                self.assertGreaterEqual(calls, 12)

    def test_exceptions_in_del_and_weakref_callbacks(self):
        for impl in IMPLS:
            with self.subTest(impl=impl):
                r = run("""
                    import gc, weakref
                    class A:
                        def __del__(self):
                            raise ValueError('DEL')
                    class B:
                        pass
                    def cb(ref):
                        raise KeyError('CB')
                    p = evprof.EventProfiler(impl=%r)
                    p.start()
                    for i in range(5):
                        a = A(); del a
                        b = B(); w = weakref.ref(b, cb); del b
                    gc.collect()
                    p.stop()
                    df = p.retrieve_results()
                    for name in ('__del__', 'cb'):
                        ev = df[df.name == name].event
                        print((ev == 'call').sum(), (ev == 'return').sum())
                    """ % impl)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout.split(), ['5', '5', '5', '5'])
                self.assertEqual(r.stderr.count('ValueError: DEL'), 5)
                self.assertEqual(r.stderr.count("KeyError: 'CB'"), 5)

    def test_keyboard_interrupt(self):
        for impl in IMPLS:
            with self.subTest(impl=impl):
                r = run("""
                    import signal, sys
                    # As if started from a shell's foreground.
                    signal.signal(signal.SIGINT, signal.default_int_handler)
                    p = evprof.EventProfiler(impl=%r)
                    p.start()
                    try:
                        for i in range(100):
                            if i == 50:
                                signal.raise_signal(signal.SIGINT)
                    except KeyboardInterrupt:
                        print('caught')
                    p.stop()
                    assert sys.getprofile() is None
                    p.start()
                    signal.raise_signal(signal.SIGINT)
                    """ % impl)
                self.assertEqual(r.stdout.strip(), 'caught')
                self.assertEqual(r.returncode, -2, r.stderr)
                self.assertTrue(r.stderr.rstrip().endswith(
                    'KeyboardInterrupt'), r.stderr)

    # -- processes and threads -----------------------------------------------

    def test_fork_while_profiling(self):
        # The child stops at the fork and drops its copy of the events
        # (nobody would read them); its stop() is quiet, and it may start
        # the same profiler or another; exit and _exit are clean; the
        # parent is unaffected.
        for impl in IMPLS:
            with self.subTest(impl=impl):
                r = run("""
                    import os, sys, threading, zlib
                    p = evprof.EventProfiler(impl=%r, threads=True)
                    def w():
                        for i in range(20):
                            zlib.compress(os.urandom(1 << 18))
                    t = threading.Thread(target=w)
                    p.start()
                    t.start()
                    def g():
                        return [str(i) for i in range(100)]
                    for mode in ('stop', 'restart', 'new', 'exit', '_exit'):
                        pid = os.fork()
                        if pid == 0:
                            g()
                            ok = (not p._started and sys.getprofile() is None
                                  and threading._profile_hook is None
                                  and not evprof._core.memory_hooked())
                            if mode == 'stop':
                                p.stop()
                                df = p.retrieve_results()
                                os._exit(0 if ok and len(df) == 0 else 9)
                            if mode in ('restart', 'new'):
                                q = (p if mode == 'restart' else
                                     evprof.EventProfiler(impl=%r))
                                q.start()
                                g()
                                q.stop()
                                df = q.retrieve_results()
                                ev = df[df.name == 'g'].event
                                os._exit(0 if ok and (ev == 'call').sum() == 1
                                         else 8)
                            if mode == 'exit':
                                sys.exit(3)
                            os._exit(4)
                        _, st = os.waitpid(pid, 0)
                        print(mode, os.waitstatus_to_exitcode(st))
                    t.join()
                    g()
                    p.stop()
                    df = p.retrieve_results()
                    ev = df[df.name == 'g'].event
                    print('parent', (ev == 'call').sum(),
                          (ev == 'return').sum())
                    """ % (impl, impl))
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout.split('\n'),
                                 ['stop 0', 'restart 0', 'new 0', 'exit 3',
                                  '_exit 4', 'parent 1 1', ''])
                self.assertEqual(r.stderr, '')

    def test_thread_pool_allocating(self):
        # Threads allocating through the raw domain without the GIL
        # (zlib, hashlib on big buffers), started before and after start().
        import concurrent.futures
        import hashlib
        import os
        import zlib

        data = os.urandom(1 << 20)

        def job(i):
            zlib.compress(data, 1)
            hashlib.sha256(data).hexdigest()
            return len(bytes(data[:1000 * (i + 1)]))

        for impl in IMPLS:
            with self.subTest(impl=impl):
                early = threading.Thread(target=lambda: [job(0)
                                                         for _ in range(4)])
                early.start()
                p = EventProfiler(impl=impl, size=50, threads=True)
                p.start()
                with concurrent.futures.ThreadPoolExecutor(6) as ex:
                    total = sum(ex.map(job, range(24)))
                early.join()
                p.stop()
                self.assertEqual(total, 1000 * 24 * 25 // 2)
                df = p.retrieve_results(thread=True)
                self.assertEqual(p._buffer.lost(), 0)
                self.assertGreater(df.thread.nunique(), 1)
                calls, returns = balanced(df, 'job')
                # impl='c' also hooks the thread already running
                self.assertEqual(calls, 24) if impl != 'c' else \
                    self.assertTrue(24 <= calls <= 28, calls)

    # -- arguments ------------------------------------------------------------

    def test_huge_size(self):
        # A chunk bigger than the machine's memory: a MemoryError that
        # says why, before malloc is asked (AddressSanitizer's would
        # abort the process rather than return NULL).
        p = EventProfiler(size=10 ** 12)
        with self.assertRaisesRegex(MemoryError, 'size=1000000000000'):
            p.start()
        self.assertIsNone(sys.getprofile())
        for size in (10 ** 18, 2 ** 62):
            self.assertRaisesRegex(ValueError, 'too large', EventProfiler,
                                   size=size)
        self.assertRaises(OverflowError, EventProfiler, size=2 ** 64)

    def test_dropped_while_running_all_impls(self):
        # impl='python' installed the bound method log_event: the profiler
        # could not be collected while it ran and logged until exit.
        for impl in IMPLS:
            for threads in (False, True):
                with self.subTest(impl=impl, threads=threads):
                    p = EventProfiler(impl=impl, threads=threads)
                    p.start()
                    self.assertEqual(sys.getprofile(), p.log_event
                                     if impl == 'python' else
                                     sys.getprofile())
                    f()
                    del p
                    gc.collect()
                    self.assertIsNone(sys.getprofile())
                    self.assertIsNone(getattr(threading, '_profile_hook',
                                              None))
                    self.assertFalse(evprof._core.memory_hooked())
                    self.assertEqual(len(evprof.profiler._running), 0)

    def test_small_sizes_lossless(self):
        for impl in IMPLS:
            for size in (1, 20):
                with self.subTest(impl=impl, size=size):
                    p = EventProfiler(impl=impl, size=size, memory=False)
                    p.start()
                    for _ in range(50000):
                        f()
                    p.stop()
                    raw = p.retrieve_raw_results()
                    self.assertEqual(p._buffer.lost(), 0)
                    key = raw[(raw[:, 2] == 1)][:, 0]
                    self.assertEqual(balanced(p.retrieve_results(), 'f'),
                                     (50000, 50000))
                    self.assertGreaterEqual(len(key), 50000)

    # -- lifecycle ------------------------------------------------------------

    def test_thousand_cycles(self):
        # start/stop 1000 times (and 300 profilers): no reference, object
        # or allocator hook left behind.
        def work():
            return [str(i) for i in range(20)]

        code = work.__code__
        for impl in IMPLS:
            with self.subTest(impl=impl):
                p = EventProfiler(impl=impl, size=100)
                p.start()
                work()
                p.stop()
                p.retrieve_raw_results()
                gc.collect()
                refs = sys.getrefcount(code)
                objs = len(gc.get_objects())
                hooks = evprof._core._allocator_hooks()
                for i in range(1000):
                    p.start()
                    work()
                    p.stop()
                    p.retrieve_raw_results()
                for i in range(300):
                    q = EventProfiler(impl=impl, size=100)
                    q.start()
                    work()
                    q.stop()
                    q.retrieve_results()
                del q
                gc.collect()
                self.assertEqual(sys.getrefcount(code), refs)
                self.assertLess(len(gc.get_objects()) - objs, 50)
                self.assertEqual(evprof._core._allocator_hooks(), hooks)
                self.assertIsNone(sys.getprofile())

    # -- allocators -----------------------------------------------------------

    def test_tracemalloc_keeps_our_hook(self):
        # tracemalloc calls the raw allocator it found at its last start
        # even after it stopped (tracemalloc.start() allocates through it
        # before looking again): the hook it found there was freed by the
        # next start/stop cycle, and tracemalloc.start() crashed (SIGSEGV).
        for impl in IMPLS:
            with self.subTest(impl=impl):
                r = run("""
                    import tracemalloc
                    p = evprof.EventProfiler(impl=%r)
                    p.start()
                    tracemalloc.start()
                    tracemalloc.stop()
                    p.stop()
                    p.start()
                    p.stop()
                    p.start()
                    p.stop()
                    tracemalloc.start()
                    x = [str(i) for i in range(100)]
                    tracemalloc.stop()
                    p.start()
                    tracemalloc.start()
                    p.stop()
                    del p
                    tracemalloc.stop()
                    x = [str(i) for i in range(100)]
                    tracemalloc.start()
                    tracemalloc.stop()
                    print('ok')
                    """ % impl)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, 'ok\n')

    def test_tracemalloc_orders(self):
        def alloc():
            return [str(i) for i in range(100)]

        for impl in IMPLS:
            with self.subTest(impl=impl):
                p = EventProfiler(impl=impl)
                # hooked over us, stopped after us
                p.start()
                tracemalloc.start()
                alloc()
                p.stop()
                tracemalloc.stop()
                self.assertGreater(len(p.retrieve_raw_results()), 100)
                # under us
                tracemalloc.start()
                p.start()
                alloc()
                p.stop()
                self.assertTrue(tracemalloc.is_tracing())
                tracemalloc.take_snapshot()
                tracemalloc.stop()
                # under us, stopped inside
                tracemalloc.start()
                p.start()
                tracemalloc.stop()
                alloc()
                p.stop()
                hooks = evprof._core._allocator_hooks()
                for _ in range(20):
                    p.start()
                    tracemalloc.start()
                    alloc()
                    p.stop()
                    tracemalloc.stop()
                p.start()
                alloc()
                p.stop()
                raw = p.retrieve_raw_results()
                self.assertGreater((raw[:, 2] == 1000).sum(), 100)
                alloc()
                # Each of those cycles used to leave one more disabled hook
                # of ours in the allocator chain (every allocation of the
                # program then went through all of them), never freed.
                self.assertEqual(evprof._core._allocator_hooks(), hooks)
                self.assertLessEqual(hooks, 3 * 3)


if __name__ == '__main__':
    evprof_test.main()
