"""Nothing crashes: uncaught exceptions, exit while profiling, dropped
profilers; start/stop cycles leak neither references nor memory."""
import gc
import subprocess
import sys
import textwrap
import tracemalloc
import unittest

import evprof_test

evprof = evprof_test.load()
EventProfiler = evprof.EventProfiler
WithEventProfiler = evprof.WithEventProfiler

IMPLS = ('python', 'pybind11', 'c')


def run(code):
    code = "import evprof_test\nevprof = evprof_test.load()\n" + \
        textwrap.dedent(code)
    return subprocess.run([sys.executable, '-c', code],
                          env=evprof_test.subprocess_env(),
                          capture_output=True, text=True, timeout=120)


def work(n=50):
    out = []
    for i in range(n):
        out.append(str(i) * 3)
    return len(out)


class TestRobust(unittest.TestCase):

    def test_uncaught_exception(self):
        for impl in IMPLS:
            for cls in ('EventProfiler', 'WithEventProfiler'):
                with self.subTest(impl=impl, cls=cls):
                    if cls == 'EventProfiler':
                        start = ("p = evprof.EventProfiler(impl=%r, size=20)"
                                 "\np.start()\n" % impl)
                    else:
                        start = ("p = evprof.WithEventProfiler(impl=%r)\n"
                                 "p.__enter__()\n" % impl)
                    r = run(start + textwrap.dedent("""
                        def deep(n):
                            if n == 0:
                                raise ValueError('UNCAUGHT')
                            return deep(n - 1)
                        deep(30)
                        """))
                    self.assertEqual(r.returncode, 1, r.stderr)
                    self.assertIn('ValueError: UNCAUGHT', r.stderr)
                    self.assertNotIn('Fatal', r.stderr)

    def test_with_uncaught(self):
        for impl in IMPLS:
            r = run("""
                with evprof.WithEventProfiler(impl=%r):
                    raise KeyError('K')
                """ % impl)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("KeyError: 'K'", r.stderr)

    def test_exit_while_profiling(self):
        for impl in IMPLS:
            for end in ('pass', 'import sys; sys.exit(3)',
                        'import threading; threading.Thread('
                        'target=lambda: [0] * 1000).start()'):
                with self.subTest(impl=impl, end=end):
                    r = run("""
                        p = evprof.EventProfiler(impl=%r, threads=True)
                        p.start()
                        x = [str(i) for i in range(1000)]
                        %s
                        """ % (impl, end))
                    self.assertEqual(r.returncode, 3 if 'exit' in end else 0,
                                     r.stderr)
                    self.assertEqual(r.stderr, '')

    def test_dropped_while_running(self):
        for impl in ('pybind11', 'c'):
            p = EventProfiler(impl=impl)
            p.start()
            work()
            del p
            gc.collect()
            self.assertIsNone(sys.getprofile(), impl)
            self.assertFalse(evprof._core.memory_hooked(), impl)

    def test_python_impl_gc_while_running(self):
        r = run("""
            import gc, sys
            p = evprof.EventProfiler(impl='python')
            p.start()
            del p
            gc.collect()
            x = [str(i) for i in range(100)]
            """)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, '')

    def test_cycles_no_reference_leak(self):
        code = work.__code__
        for impl in IMPLS:
            p = EventProfiler(impl=impl)
            p.start()
            work()
            p.stop()
            p.retrieve_results()
            del p
            gc.collect()
            base = sys.getrefcount(code)
            total = getattr(sys, 'gettotalrefcount', lambda: 0)()
            for _ in range(20):
                p = EventProfiler(impl=impl, size=100)
                p.start()
                work()
                p.stop()
                p.start()
                work()
                p.stop()
                p.retrieve_results()
                del p
            gc.collect()
            self.assertEqual(sys.getrefcount(code), base, impl)
            if total:
                self.assertLess(sys.gettotalrefcount() - total, 200)

    def test_registry_dropped(self):
        p = EventProfiler(impl='c')
        p.start()
        work()
        p.stop()
        during = sys.getrefcount(work.__code__)
        del p
        gc.collect()
        self.assertEqual(sys.getrefcount(work.__code__), during - 1)

    def test_cycles_no_memory_leak(self):
        for impl in IMPLS:
            tracemalloc.start()
            try:
                for i in range(25):
                    if i == 5:
                        gc.collect()
                        before = tracemalloc.get_traced_memory()[0]
                    with WithEventProfiler(impl=impl, size=50) as w:
                        work()
                    self.assertGreater(len(w.report), 0)
                    del w
                gc.collect()
                after = tracemalloc.get_traced_memory()[0]
            finally:
                tracemalloc.stop()
            self.assertLess(after - before, 64 * 1024, impl)


if __name__ == '__main__':
    evprof_test.main()
