"""The DataFrame built a block of events at a time (evprof.load,
tracefile.trace_to_frame, retrieve_results) is the frame of the whole
array of events at once, whatever the block: across blocks and sections,
with threads, memory events and their freed sizes, cut files, streams."""
import warnings

import numpy
import pandas

import evprof_test

evprof = evprof_test.load()
from evprof import tracefile  # noqa: E402
from evprof._report import (EVENT_NAMES, domain_names,  # noqa: E402
                            fill_freed_sizes)
from evprof._names import thread_keys  # noqa: E402

BLOCKS = (999, 4099, 65536)


# ---- the frame of the whole array at once: what is compared to -------

def whole_lines(trace, idx, keys, offsets):
    """The line of each (key, offset), one dict look-up an event."""
    line_of = dict(zip(zip(trace.lines['key'].tolist(),
                           trace.lines['offset'].tolist()),
                       trace.lines['line'].tolist()))
    return numpy.array([line_of.get((k, o), -1) if i > 0 else -1
                        for i, k, o in zip(idx.tolist(), keys.tolist(),
                                           offsets.tolist())],
                       dtype=numpy.int64)


def whole_frame(trace, thread=False, domain=False):
    """The DataFrame of *trace*, from its whole array of events."""
    res = trace.events
    names = trace.names.drop_duplicates('key', keep='last')
    names = names.sort_values('key', kind='stable')
    keys = names['key'].to_numpy(numpy.int64)
    n = len(names) + 1
    name = numpy.array([''] + list(names['name']), dtype=object)
    mod = numpy.empty(n, dtype=object)
    mod[0] = ''
    first = numpy.full(n, -1, dtype=numpy.int64)
    for i, (kind, fl, md, path) in enumerate(zip(
            names['kind'], names['first_line'], names['module'],
            names['file']), 1):
        if kind == tracefile.KIND_NATIVE and path:
            md = path
        elif kind == tracefile.KIND_BUILTIN and md == '':
            md = None
        mod[i] = md
        if kind == tracefile.KIND_CODE or (kind == tracefile.KIND_NATIVE
                                           and fl > 0):
            first[i] = fl

    def index(k):
        where = {key: i for i, key in enumerate(keys.tolist(), 1)}
        return numpy.array([where.get(x, 0) for x in k.tolist()],
                           dtype=numpy.int64)

    event = res[:, 2]
    fidx, aidx = index(res[:, 0]), index(res[:, 1])
    is_call = (event >= 1) & (event <= 6)
    is_c = (event >= 3) & (event <= 4) | (event == 6)
    from_idx = numpy.where(is_call, aidx, 0)
    mem = event >= 1000
    value2 = numpy.where(mem, res[:, 5], 0)
    if (mem & (event >= 1003) & (value2 == 0)).any():
        value2[mem] = fill_freed_sizes(res[mem].copy())[:, 5]
    data = {
        'time': res[:, 3].copy(),
        'value1': numpy.where(mem, res[:, 4], 0),
        'value2': value2,
        'event': EVENT_NAMES[numpy.clip(event, 0, 1004)],
        'name': name[fidx], 'mod': mod[fidx],
        'lineno': numpy.where(is_c, first[aidx], first[fidx]),
        'from_name': name[from_idx], 'from_mod': mod[from_idx],
        'from_line': whole_lines(trace, from_idx, res[:, 1], res[:, 4]),
    }
    if domain:
        data['domain'] = domain_names(event, res[:, 1])
    if thread:
        idents = thread_keys(trace.threads) or [0]
        index_ = (numpy.zeros(len(res), numpy.int64) if trace.thread is None
                  else trace.thread.astype(numpy.int64))
        index_[index_ == tracefile.NO_THREAD] = 0
        data['thread'] = numpy.array(
            [idents[i] if i < len(idents) else 0 for i in index_.tolist()],
            dtype=numpy.int64)
    return pandas.DataFrame(data)


def allocate(n):
    keep = [bytearray(64 + i % 300) for i in range(n)]
    del keep[::2]
    return sum(len(b) for b in keep)


class TestBlocks(evprof_test.TempDir):

    def assertSameFrame(self, got, want, what=''):
        """Columns, dtypes and values (Python ==, so None is None)."""
        self.assertEqual(list(got.columns), list(want.columns), what)
        self.assertEqual(list(got.dtypes), list(want.dtypes), what)
        self.assertEqual(len(got), len(want), what)
        self.assertTrue(got.index.equals(want.index), what)
        for name in want.columns:
            a, b = got[name].tolist(), want[name].tolist()
            if a != b:
                bad = next(i for i, (x, y) in enumerate(zip(a, b))
                           if x != y)
                self.fail('%s: column %s differs at row %d: %r, not %r'
                          % (what, name, bad, a[bad], b[bad]))

    def check_file(self, path, blocks=BLOCKS):
        """Every way of reading *path* gives the whole-array frame."""
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', tracefile.TraceTruncatedWarning)
            trace = tracefile.read_trace(path)
            for thread in (False, True):
                for domain in (False, True):
                    want = whole_frame(trace, thread, domain)
                    for block in blocks:
                        data, _ = tracefile._load_columns(
                            path, None, thread, domain, None, block=block)
                        got = pandas.DataFrame(data, copy=False)
                        self.assertSameFrame(got, want, '%s block %d'
                                             % (path, block))
                    got = tracefile.trace_to_frame(trace, thread=thread,
                                                   domain=domain)
                    self.assertSameFrame(got, want, 'trace_to_frame')
                    got = evprof.load(path, thread=thread, domain=domain)
                    self.assertSameFrame(got, want, 'load')
        return trace

    def test_profile_with_threads_and_memory(self):
        import threading
        prof = evprof.EventProfiler(impl='c', threads=True)
        prof.start()
        ts = [threading.Thread(target=allocate, args=(3000,))
              for _ in range(3)]
        for t in ts:
            t.start()
        allocate(5000)
        for t in ts:
            t.join()
        prof.stop()
        path = self.path('t.evt')
        prof.save(path)
        trace = self.check_file(path)
        self.assertGreater(len(trace.events), 65536 + 7)
        self.assertGreater(len(trace.threads), 1)
        self.assertIn(1003, set(trace.events[:, 2].tolist()))
        # The live profiler's frame too, block by block.
        for thread in (False, True):
            got = prof.retrieve_results(thread=thread, domain=True)
            self.assertSameFrame(
                got, evprof.load(path, thread=thread, domain=True),
                'retrieve_results')

    def test_live_blocks(self):
        # Block by block from the buffer's chunks, or from the arrays the
        # seed's cache moved them into: the same frame.
        prof = evprof.EventProfiler(impl='c', size=1000)
        prof.start()
        allocate(30000)
        prof.stop()
        want = prof.retrieve_results(thread=True, domain=True)
        self.assertGreater(len(want), 65536)
        prof._empty_cache()
        self.assertTrue(prof._moved)
        got = prof.retrieve_results(thread=True, domain=True)
        self.assertSameFrame(got, want, 'moved')

    def test_no_reset_while_read(self):
        prof = evprof.EventProfiler(impl='c')
        prof.start()
        allocate(100)
        prof.stop()
        block = numpy.empty((16, 6), dtype=numpy.int64)
        seen = []

        def callback(k):
            seen.append(k)
            with self.assertRaisesRegex(RuntimeError, 'while its events'):
                prof._buffer.reset()
        n = prof._buffer.read_blocks(block, None, callback, 40)
        self.assertEqual(n, 40)
        self.assertEqual(seen, [16, 16, 8])
        self.assertEqual(prof._buffer.count(), len(prof.retrieve_results()))

    def test_cut_files(self):
        prof = evprof.EventProfiler(impl='c')
        prof.start()
        allocate(40000)
        prof.stop()
        path = self.path('t.evt')
        prof.save(path)
        with open(path, 'rb') as f:
            data = f.read()
        for at in (len(data) // 3, len(data) // 2, len(data) - 10):
            cut = self.path('cut%d.evt' % at)
            with open(cut, 'wb') as f:
                f.write(data[:at])
            trace = self.check_file(cut, blocks=(999, 65536))
            self.assertIsNotNone(trace.truncated)
            self.assertGreater(len(trace.events), 0)

    def test_stream(self):
        path = self.path('s.evt')
        prof = evprof.EventProfiler(impl='c', threads=True, output=path)
        prof.start()
        allocate(20000)
        prof.stop()
        trace = self.check_file(path, blocks=(4099,))
        frees = trace.events[trace.events[:, 2] >= 1003]
        self.assertTrue((frees[:, 5] == 0).all())
        df = evprof.load(path)
        self.assertTrue((df.loc[df['event'] == 'free', 'value2'] < 0).any())
        self.assertSameFrame(prof.retrieve_results(), df, 'stream')

    def test_written_events(self):
        # Keys known and unknown, unknown event codes, memory events on
        # reused pointers with sizes given and not, call sites with and
        # without lines (offsets past 32 bits too), thread indices in
        # some sections only.
        rng = numpy.random.default_rng(7)
        n = 70001
        raw = numpy.zeros((n, 6), dtype=numpy.int64)
        raw[:, 0] = rng.integers(0x400, 0x40a, n)
        raw[:, 1] = rng.integers(0x400, 0x40c, n)
        raw[:, 2] = rng.choice([1, 2, 3, 4, 5, 6, 7, 100, 101, 1000, 1001,
                                1002, 1003, 1004, 1010, -1], n)
        raw[:, 3] = numpy.arange(n) * 3
        mem = raw[:, 2] >= 1000
        raw[:, 4] = numpy.where(mem, rng.integers(1, 50, n) * 16,
                                rng.choice([0, 2, 4, 1 << 40, -6], n))
        raw[:, 5] = numpy.where(mem & (raw[:, 2] < 1003),
                                rng.integers(1, 999, n),
                                numpy.where(mem & (rng.random(n) < 0.5),
                                            -rng.integers(1, 999, n), 0))
        thread = rng.integers(0, 3, n).astype(numpy.uint32)
        names = [(0x400 + k, (k % 3) + 1, 10 + k, 'f%d' % k,
                  'm%d' % (k % 4) if k != 5 else '', 'f%d.c' % k)
                 for k in range(8)]
        names.append((0x403, 1, 99, 'again', 'mod', 'file'))
        path = self.path('w.evt')
        with tracefile.TraceWriter(path) as w:
            w.write_events(raw[:30000], thread[:30000])
            w.write_events(raw[30000:50000])
            w.write_events(raw[50000:], thread[50000:])
            w.write_threads([(11, 1), (11, 2), (13, 3)])
            w.write_names(names)
            w.write_lines([0x401, 0x401, 0x402, 0x404, 0x402],
                          [2, 4, 1 << 40, -6, 2], [5, 6, 7, 8, 9])
        self.check_file(path)

    def test_empty(self):
        path = self.path('e.evt')
        with tracefile.TraceWriter(path) as w:
            w.write_events(numpy.zeros((0, 6), dtype=numpy.int64))
        self.check_file(path, blocks=(7,))


if __name__ == '__main__':
    evprof_test.main()
