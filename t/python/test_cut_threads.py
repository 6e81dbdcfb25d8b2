"""
A trace cut off after the first events of a thread whose THREADS entry
was not written yet (a stream writes it after them): evprof.load gives
those events a thread of their own (unnamed, ident 0 in the ``thread``
column), never the first thread's; the warning says so; `evprof report`
counts two threads, `convert --format chrome` puts them on a track of
their own, and `convert --format evprof` writes a complete trace that
lists it.
"""
import json
import os
import struct
import subprocess
import sys
import warnings

import evprof_test

evprof = evprof_test.load()

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, 'run_evprof.py')
UNLISTED = '1 thread not in the THREADS table'
THREADS = [(1111, 11, os.getpid()), (2222, 22, os.getpid())]


def events(key, n):
    """n // 2 calls of key, then their returns."""
    import numpy
    ev = numpy.zeros((n, 6), dtype=numpy.int64)
    ev[:, 0] = key
    ev[:, 2] = [1] * (n // 2) + [2] * (n // 2)
    ev[:, 3] = numpy.arange(n) * 100 + 1000
    return ev


class TestCutThreads(evprof_test.TempDir):
    def setUp(self):
        import numpy
        super().setUp()
        self.full = self.path('full.evt')
        with evprof.tracefile.TraceWriter(self.full) as w:
            w.write_meta({'thread_name.1111': 'A'})
            w.write_threads(THREADS[:1])
            w.write_names([(1, 1, 1, 'alpha', 'cut.py', 'cut.py'),
                           (2, 1, 5, 'beta', 'cut.py', 'cut.py')])
            w.write_events(events(1, 6), numpy.zeros(6, dtype=numpy.uint32))
            w.write_events(events(2, 4), numpy.ones(4, dtype=numpy.uint32))
            w.write_threads(THREADS)
        with open(self.full, 'rb') as f:
            data = f.read()
        at, last = struct.unpack_from('<I', data, 12)[0], 0
        while at + 24 <= len(data):
            typ, _, length = struct.unpack_from('<IIQ', data, at)
            if typ == 2:
                last = at
            at += 24 + length
        self.at = last
        self.cut = self.path('cut.evt')
        with open(self.cut, 'wb') as f:
            f.write(data[:last])

    def evprof(self, *args):
        proc = subprocess.run([sys.executable, RUNNER] + list(args),
                              env=evprof_test.subprocess_env(),
                              cwd=self.dir, capture_output=True, text=True,
                              timeout=120)
        return proc.returncode, proc.stdout, proc.stderr

    def load(self, path):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            df = evprof.load(path, thread=True)
        return df, [str(w.message) for w in caught]

    def test_load(self):
        df, caught = self.load(self.cut)
        self.assertEqual(len(caught), 1, caught)
        self.assertIn('truncated at offset %d' % self.at, caught[0])
        self.assertIn(UNLISTED, caught[0])
        self.assertEqual(len(df), 10)
        by_name = df.groupby('name')['thread'].unique()
        self.assertEqual(list(by_name['alpha']), [1111])
        self.assertEqual(list(by_name['beta']), [0])
        self.assertEqual(df.attrs['thread_names'].get(1111), 'A')
        self.assertIsNone(df.attrs['thread_names'].get(0))
        df, caught = self.load(self.full)
        self.assertEqual(caught, [])
        self.assertEqual(
            list(df.groupby('name')['thread'].unique()['beta']), [2222])

    def test_read_trace(self):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            trace = evprof.tracefile.read_trace(self.cut)
        self.assertIn(UNLISTED, str(caught[0].message))
        self.assertEqual(trace.threads,
                         [THREADS[0], (0, 0, THREADS[0][2])])
        self.assertEqual(sorted(set(trace.thread.tolist())), [0, 1])

    def test_cli(self):
        rc, out, err = self.evprof('report', 'cut.evt')
        self.assertEqual(rc, 0, err)
        self.assertIn(UNLISTED, err)
        self.assertTrue(out.startswith('cut.evt: 10 events, 2 threads'), out)
        rc, _, err = self.evprof('convert', 'cut.evt', '--format', 'chrome',
                                 '-o', 'cut.json')
        self.assertEqual(rc, 0, err)
        self.assertIn(UNLISTED, err)
        with open(self.path('cut.json')) as f:
            trace = json.load(f)['traceEvents']
        tid = {e['name']: e['tid'] for e in trace if e['ph'] == 'X'}
        self.assertEqual(tid, {'alpha': 1, 'beta': 2})
        names = {e['tid']: e['args']['name'] for e in trace
                 if e['ph'] == 'M' and e['name'] == 'thread_name'}
        self.assertEqual(names, {1: 'A', 2: 'thread 0'})

    def test_convert_evprof(self):
        rc, _, err = self.evprof('convert', 'cut.evt', '--format', 'evprof',
                                 '-o', 'out.evt')
        self.assertEqual(rc, 0, err)
        lines = err.strip().splitlines()
        self.assertTrue(lines[0].startswith(
            'evprof: warning: cut.evt: truncated at offset %d (' % self.at),
            err)
        self.assertEqual(lines[1:], ['evprof: out.evt written'])
        cut, _ = self.load(self.cut)
        df, caught = self.load(self.path('out.evt'))
        self.assertEqual(caught, [])
        self.assertTrue(df.equals(cut))
        trace = evprof.tracefile.read_trace(self.path('out.evt'))
        self.assertEqual(trace.threads, [THREADS[0], (0, 0, THREADS[0][2])])


if __name__ == '__main__':
    evprof_test.main()
