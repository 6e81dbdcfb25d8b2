"""Trace Event JSON: parses, nests per thread, counters, markers, threads."""
import decimal
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

import numpy
import pandas

import evprof_test

evprof = evprof_test.load()
from evprof import chrome, timeline  # noqa: E402

COLUMNS = ['time', 'value1', 'value2', 'event', 'name', 'mod', 'lineno',
           'from_name', 'from_mod', 'from_line']


def frame(rows, thread=None):
    """A timeline DataFrame from (time, event, name[, value2]) tuples."""
    data = []
    for row in rows:
        t, ev, name = row[:3]
        v2 = row[3] if len(row) > 3 else 0
        data.append((t, 0, v2, ev, name, 'm', 1, '', '', -1))
    df = pandas.DataFrame(data, columns=COLUMNS)
    if thread is not None:
        df['thread'] = thread
    return df


def leaf():
    return [0] * 100


def parent():
    leaf()
    time.sleep(0)
    leaf()


def load_json(path):
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def load_exact(path):
    """The document with its numbers as Decimals: times to the ns."""
    with open(path, encoding='utf-8') as f:
        return json.load(f, parse_float=decimal.Decimal)


def exact_tree(test, slices):
    """
    Checks that the X slices of one track (ts and dur Decimals) nest
    exactly: sorted by start, longest first, each lies inside the
    innermost open one or starts at or after its end.  Returns the
    depth of each slice, as (name, depth) in that order.
    """
    out, stack = [], []
    for ev in sorted(slices, key=lambda e: (e['ts'], -e['dur'])):
        start, end = ev['ts'], ev['ts'] + ev['dur']
        while stack and stack[-1] <= start and not (
                stack[-1] == start and end == start):
            stack.pop()
        if stack:
            test.assertLessEqual(end, stack[-1],
                                 'slice %r overlaps its parent' % ev)
        out.append((ev['name'], len(stack)))
        stack.append(end)
    return out


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def one_after_another(names):
    """Runs parent() on threads named *names*, one after another; their
    idents."""
    idents = []
    for name in names:
        t = threading.Thread(target=parent, name=name)
        t.start()
        t.join()
        idents.append(t.ident)
        # join() returns before the thread has quite ended: its stack,
        # whose address is the ident, is free for the next one once it
        # has.
        time.sleep(0.05)
    return idents


def thread_names(doc):
    """{tid: name} of the thread_name metadata of a document."""
    return {e['tid']: e['args']['name'] for e in doc['traceEvents']
            if e['ph'] == 'M' and e['name'] == 'thread_name'}


def check_trace(test, doc):
    """Checks the structure of a Trace Event document; returns it by ph."""
    test.assertIsInstance(doc, dict)
    events = doc['traceEvents']
    by_ph = {}
    for ev in events:
        test.assertIn('ph', ev)
        test.assertIn('pid', ev)
        by_ph.setdefault(ev['ph'], []).append(ev)
        if ev['ph'] in ('X', 'C', 'i', 'I'):
            test.assertIsInstance(ev['ts'], (int, float))
            test.assertIn('name', ev)
        if ev['ph'] == 'X':
            test.assertGreaterEqual(ev['dur'], 0)
            test.assertIn('tid', ev)
    named = {ev['tid'] for ev in by_ph.get('M', [])
             if ev['name'] == 'thread_name'}
    tracks = {}
    for ev in by_ph.get('X', []):
        test.assertIn(ev['tid'], named)
        tracks.setdefault(ev['tid'], []).append(ev)
    # On each track, slices nest: sorted by start (longest first), each
    # slice lies inside the innermost open one or starts after it ends.
    for tid, evs in tracks.items():
        evs.sort(key=lambda e: (e['ts'], -e['dur']))
        stack = []
        for ev in evs:
            start, end = ev['ts'], ev['ts'] + ev['dur']
            while stack and stack[-1] <= start and not (
                    stack[-1] == start and end == start):
                stack.pop()
            if stack:
                test.assertLessEqual(end, stack[-1] + 1e-3,
                                     'slice %r overlaps its parent' % ev)
            stack.append(end)
    return by_ph


class TestChrome(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='evprof-test-')
        self.out = os.path.join(self.dir, 'trace.json')

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_profile_each_impl(self):
        for impl in ('python', 'pybind11', 'c'):
            with self.subTest(impl=impl):
                prof = evprof.EventProfiler(impl=impl)
                prof.start()
                parent()
                prof.stop()
                n = prof.to_chrome_trace(self.out)
                doc = load_json(self.out)
                self.assertEqual(len(doc['traceEvents']), n)
                by_ph = check_trace(self, doc)
                xs = by_ph['X']
                par = [e for e in xs if e['name'] == 'parent']
                self.assertEqual(len(par), 1)
                p0, p1 = par[0]['ts'], par[0]['ts'] + par[0]['dur']
                leaves = [e for e in xs if e['name'] == 'leaf']
                self.assertEqual(len(leaves), 2)
                for e in leaves:
                    self.assertTrue(p0 <= e['ts'] <= e['ts'] + e['dur'] <= p1)
                    self.assertTrue(e['cat'].endswith(
                        ':%d' % leaf.__code__.co_firstlineno), e['cat'])
                    self.assertNotIn('args', e)
                    self.assertEqual(e['tid'], par[0]['tid'])
                sleep = [e for e in xs if e['name'] == 'sleep']
                self.assertEqual(len(sleep), 1)
                self.assertEqual(sleep[0]['cat'], 'time')
                self.assertNotIn('args', sleep[0])
                # Bytes in use: a counter track, and instant markers.
                self.assertTrue(all(e['name'] == 'memory'
                                    for e in by_ph['C']))
                self.assertTrue(all('bytes in use' in e['args']
                                    for e in by_ph['C']))
                ts = [e['ts'] for e in by_ph['C']]
                self.assertEqual(ts, sorted(ts))
                marks = {e['name'] for e in by_ph['i']}
                self.assertEqual(marks, {'profiler start', 'profiler stop'})

    def test_labels_are_names(self):
        # speedscope labels a slice with its name, then its args as JSON
        # when it has any: the label is the function's name alone, where
        # it is being the category.
        prof = evprof.EventProfiler(impl='c')
        prof.start()
        parent()
        prof.stop()
        prof.to_chrome_trace(self.out)
        from_sink = check_trace(self, load_json(self.out))['X']
        chrome.write_chrome_trace(prof.retrieve_results(), self.out)
        from_frame = check_trace(self, load_json(self.out))['X']
        for xs in (from_sink, from_frame):
            labels = {e['name'] + (' ' + json.dumps(e['args'])
                                   if e.get('args') else '') for e in xs}
            self.assertIn('leaf', labels)
            self.assertIn('parent', labels)
            cats = {e['cat'] for e in xs if e['name'] == 'leaf'}
            self.assertEqual(cats, {'%s:%d' % (
                leaf.__code__.co_filename, leaf.__code__.co_firstlineno)})

    def test_counter_values(self):
        df = frame([(0, 'profiler_start', ''), (10, 'malloc', 'f', 100),
                    (20, 'malloc', 'f', 50), (20, 'free', 'f', -100),
                    (30, 'free', 'f', -50), (40, 'profiler_sort', '')])
        chrome.write_chrome_trace(df, self.out)
        by_ph = check_trace(self, load_json(self.out))
        got = [(e['ts'], e['args']['bytes in use']) for e in by_ph['C']]
        self.assertEqual(got, [(0.01, 100), (0.02, 50), (0.03, 0)])

    def test_unbalanced(self):
        # Started inside two calls, stopped inside two others, with an
        # exception event (which closes nothing) and a c_exception.
        df = frame([(100, 'return', 'inner'), (110, 'c_call', 'len'),
                    (120, 'c_return', 'len'), (130, 'return', 'outer'),
                    (140, 'call', 'a'), (150, 'exception', 'a'),
                    (155, 'c_call', 'boom'), (156, 'c_exception', 'boom'),
                    (160, 'return', 'a'), (170, 'call', 'b'),
                    (180, 'call', 'c'), (190, 'malloc', 'c', 8)])
        sl = timeline.slices(df)
        got = {(r.name, r.start, r.end, r.level)
               for r in sl.itertuples()}
        self.assertEqual(got, {
            ('outer', 100, 130, 1), ('inner', 100, 100, 2),
            ('len', 110, 120, 2), ('a', 140, 160, 1),
            ('boom', 155, 156, 2), ('b', 170, 190, 1),
            ('c', 180, 190, 2)})
        chrome.write_chrome_trace(df, self.out)
        by_ph = check_trace(self, load_json(self.out))
        self.assertEqual(len(by_ph['X']), 7)
        self.assertNotIn('i', by_ph)

    def test_only_returns_and_empty(self):
        df = frame([(5, 'return', 'x'), (6, 'return', 'y')])
        chrome.write_chrome_trace(df, self.out)
        xs = check_trace(self, load_json(self.out))['X']
        self.assertEqual(sorted(e['name'] for e in xs), ['x', 'y'])
        chrome.write_chrome_trace(frame([]), self.out)
        doc = load_json(self.out)
        self.assertFalse([e for e in doc['traceEvents'] if e['ph'] != 'M'])

    def test_threads_are_tracks(self):
        rows = [(0, 'call', 'a'), (1, 'call', 'b'), (2, 'return', 'a'),
                (3, 'call', 'c'), (4, 'return', 'b'), (5, 'return', 'c')]
        df = frame(rows, thread=[7, 9, 7, 7, 9, 7])
        chrome.write_chrome_trace(df, self.out, thread_names={9: 'worker'})
        by_ph = check_trace(self, load_json(self.out))
        names = {e['tid']: e['args']['name'] for e in by_ph['M']
                 if e['name'] == 'thread_name'}
        self.assertEqual(sorted(names.values()), ['thread 7', 'worker'])
        tid = {e['name']: e['tid'] for e in by_ph['X']}
        self.assertEqual(tid['a'], tid['c'])
        self.assertNotEqual(tid['a'], tid['b'])

    def test_real_threads(self):
        prof = evprof.EventProfiler(impl='c', threads=True)
        prof.start()
        t = threading.Thread(target=parent, name='helper')
        t.start()
        t.join()
        prof.stop()
        prof.to_chrome_trace(self.out)
        by_ph = check_trace(self, load_json(self.out))
        tracks = {e['tid'] for e in by_ph['X']}
        self.assertEqual(len(tracks), 2)

    def test_exception_in_profiled_code(self):
        def raiser(n):
            if n == 0:
                raise ValueError('deep')
            raiser(n - 1)

        prof = evprof.EventProfiler(impl='c')
        prof.start()
        try:
            raiser(5)
        except ValueError:
            pass
        prof.stop()
        prof.to_chrome_trace(self.out)
        xs = check_trace(self, load_json(self.out))['X']
        self.assertEqual(len([e for e in xs if e['name'] == 'raiser']), 6)

    def test_escaping(self):
        df = frame([(0, 'call', 'we"ird\\name\n\u00e9'),
                    (1, 'return', 'we"ird\\name\n\u00e9')])
        chrome.write_chrome_trace(df, self.out)
        xs = check_trace(self, load_json(self.out))['X']
        self.assertEqual(xs[0]['name'], 'we"ird\\name\n\u00e9')

    def test_large_is_streamed(self):
        # 100000 calls: written in chunks, nested pairs all present.
        n = 50000
        t = numpy.arange(4 * n)
        ev = numpy.tile(numpy.array(['call', 'call', 'return', 'return'],
                                    dtype=object), n)
        name = numpy.tile(numpy.array(['f', 'g', 'g', 'f'], dtype=object), n)
        df = pandas.DataFrame({'time': t, 'value1': 0, 'value2': 0,
                               'event': ev, 'name': name, 'mod': 'm',
                               'lineno': 1, 'from_name': '', 'from_mod': '',
                               'from_line': -1})
        seen = []
        chrome.write_chrome_trace(df, self.out,
                                  progress=lambda d, tot: seen.append(d))
        self.assertGreater(len(seen), 3)
        doc = load_json(self.out)
        xs = [e for e in doc['traceEvents'] if e['ph'] == 'X']
        self.assertEqual(len(xs), 2 * n)
        self.assertEqual({e['dur'] for e in xs if e['name'] == 'g'},
                         {0.001})

    def test_nesting_is_exact(self):
        # Times are exact to the ns: read as decimals, every fib call
        # lies inside its caller without any tolerance, at its depth.
        prof = evprof.EventProfiler(impl='c', memory=False)
        prof.start()
        fib(12)
        prof.stop()
        prof.to_chrome_trace(self.out)
        doc = load_exact(self.out)
        xs = [e for e in doc['traceEvents'] if e['ph'] == 'X']
        for e in xs:
            self.assertIsInstance(e['ts'], decimal.Decimal)
            self.assertEqual(e['ts'], e['ts'].quantize(
                decimal.Decimal('0.001')))
        depth = [d for name, d in exact_tree(self, xs) if name == 'fib']
        self.assertEqual(len(depth), 465)  # the calls of fib(12)
        top = min(depth)
        self.assertEqual(depth.count(top), 1)
        self.assertEqual(max(depth) - top, 11)

    def test_times_from_t0(self):
        # "ts" is relative to otherData.t0_ns, an integer of ns no later
        # than any event: ts * 1000 + t0_ns gives each slice's start and
        # end exactly as the events hold them, no ts is negative (viewers
        # drop those), and the two writers, the library's sink and the
        # DataFrame's, agree on the absolute times.
        prof = evprof.EventProfiler(impl='c')
        prof.start()
        parent()
        prof.stop()
        df = prof.retrieve_results()
        want = sorted((r.name, int(r.start), int(r.end))
                      for r in timeline.slices(df).itertuples())
        frame_json = os.path.join(self.dir, 'frame.json')
        prof.to_chrome_trace(self.out)
        chrome.write_chrome_trace(df, frame_json)
        for path in (self.out, frame_json):
            with self.subTest(path=os.path.basename(path)):
                doc = load_exact(path)
                t0 = doc['otherData']['t0_ns']
                self.assertIsInstance(t0, int)
                self.assertLessEqual(t0, int(df['time'].min()))
                timed = [e for e in doc['traceEvents'] if 'ts' in e]
                self.assertTrue(timed)
                self.assertTrue(all(e['ts'] >= 0 for e in timed))
                got = sorted((e['name'], int(e['ts'] * 1000) + t0,
                              int((e['ts'] + e['dur']) * 1000) + t0)
                             for e in timed if e['ph'] == 'X')
                self.assertEqual(got, want)
                mem = [e for e in timed if e['ph'] == 'C']
                self.assertTrue(all(int(e['ts'] * 1000) + t0
                                    in set(df['time'].tolist())
                                    for e in mem))

    def test_unfinished_calls_end_at_the_last_event(self):
        # Stopped inside two calls: both are slices, ended at their
        # thread's last event (the stop marker), the inner one inside the
        # outer one.
        prof = evprof.EventProfiler(impl='c')

        def inner():
            leaf()
            prof.stop()

        def outer():
            leaf()
            inner()

        prof.start()
        outer()
        prof.to_chrome_trace(self.out)
        doc = load_exact(self.out)
        by_ph = {}
        for e in doc['traceEvents']:
            by_ph.setdefault(e['ph'], []).append(e)
        stop = [e for e in by_ph['i'] if e['name'] == 'profiler stop'][0]
        xs = {e['name']: e for e in by_ph['X']}
        for name in ('inner', 'outer'):
            self.assertEqual(xs[name]['ts'] + xs[name]['dur'], stop['ts'],
                             name)
        self.assertLess(xs['outer']['ts'], xs['inner']['ts'])
        self.assertEqual(len([e for e in by_ph['X']
                              if e['name'] == 'leaf']), 2)

    def test_reused_idents_are_tracks_of_their_own(self):
        # Three threads one after another: CPython gives each the ident
        # of the one before.  Each is a track, named after its thread.
        names = ['worker-a', 'worker-b', 'worker-c']
        prof = evprof.EventProfiler(impl='c', threads=True)
        prof.start()
        idents = one_after_another(names)
        prof.stop()
        if len(set(idents)) != 1:
            self.skipTest('this interpreter did not reuse the idents')
        prof.to_chrome_trace(self.out)
        doc = load_json(self.out)
        check_trace(self, doc)
        tracks = thread_names(doc)
        got = sorted(tracks[e['tid']] for e in doc['traceEvents']
                     if e['ph'] == 'X' and e['name'] == 'parent')
        self.assertEqual(got, names)
        self.assertIn(threading.main_thread().name, tracks.values())
        # The same names in the Perfetto trace, by the library's sink.
        trace = os.path.join(self.dir, 't.evt')
        pftrace = os.path.join(self.dir, 't.pftrace')
        prof.save(trace)
        evprof._core.sink_run(trace, 'perfetto', pftrace)
        if shutil.which('protoc') is None:
            self.skipTest('protoc (protobuf-compiler) is not installed')
        proto = os.path.join(evprof_test.SRCDIR, 't', 'sinks.proto')
        with open(pftrace, 'rb') as f:
            dec = subprocess.run(
                ['protoc', '--proto_path', os.path.dirname(proto),
                 '--decode=perfetto.protos.Trace', os.path.basename(proto)],
                stdin=f, capture_output=True, text=True, timeout=120)
        self.assertEqual(dec.returncode, 0, dec.stderr)
        for name in names:
            self.assertEqual(dec.stdout.count('thread_name: "%s"' % name),
                             1, name)

    def test_reused_idents_streamed(self):
        # The same when the profile streams into a file, which names each
        # thread as it starts.
        names = ['streamed-a', 'streamed-b', 'streamed-c']
        trace = os.path.join(self.dir, 's.evt')
        prof = evprof.EventProfiler(impl='c', threads=True, output=trace)
        prof.start()
        idents = one_after_another(names)
        prof.stop()
        if len(set(idents)) != 1:
            self.skipTest('this interpreter did not reuse the idents')
        evprof._core.sink_run(trace, 'chrome', self.out)
        doc = load_json(self.out)
        check_trace(self, doc)
        tracks = thread_names(doc)
        got = sorted(tracks[e['tid']] for e in doc['traceEvents']
                     if e['ph'] == 'X' and e['name'] == 'parent')
        self.assertEqual(got, names)

    def test_bad_input(self):
        with self.assertRaises(TypeError):
            chrome.write_chrome_trace([1, 2], self.out)
        with self.assertRaises(ValueError) as cm:
            chrome.write_chrome_trace(pandas.DataFrame({'time': [1]}),
                                      self.out)
        self.assertIn('event', str(cm.exception))


if __name__ == '__main__':
    evprof_test.main()
