"""
The in-memory profiler: the events stay in the C buffer after stop() and
every report reads them there; recording, saving and the sinks need
neither numpy nor pandas.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

import numpy

import evprof_test

evprof = evprof_test.load()
EventProfiler = evprof.EventProfiler


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def churn():
    keep = [bytearray(100 + i) for i in range(50)]
    del keep[::2]
    return keep


def rss():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def run_python(code):
    """Runs *code* in a fresh interpreter that imports evprof_test."""
    return subprocess.run(
        [sys.executable, '-c', textwrap.dedent(code)],
        env=evprof_test.subprocess_env(), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, universal_newlines=True, timeout=300)


class TestInMemory(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='evprof-test-')

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def profiled(self, **kw):
        prof = EventProfiler(impl='c', **kw)
        prof.start()
        fib(8)
        churn()
        prof.stop()
        return prof

    def test_stop_leaves_events_in_place(self):
        prof = self.profiled()
        held = prof._buffer.count()
        self.assertGreater(held, 100)
        a = prof.retrieve_raw_results()
        df = prof.retrieve_results()
        # read, not taken out: the same again, still in the buffer
        self.assertEqual(prof._buffer.count(), held)
        numpy.testing.assert_array_equal(a, prof.retrieve_raw_results())
        self.assertTrue(df.equals(prof.retrieve_results()))
        self.assertEqual(len(a), held)
        self.assertEqual(df['event'].iloc[0], 'profiler_start')
        self.assertEqual(df['event'].iloc[-1], 'profiler_sort')

    def test_events_moved_on_demand(self):
        # the seed's _events: reading it moves the events into numpy
        # arrays, and the reports stay the same
        for size in (7, 1000000):
            with self.subTest(size=size):
                prof = self.profiled(size=size)
                before = prof.retrieve_raw_results()
                df = prof.retrieve_results(thread=True)
                parts = prof._events
                self.assertEqual(prof._buffer.count(), 0)
                self.assertEqual(sum(len(p) for p in parts), len(before))
                numpy.testing.assert_array_equal(
                    before, prof.retrieve_raw_results())
                self.assertTrue(df.equals(prof.retrieve_results(thread=True)))

    def test_moved_then_more(self):
        # events moved during a run, then more: one timeline, the freed
        # sizes filled across the two
        prof = EventProfiler(impl='c')
        prof.start()
        keep = [bytearray(1000 + i) for i in range(20)]
        self.assertGreater(prof._empty_cache(), 0)
        del keep
        fib(5)
        prof.stop()
        raw = prof.retrieve_raw_results()
        self.assertGreater(prof._buffer.count(), 0)
        times = raw[:, 3]
        self.assertTrue((times[1:] >= times[:-1]).all())
        frees = raw[(raw[:, 2] == 1003)]
        self.assertTrue((frees[:, 5] <= -1000).any())
        # and a file of it reads back the same
        path = os.path.join(self.dir, 'moved.evt')
        prof.save(path)
        self.assertTrue(evprof.load(path).equals(prof.retrieve_results()))

    def test_save_equals_report(self):
        prof = self.profiled(size=50)
        path = os.path.join(self.dir, 'x.evt')
        prof.save(path)
        self.assertTrue(evprof.load(path, thread=True).equals(
            prof.retrieve_results(thread=True)))
        trace = evprof.tracefile.read_trace(path)
        numpy.testing.assert_array_equal(
            trace.events[:, [0, 1, 2, 3, 5]],
            prof.retrieve_raw_results()[:, [0, 1, 2, 3, 5]])

    def test_previous_run_while_running(self):
        # empty_cache=False during a second run: the runs stopped only
        prof = EventProfiler(impl='c')
        prof.start()
        fib(6)
        prof.stop()
        first = prof.retrieve_raw_results()
        prof.start()
        fib(7)
        during = prof.retrieve_raw_results(empty_cache=False)
        everything = prof.retrieve_raw_results()
        prof.stop()
        numpy.testing.assert_array_equal(first, during)
        self.assertGreater(len(everything), len(first))
        both = prof.retrieve_raw_results()
        numpy.testing.assert_array_equal(both[:len(first)], first)

    def test_summary_of_the_sink(self):
        prof = self.profiled()
        table = prof.summary(sort='calls')
        ref = evprof.summary.summary(prof.retrieve_results(thread=True),
                                     sort='calls')
        self.assertEqual(list(table.columns), list(ref.columns))
        key = ['name', 'mod', 'lineno']
        a = table.sort_values(key).reset_index(drop=True)
        b = ref.sort_values(key).reset_index(drop=True)
        self.assertTrue(a.equals(b), (a.head(), b.head()))
        self.assertEqual(table['name'].iloc[0], 'fib')
        with self.assertRaises(ValueError):
            prof.summary(sort='speed')

    def test_start_commits_no_chunk(self):
        # a chunk of 20 million events (960 MB) is not committed by
        # start(): memory follows the events
        prof = EventProfiler(impl='c', size=20000000, memory=False)
        before = rss()
        try:
            prof.start()
        except MemoryError:  # pragma: no cover - a small address space
            self.skipTest('no address space for the chunk')
        fib(3)
        prof.stop()
        self.assertLess(rss() - before, 64 << 20)
        self.assertEqual(len(prof.retrieve_raw_results()),
                         prof._buffer.count())

    def test_no_numpy_to_record(self):
        path = os.path.join(self.dir, 'y.evt')
        p = run_python('''
            import sys
            import evprof_test
            evprof = evprof_test.load()

            def fib(n):
                return n if n < 2 else fib(n - 1) + fib(n - 2)

            prof = evprof.EventProfiler(impl='c')
            prof.start()
            fib(10)
            prof.stop()
            prof.save(%r)
            n = prof.to_chrome_trace(%r + '.json')
            print([m for m in ('numpy', 'pandas') if m in sys.modules], n)
            ''' % (path, path))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith('[] '), p.stdout)
        self.assertGreater(int(p.stdout.split()[-1]), 177)
        df = evprof.load(path)
        calls = df[(df['event'] == 'call') & (df['name'] == 'fib')]
        self.assertEqual(len(calls), 177)
        self.assertEqual(set(calls['from_name']), {'fib', '<module>'})

    def test_missing_pandas_is_one_clear_error(self):
        p = run_python('''
            import sys
            sys.modules['pandas'] = None
            sys.modules['numpy'] = None
            import evprof_test
            evprof = evprof_test.load()
            prof = evprof.EventProfiler(impl='c')
            prof.start()
            prof.stop()
            for call in (prof.retrieve_results, prof.retrieve_raw_results):
                try:
                    call()
                except ImportError as e:
                    print(e)
            ''')
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(len(lines), 2, p.stdout)
        self.assertIn('retrieve_results needs numpy: apt-get install '
                      'python3-numpy', lines[0])
        self.assertIn('needs numpy', lines[1])


if __name__ == '__main__':
    evprof_test.main()
