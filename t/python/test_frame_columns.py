"""The DataFrame's opt-in columns: ``domain`` (the allocator of each
memory event) and ``thread`` (a value a thread, also when CPython reused
an ident), with the names of threads that ended."""
import os
import re
import shutil
import tempfile
import threading
import unittest

import evprof_test

evprof = evprof_test.load()
from evprof._names import DOMAINS  # noqa: E402

COLUMNS = ['time', 'value1', 'value2', 'event', 'name', 'mod', 'lineno',
           'from_name', 'from_mod', 'from_line']
MEMORY = ('malloc', 'calloc', 'realloc', 'free', 'realloc_free')


def allocate():
    return [str(i) * 3 for i in range(2000)]


def work(seen, n):
    seen.append((threading.get_ident(), threading.get_native_id()))
    return [str(i) for i in range(n)]


def sequential_threads(prof, count=3):
    """Threads run one after another: CPython may reuse their idents."""
    seen = []
    prof.start()
    for k in range(count):
        t = threading.Thread(target=work, args=(seen, 2000),
                             name='seq-%d' % k)
        t.start()
        t.join()
    prof.stop()
    return seen


class TestDomain(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='evprof-test-')

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_domains_match_the_library_map(self):
        with open(os.path.join(evprof_test.SRCDIR, 'lib', 'evprof',
                               'domain.h')) as f:
            header = f.read()
        got = re.findall(r'XX\((\w+), (\d+), "(\w+)"', header)
        self.assertEqual(tuple(name for _, _, name in
                               sorted(got, key=lambda g: int(g[1]))),
                         DOMAINS)

    def test_domain_column(self):
        for impl in ('c', 'python'):
            prof = evprof.EventProfiler(impl=impl)
            prof.start()
            allocate()
            prof.stop()
            plain = prof.retrieve_results()
            self.assertEqual(list(plain.columns), COLUMNS)
            df = prof.retrieve_results(domain=True)
            self.assertEqual(list(df.columns), COLUMNS + ['domain'])
            mem = df['event'].isin(MEMORY)
            self.assertTrue(mem.any())
            self.assertTrue(set(df.loc[mem, 'domain']) <= set(DOMAINS))
            self.assertIn('obj', set(df.loc[mem, 'domain']))
            self.assertEqual(set(df.loc[~mem, 'domain']), {''})
            # The other columns are those of the default frame.
            self.assertTrue(df[COLUMNS].equals(plain))
            both = prof.retrieve_results(thread=True, domain=True)
            self.assertEqual(list(both.columns),
                             COLUMNS + ['domain', 'thread'])
            # The domain is id_arg of the raw memory events.
            raw = prof.retrieve_raw_results()
            codes = raw[raw[:, 2] >= 1000, 1]
            self.assertEqual(list(df.loc[mem, 'domain']),
                             [DOMAINS[c] for c in codes])

    def test_only_asked_domains(self):
        prof = evprof.EventProfiler(impl='c', memory=['mem'])
        prof.start()
        allocate()
        prof.stop()
        df = prof.retrieve_results(domain=True)
        self.assertEqual(set(df.loc[df['event'].isin(MEMORY), 'domain']),
                         {'mem'})

    def test_numpy_domain(self):
        import numpy
        prof = evprof.EventProfiler(impl='c')
        prof.start()
        a = numpy.zeros(10 ** 6)
        del a
        prof.stop()
        df = prof.retrieve_results(domain=True)
        big = df[(df['domain'] == 'numpy') & (df['event'].isin(
            ['malloc', 'calloc']))]
        self.assertIn(8 * 10 ** 6, set(big['value2']))

    def test_domain_through_files(self):
        prof = evprof.EventProfiler(impl='c')
        prof.start()
        allocate()
        prof.stop()
        path = os.path.join(self.dir, 't.evt')
        prof.save(path)
        loaded = evprof.load(path, domain=True)
        self.assertTrue(loaded.equals(prof.retrieve_results(domain=True)))
        self.assertEqual(list(evprof.load(path).columns), COLUMNS)
        stream = evprof.EventProfiler(impl='c', output=os.path.join(
            self.dir, 's.evt'))
        stream.start()
        allocate()
        stream.stop()
        df = stream.retrieve_results(domain=True)
        mem = df['event'].isin(MEMORY)
        self.assertIn('obj', set(df.loc[mem, 'domain']))
        self.assertEqual(list(stream.retrieve_results().columns), COLUMNS)

    def test_load_of_a_stream_has_freed_sizes(self):
        path = os.path.join(self.dir, 's.evt')
        prof = evprof.EventProfiler(impl='c', output=path)
        prof.start()
        x = allocate()
        del x
        prof.stop()
        df = evprof.load(path)
        frees = df[df['event'] == 'free']
        self.assertTrue((frees['value2'] < 0).any())
        self.assertTrue(df.equals(prof.retrieve_results()))


class TestThreadColumn(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='evprof-test-')

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def check_threads(self, df, seen, names=True):
        calls = df[(df['event'] == 'call') & (df['name'] == 'work')]
        keys = list(calls['thread'])
        self.assertEqual(len(keys), 3)
        self.assertEqual(len(set(keys)), 3, (keys, seen))
        self.assertNotIn(threading.get_ident(), keys)
        # Each key is the thread's ident, or, for a thread that reused an
        # earlier one's ident, its native id.
        for key, (ident, native) in zip(keys, seen):
            self.assertIn(key, (ident, native))
        earlier = set()
        for key, (ident, native) in zip(keys, seen):
            self.assertEqual(key, native if ident in earlier else ident)
            earlier.add(ident)
        if names:
            got = df.attrs['thread_names']
            self.assertEqual([got.get(k) for k in keys],
                             ['seq-0', 'seq-1', 'seq-2'])
            self.assertEqual(got[threading.get_ident()], 'MainThread')

    def test_reused_idents_stay_apart(self):
        for impl in ('c', 'pybind11', 'python'):
            prof = evprof.EventProfiler(impl=impl, threads=True)
            seen = sequential_threads(prof)
            self.check_threads(prof.retrieve_results(thread=True), seen)

    def test_reused_idents_in_files(self):
        prof = evprof.EventProfiler(impl='c', threads=True)
        seen = sequential_threads(prof)
        path = os.path.join(self.dir, 't.evt')
        prof.save(path)
        df = evprof.load(path, thread=True)
        # A trace names threads by ident, each thread's name in its turn.
        self.check_threads(df, seen)
        stream = evprof.EventProfiler(impl='c', threads=True,
                                      output=os.path.join(self.dir, 's.evt'))
        seen = sequential_threads(stream)
        self.check_threads(stream.retrieve_results(thread=True), seen)
        self.check_threads(evprof.load(os.path.join(self.dir, 's.evt'),
                                       thread=True), seen)

    def test_every_thread_of_a_file_a_value(self):
        # Idents shared (with and without native ids), and one past 2**63
        # (unsigned, as the THREADS table holds them): four values.
        import numpy
        from evprof import tracefile
        path = os.path.join(self.dir, 'idents.evt')
        raw = numpy.zeros((4, 6), dtype=numpy.int64)
        raw[:, 3] = numpy.arange(4)
        with tracefile.TraceWriter(path) as w:
            w.write_events(raw, numpy.arange(4, dtype=numpy.uint32))
            w.write_threads([(7, 100), (7, 101), (7, 0), (2 ** 64 - 3, 0)])
            w.write_meta({'thread_name.7': 'a'})
            w.write_meta({'thread_name.7': 'b'})
        df = evprof.load(path, thread=True)
        self.assertEqual(df['thread'].tolist(), [7, 101, -3, -3 - 1])
        # Two names for three threads of ident 7: the last gets the last.
        self.assertEqual(df.attrs['thread_names'],
                         {7: None, 101: None, -3: 'b'})

    def test_names_of_threads_that_ended(self):
        prof = evprof.EventProfiler(impl='c', threads=True)
        sequential_threads(prof)
        self.assertEqual(threading.active_count(), 1)
        names = prof.retrieve_results(thread=True).attrs['thread_names']
        self.assertEqual(sorted(names.values()),
                         ['MainThread', 'seq-0', 'seq-1', 'seq-2'])
        fig = prof.plot(os.path.join(self.dir, 'p.png'))
        calls = [ax for ax in fig.axes if ax.get_label() == 'calls'][0]
        self.assertEqual([t.get_text() for t in calls.get_yticklabels()],
                         ['MainThread', 'seq-0', 'seq-1', 'seq-2'])

    def test_thread_start_adds_no_event(self):
        # What notes the threads' names is no call of the program's.
        def run():
            prof = evprof.EventProfiler(impl='c')
            prof.start()
            t = threading.Thread(target=len, args=((),))
            t.start()
            t.join()
            prof.stop()
            df = prof.retrieve_results()
            return list(df.loc[df['event'].isin(['call', 'c_call']),
                               'name'])
        names = run()
        self.assertTrue({'start_new_thread', 'start_joinable_thread'}
                        & set(names), names)
        self.assertFalse([n for n in names if 'ThreadNotes' in n
                          or 'limbo' in n])


if __name__ == '__main__':
    evprof_test.main()
