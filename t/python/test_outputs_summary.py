"""The per-function summary and the picture."""
import os
import shutil
import tempfile
import time
import unittest

import pandas

import evprof_test

evprof = evprof_test.load()
from evprof import summary as summ  # noqa: E402

COLUMNS = ['time', 'value1', 'value2', 'event', 'name', 'mod', 'lineno',
           'from_name', 'from_mod', 'from_line']


def frame(rows):
    """A timeline DataFrame from (time, event, name[, value2]) tuples."""
    return pandas.DataFrame(
        [(r[0], 0, r[3] if len(r) > 3 else 0, r[1], r[2], 'm',
          -1 if r[1].startswith('c_') else 1, '', '', -1) for r in rows],
        columns=COLUMNS)


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def sleepy():
    time.sleep(0.02)
    return [0] * 100000


def row(table, name):
    got = table[table['name'] == name]
    assert len(got) == 1, got
    return got.iloc[0]


class TestSummary(unittest.TestCase):

    def test_exact_times(self):
        # f [0, 100] calls g [10, 40] (which calls builtin len [20, 30])
        # and g again [50, 60]; g allocates 64 and frees 16.
        df = frame([(0, 'call', 'f'), (10, 'call', 'g'),
                    (15, 'malloc', 'g', 64), (20, 'c_call', 'len'),
                    (30, 'c_return', 'len'), (35, 'free', 'g', -16),
                    (40, 'return', 'g'), (50, 'call', 'g'),
                    (60, 'return', 'g'), (100, 'return', 'f')])
        table = summ.summary(df)
        self.assertEqual(list(table.columns), summ.SUMMARY_COLUMNS)
        self.assertEqual(list(table['name']), ['f', 'g', 'len'])
        f, g, ln = row(table, 'f'), row(table, 'g'), row(table, 'len')
        self.assertEqual((f.calls, f.inclusive_ns, f.exclusive_ns),
                         (1, 100, 60))
        self.assertEqual((g.calls, g.inclusive_ns, g.exclusive_ns),
                         (2, 40, 30))
        self.assertEqual((ln.calls, ln.inclusive_ns, ln.exclusive_ns),
                         (1, 10, 10))
        self.assertTrue(ln.builtin)
        self.assertFalse(g.builtin)
        self.assertEqual((g.allocations, g.bytes_allocated, g.bytes_net),
                         (1, 64, 48))
        self.assertEqual((f.bytes_allocated, f.bytes_net), (0, 0))

    def test_recursion_counted_once(self):
        df = frame([(0, 'call', 'r'), (10, 'call', 'r'), (20, 'call', 'r'),
                    (30, 'return', 'r'), (40, 'return', 'r'),
                    (100, 'return', 'r')])
        r = row(summ.summary(df), 'r')
        self.assertEqual((r.calls, r.inclusive_ns, r.exclusive_ns),
                         (3, 100, 100))

    def test_unbalanced(self):
        df = frame([(0, 'return', 'early'), (10, 'call', 'late'),
                    (30, 'malloc', 'late', 8)])
        table = summ.summary(df)
        self.assertEqual(row(table, 'early').inclusive_ns, 0)
        self.assertEqual(row(table, 'late').inclusive_ns, 20)
        self.assertEqual(row(table, 'late').bytes_allocated, 8)

    def test_profile(self):
        for impl in ('python', 'c'):
            with self.subTest(impl=impl):
                prof = evprof.EventProfiler(impl=impl)
                prof.start()
                fib(10)
                sleepy()
                prof.stop()
                table = prof.summary()
                self.assertEqual(row(table, 'fib').calls, 177)
                s = row(table, 'sleepy')
                self.assertGreaterEqual(s.inclusive_ns, 20000000)
                self.assertLess(s.exclusive_ns, s.inclusive_ns)
                self.assertGreaterEqual(s.bytes_allocated, 800000)
                sl = row(table, 'sleep')
                self.assertTrue(sl.builtin)
                self.assertGreaterEqual(sl.exclusive_ns, 20000000)
                text = summ.format_summary(table)
                self.assertIn('sleepy', text)
                self.assertIn('incl (ms)', text)

    def test_bytes_by_domain(self):
        # A list of 100000 items: its array of pointers from the mem
        # domain (PyMem_Malloc), the list object from obj.
        prof = evprof.EventProfiler(impl='c')
        prof.start()
        sleepy()
        prof.stop()
        table = prof.summary()
        by_domain = table.attrs['bytes_by_domain']
        self.assertEqual(sum(by_domain.values()),
                         int(table['bytes_allocated'].sum()))
        self.assertGreaterEqual(by_domain.get('mem', 0), 800000)
        self.assertEqual(list(by_domain.values()),
                         sorted(by_domain.values(), reverse=True))
        self.assertTrue(all(n > 0 for n in by_domain.values()))
        text = summ.format_summary(table)
        self.assertRegex(text.splitlines()[-1],
                         r'^allocated by domain: mem [0-9.]+ [KMG]iB')
        # The summary of a DataFrame has no domains: no line.
        self.assertNotIn('by domain', summ.format_summary(
            summ.summary(prof.retrieve_results())))

    def test_sort_and_errors(self):
        df = frame([(0, 'call', 'a'), (5, 'return', 'a'), (6, 'call', 'b'),
                    (7, 'malloc', 'b', 10), (16, 'return', 'b')])
        self.assertEqual(list(summ.summary(df, sort='name')['name']),
                         ['a', 'b'])
        self.assertEqual(list(summ.summary(df, sort='bytes')['name']),
                         ['b', 'a'])
        with self.assertRaises(ValueError) as cm:
            summ.summary(df, sort='speed')
        self.assertIn('speed', str(cm.exception))
        with self.assertRaises(ValueError):
            summ.summary(df.drop(columns=['event']))
        empty = summ.summary(frame([]))
        self.assertEqual(len(empty), 0)
        self.assertEqual(list(empty.columns), summ.SUMMARY_COLUMNS)


class TestPlot(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='evprof-test-')

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def assertPNG(self, path):
        with open(path, 'rb') as f:
            head = f.read(8)
        self.assertEqual(head, b'\x89PNG\r\n\x1a\n')
        self.assertGreater(os.path.getsize(path), 5000)

    def test_plot_profile(self):
        prof = evprof.EventProfiler(impl='c')
        prof.start()
        fib(8)
        sleepy()
        prof.stop()
        path = os.path.join(self.dir, 'timeline.png')
        prof.plot(path)
        self.assertPNG(path)

    def test_plot_without_calls_or_memory(self):
        from evprof import plot
        path = os.path.join(self.dir, 'empty.png')
        plot.plot_timeline(frame([(0, 'profiler_start', '')]), path)
        self.assertPNG(path)
        path = os.path.join(self.dir, 'calls.png')
        plot.plot_timeline(frame([(0, 'call', 'a'), (9, 'return', 'a')]),
                           path, title='calls only')
        self.assertPNG(path)


if __name__ == '__main__':
    evprof_test.main()
