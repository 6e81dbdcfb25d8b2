"""
numpy's array data on the timeline (domain 'numpy'): sizes and callers,
the same bytes as tracemalloc's numpy domain, blocks paired, numpy
imported after start(), threads, the handler put back, and opting out.
"""
import os
import subprocess
import sys
import threading
import tracemalloc
import unittest
import warnings

import evprof_test

evprof = evprof_test.load()

try:
    import numpy
except ImportError:  # pragma: no cover
    numpy = None

NUMPY = 3            # EVPROF_DOMAIN_NUMPY
NUMPY_TRACE = 389047  # numpy's tracemalloc domain
ALLOCS = (1000, 1001, 1002)
FREES = (1003, 1004)


def make_arrays(sizes):
    return [numpy.zeros(n) for n in sizes]


def handler_name():
    return numpy.core.multiarray.get_handler_name()


def numpy_rows(raw):
    mem = numpy.isin(raw[:, 2], ALLOCS + FREES)
    return raw[mem & (raw[:, 1] == NUMPY)]


@unittest.skipIf(numpy is None, 'numpy is not installed')
class TestNumpyData(unittest.TestCase):

    def profile(self, func, **kw):
        prof = evprof.EventProfiler(impl='c', **kw)
        prof.start()
        try:
            out = func()
        finally:
            prof.stop()
        return prof, out

    def test_sizes_and_callers(self):
        sizes = (1000, 10 ** 5, 3 * 10 ** 6)
        prof, arrays = self.profile(lambda: make_arrays(sizes))
        df = prof.retrieve_results()
        big = df[(df.event == 'calloc') & df.value2.isin(
            [8 * n for n in sizes])]
        self.assertEqual(sorted(big.value2), [8 * n for n in sizes])
        self.assertEqual(set(big.name), {'<listcomp>'}
                         if sys.version_info < (3, 12) else {'make_arrays'})
        del arrays

    def test_same_bytes_as_tracemalloc(self):
        sizes = [10 ** 4 * k for k in range(1, 40)]
        only = [tracemalloc.DomainFilter(True, NUMPY_TRACE)]

        def traced():
            snap = tracemalloc.take_snapshot().filter_traces(only)
            return sum(t.size for t in snap.traces)
        tracemalloc.start()
        try:
            before = traced()
            prof, arrays = self.profile(lambda: make_arrays(sizes))
            after = traced()
        finally:
            tracemalloc.stop()
        rows = numpy_rows(prof.retrieve_raw_results())
        alloc = rows[numpy.isin(rows[:, 2], ALLOCS), 5].sum()
        freed = -rows[numpy.isin(rows[:, 2], FREES), 5].sum()
        # What the run left alive, by both: tracemalloc's numpy domain
        # also has numpy's own buffers (PyDataMem_NEW, not the handler).
        self.assertLessEqual(alloc - freed, after - before)
        self.assertLess(after - before - (alloc - freed),
                        (after - before) / 1000)
        self.assertGreaterEqual(alloc - freed, 8 * sum(sizes))
        del arrays

    def test_blocks_paired(self):
        def work():
            for _ in range(20):
                a = numpy.ones(10 ** 5)
                b = a * 2
                del a, b
        prof, _ = self.profile(work)
        rows = numpy_rows(prof.retrieve_raw_results())
        live = {}
        for ptr, event, size in rows[:, [4, 2, 5]]:
            if event in ALLOCS:
                live[ptr] = size
            elif event in FREES and ptr in live:
                self.assertEqual(-size, live.pop(ptr))
        big = [s for s in live.values() if s >= 8 * 10 ** 5]
        self.assertEqual(big, [], 'every array made was freed')
        self.assertGreaterEqual(
            (rows[:, 2] == 1000).sum() + (rows[:, 2] == 1001).sum(), 40)

    def test_handler_put_back(self):
        before = handler_name()
        prof, _ = self.profile(lambda: numpy.zeros(10 ** 5))
        self.assertEqual(handler_name(), before)
        self.assertFalse(prof._buffer.numpy_owned())
        n = len(prof.retrieve_raw_results(empty_cache=True))
        arr = numpy.zeros(10 ** 5)
        self.assertEqual(len(prof.retrieve_raw_results()), n,
                         'nothing is logged after stop')
        del arr

    def test_put_back_on_exception(self):
        prof = evprof.EventProfiler(impl='c')

        def boom():
            numpy.zeros(10)
            raise KeyError('x')
        with self.assertRaises(KeyError):
            with evprof.WithEventProfiler(impl='c'):
                boom()
        self.assertFalse(prof._buffer.numpy_owned())
        arrays = make_arrays([10, 20])
        self.assertEqual(len(arrays), 2)

    def test_opt_out(self):
        prof, _ = self.profile(lambda: numpy.zeros(10 ** 5),
                               memory=('raw', 'mem', 'obj'))
        rows = numpy_rows(prof.retrieve_raw_results())
        self.assertEqual(len(rows), 0)
        prof, _ = self.profile(lambda: numpy.zeros(10 ** 5),
                               memory=('numpy',))
        raw = prof.retrieve_raw_results()
        mem = raw[numpy.isin(raw[:, 2], ALLOCS + FREES)]
        self.assertTrue(len(mem) > 0)
        self.assertEqual(set(mem[:, 1]), {NUMPY})

    def test_threads(self):
        def worker():
            numpy.zeros(123457)

        def work():
            t = threading.Thread(target=worker)
            t.start()
            t.join()
        prof, _ = self.profile(work, threads=True)
        rows = numpy_rows(prof.retrieve_raw_results())
        self.assertIn(8 * 123457, set(rows[:, 5]))

    def test_second_profiler_says_so(self):
        first = evprof.EventProfiler(impl='c')
        first.start()
        try:
            result = {}

            def other():
                second = evprof.EventProfiler(impl='c', memory=('numpy',))
                with warnings.catch_warnings(record=True) as w:
                    warnings.simplefilter('always')
                    second.start()
                    second.stop()
                result['w'] = [str(x.message) for x in w]
            t = threading.Thread(target=other)
            t.start()
            t.join()
        finally:
            first.stop()
        self.assertTrue(any('another profiler' in m for m in result['w']),
                        result['w'])

    def test_numpy_imported_after_start(self):
        script = (
            "import sys, evprof_test\n"
            "ev = evprof_test.load()\n"
            "p = ev.EventProfiler(impl='c')\n"
            "sys.modules.pop('numpy', None)\n"
            "p.start()\n"
            "import numpy\n"
            "a = numpy.zeros(654321)\n"
            "p.stop()\n"
            "raw = p.retrieve_raw_results()\n"
            "rows = raw[(raw[:, 1] == 3) & (raw[:, 2] >= 1000)]\n"
            "print(int((rows[:, 5] == 8 * 654321).sum()))\n")
        env = evprof_test.subprocess_env()
        out = subprocess.run([sys.executable, '-c', script], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        if 'numpy' in out.stderr and 'not recorded' in out.stderr:
            self.fail(out.stderr)
        self.assertEqual(out.stdout.strip(), '1', out.stderr)


if __name__ == '__main__':
    os.environ.setdefault('PYTHONDONTWRITEBYTECODE', '1')
    evprof_test.main()
