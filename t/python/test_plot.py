"""The picture: sized to its content, readable labels and axes, threads
in start order, legends, memory by domain, drawing bounded by pixels."""
import os
import shutil
import tempfile
import threading
import unittest

import numpy
import pandas

import evprof_test

evprof = evprof_test.load()
from evprof import plot, timeline  # noqa: E402

COLUMNS = ['time', 'value1', 'value2', 'event', 'name', 'mod', 'lineno',
           'from_name', 'from_mod', 'from_line']


def frame(rows, thread=None, domain=None, mod='m.py'):
    """
    A timeline DataFrame from (time, event, name[, value2]) tuples, with
    the thread and domain columns when given (one value a row).
    """
    df = pandas.DataFrame(
        [(r[0], 0, r[3] if len(r) > 3 else 0, r[1], r[2],
          'builtins' if r[1].startswith('c_') else mod,
          -1 if r[1].startswith('c_') else 1, '', '', -1) for r in rows],
        columns=COLUMNS)
    if domain is not None:
        df['domain'] = domain
    if thread is not None:
        df['thread'] = thread
    return df


def nested(depth, t0=0, name='f'):
    """Calls nested *depth* deep, each 10 ns inside its caller."""
    rows = [(t0 + 10 * i, 'call', '%s%d' % (name, i)) for i in range(depth)]
    rows += [(t0 + 10 * (2 * depth - i), 'return', '%s%d' % (name, i))
             for i in reversed(range(depth))]
    return rows


def axes(fig, label):
    got = [ax for ax in fig.axes if ax.get_label() == label]
    assert len(got) == 1, [ax.get_label() for ax in fig.axes]
    return got[0]


def legend_texts(ax):
    leg = ax.get_legend()
    return [t.get_text() for t in leg.get_texts()] if leg else []


def row_px(fig):
    """The height of a row of calls, in pixels of the image."""
    ax = axes(fig, 'calls')
    lo, hi = ax.get_ylim()
    return ax.get_window_extent().height / abs(hi - lo)


class TestPlot(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='evprof-test-')
        self.png = os.path.join(self.dir, 't.png')

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def draw(self, df, **kw):
        fig = plot.plot_timeline(df, self.png, **kw)
        with open(self.png, 'rb') as f:
            self.assertEqual(f.read(8), b'\x89PNG\r\n\x1a\n')
        return fig

    def test_memory_axis_in_binary_units(self):
        mib = 1 << 20
        df = frame([(0, 'call', 'f'), (10, 'malloc', 'f', 30 * mib),
                    (20, 'free', 'f', -20 * mib), (30, 'return', 'f')])
        mem = axes(self.draw(df), 'memory')
        fmt = mem.yaxis.get_major_formatter()
        self.assertEqual(fmt(1.5 * mib, 0), '1.5 MiB')
        self.assertEqual(fmt(0, 0), '0 MiB')
        labels = [fmt(v, i) for i, v in enumerate(mem.get_yticks())]
        self.assertTrue(all(s.endswith(' MiB') for s in labels), labels)
        self.assertGreaterEqual(mem.get_ylim()[1], 30 * mib)
        self.assertEqual(mem.yaxis.get_offset_text().get_text(), '')
        df = frame([(0, 'malloc', 'f', 3000), (5, 'malloc', 'f', 100)])
        fmt = axes(self.draw(df), 'memory').yaxis.get_major_formatter()
        self.assertEqual(fmt(2048, 0), '2 KiB')

    def test_legends(self):
        df = frame([(0, 'call', 'f'), (1, 'c_call', 'len'),
                    (2, 'malloc', 'f', 100), (3, 'malloc', 'f', 50),
                    (4, 'c_return', 'len'), (5, 'malloc', 'f', 8),
                    (9, 'return', 'f')],
                   domain=['', '', 'obj', 'numpy', '', 'obj', ''])
        fig = self.draw(df)
        mem = legend_texts(axes(fig, 'memory'))
        self.assertIn('obj: Python objects', mem)
        self.assertIn('numpy: array data', mem)
        self.assertNotIn('raw: PyMem_RawMalloc', mem)
        self.assertTrue(any(t.startswith('total in use') for t in mem))
        calls = legend_texts(axes(fig, 'calls'))
        self.assertTrue(any(t.endswith('m.py') for t in calls), calls)
        self.assertTrue(any(t.endswith('builtins (C)') for t in calls))
        # Without the domain column (or with domains=False): the total.
        fig = self.draw(df.drop(columns='domain'))
        mem = legend_texts(axes(fig, 'memory'))
        self.assertFalse([t for t in mem if ':' in t], mem)
        fig = self.draw(df, domains=False)
        self.assertFalse([t for t in legend_texts(axes(fig, 'memory'))
                          if ':' in t])

    def test_stacked_domains_add_up(self):
        df = frame([(0, 'malloc', 'f', 100), (10, 'malloc', 'f', 50),
                    (20, 'free', 'f', -100), (30, 'malloc', 'f', 7)],
                   domain=['obj', 'mem', 'obj', 'mem'])
        mem = axes(self.draw(df), 'memory')
        # The top of the stack is the total in use at its peak: 150.
        tops = [c.get_paths()[0].vertices[:, 1].max()
                for c in mem.collections]
        self.assertEqual(max(tops), 150)

    def test_title_says_what_and_overhead(self):
        fig = self.draw(frame(nested(3)), title='my run')
        texts = ' '.join(t.get_text() for t in fig.texts)
        self.assertIn('my run', texts)
        self.assertIn('overhead', texts)
        self.assertIn('3 calls', texts)
        self.assertIn('overhead', axes(fig, 'memory').get_xlabel())
        # The length of the run, in words a reader reads.
        for end, text in ((3300000000, '; 3.3 s'), (4200000, '; 4.2 ms'),
                          (1234 * 10 ** 9, '; 1,234 s'), (700, '; 700 ns')):
            fig = self.draw(frame([(0, 'call', 'f'), (end, 'return', 'f')]))
            texts = ' '.join(t.get_text() for t in fig.texts)
            self.assertIn(text, texts)
            self.assertNotIn('e+', texts)

    def test_time_axis_spans_the_program(self):
        # The profiler's start marker, 5 ms before the program's first
        # call (its hooks going in), and its stop marker after the last
        # return, are not on the time axis.
        df = frame([(0, 'profiler_start', '')]
                   + nested(2, t0=5000000)
                   + [(5000100, 'profiler_sort', '')])
        fig = self.draw(df)
        mem = axes(fig, 'memory')
        self.assertIn("program's first event", mem.get_xlabel())
        self.assertIn('\u00b5s', mem.get_xlabel())
        self.assertEqual(mem.get_xlim(), (0, 0.04))
        # Markers alone: the axis spans them.
        fig = self.draw(frame([(0, 'profiler_start', ''),
                               (2000, 'profiler_sort', '')]))
        self.assertEqual(axes(fig, 'memory').get_xlim(), (0, 2.0))

    def test_threads_in_start_order_main_first(self):
        rows = (nested(2, 300, 'm') + nested(2, 100, 'b')
                + nested(2, 200, 'a') + nested(2, 50, 'late'))
        thread = [1] * 4 + [5] * 4 + [4] * 4 + [9] * 4
        df = frame(sorted(rows), thread=[t for _, t in sorted(
            zip(rows, thread))])
        names = {1: 'MainThread', 4: 'pool-a', 5: 'pool-b', 9: 'early'}
        fig = self.draw(df, thread_names=names)
        labels = [t.get_text()
                  for t in axes(fig, 'calls').get_yticklabels()]
        self.assertEqual(labels, ['MainThread', 'early', 'pool-b', 'pool-a'])
        # Names recorded with the DataFrame serve when none are given.
        df.attrs['thread_names'] = names
        fig = self.draw(df)
        self.assertEqual([t.get_text() for t in
                          axes(fig, 'calls').get_yticklabels()][0],
                         'MainThread')
        # A thread the DataFrame knows shared its ident is not given the
        # name of that ident: it is another thread's.
        df.attrs['thread_names'] = {1: 'MainThread', 5: None}
        fig = self.draw(df, thread_names={5: 'wrong', 4: 'pool-a'})
        self.assertEqual([t.get_text() for t in
                          axes(fig, 'calls').get_yticklabels()],
                         ['MainThread', 'thread 9', 'thread 5', 'pool-a'])

    def test_thread_starting_late_is_not_drawn_from_zero(self):
        # The pool thread's first event is a return (profiling started
        # inside its call): its slice opens at its own first event.
        df = frame([(0, 'call', 'main'), (4000, 'return', 'work'),
                    (5000, 'call', 'w2'), (6000, 'return', 'w2'),
                    (9000, 'return', 'main')], thread=[1, 2, 2, 2, 1])
        sl = timeline.slices(df)
        work = sl[sl['name'] == 'work'].iloc[0]
        self.assertEqual(work['start'], 4000)
        # A frame left open ends at its thread's last event.
        df = frame([(0, 'call', 'main'), (100, 'call', 'w'),
                    (200, 'c_call', 'len'), (300, 'c_return', 'len'),
                    (900, 'return', 'main')], thread=[1, 2, 2, 2, 1])
        sl = timeline.slices(df)
        self.assertEqual(sl[sl['name'] == 'w'].iloc[0]['end'], 300)

    def test_rows_readable_and_sized_to_content(self):
        small = self.draw(frame(nested(3)))
        self.assertGreaterEqual(row_px(small), 12)
        deep = self.draw(frame(nested(60)))
        self.assertGreaterEqual(row_px(deep), 12)
        self.assertGreater(deep.get_figheight(), small.get_figheight())
        self.assertEqual(deep.evprof['rows'], 60)
        # Deeper than max_rows: cut, rows still readable, and said so.
        cut = self.draw(frame(nested(400)))
        self.assertGreaterEqual(row_px(cut), 12)
        self.assertLessEqual(cut.evprof['rows'], plot.MAX_ROWS)
        self.assertIn('not drawn', ' '.join(t.get_text()
                                            for t in cut.texts))
        # A height asked for is kept.
        fixed = self.draw(frame(nested(60)), height=9.0)
        self.assertEqual(fixed.get_figheight(), 9.0)

    def test_labels_fit_and_never_overlap(self):
        rows = [(0, 'call', 'outer')]
        t = 10
        for i in range(60):
            name = 'a_function_with_a_long_name_%d' % i
            width = 20 * (i % 10 + 1)
            rows += [(t, 'call', name), (t + width, 'return', name)]
            t += width + 1
        rows.append((t + 10, 'return', 'outer'))
        fig = self.draw(frame(rows))
        ax = axes(fig, 'calls')
        renderer = fig.canvas.get_renderer()
        boxes = [(tx.get_text(), tx.get_window_extent(renderer))
                 for tx in ax.texts]
        self.assertIn('outer', [b[0] for b in boxes])
        # The narrowest calls get no label.
        self.assertLess(len(boxes), 60)
        for i, (_, a) in enumerate(boxes):
            for _, b in boxes[i + 1:]:
                self.assertFalse(a.overlaps(b) and abs(a.y0 - b.y0) < 1,
                                 (a, b))
        self.assertTrue(any(b[0].endswith('\u2026') for b in boxes))

    def test_drawing_bounded_by_pixels(self):
        n = 200000
        t = numpy.arange(2 * n, dtype=numpy.int64)
        df = pandas.DataFrame({
            'time': t, 'value1': 0, 'value2': 0,
            'event': numpy.tile(numpy.array(['call', 'return'],
                                            dtype=object), n),
            'name': 'tiny', 'mod': 'm.py', 'lineno': 1, 'from_name': '',
            'from_mod': '', 'from_line': -1})
        fig = self.draw(df)
        ax = axes(fig, 'calls')
        rects = sum(len(c.get_paths()) for c in ax.collections)
        self.assertLessEqual(rects, ax.get_window_extent().width + 1)
        self.assertEqual(len(ax.images), 1)  # the short calls' raster
        self.assertIn('200,000 calls', ' '.join(x.get_text()
                                                for x in fig.texts))

    def test_empty_and_bad_input(self):
        fig = self.draw(frame([(0, 'profiler_start', '')]))
        self.assertIn('no call events', [t.get_text() for t in
                                         axes(fig, 'calls').texts])
        self.assertIn('no allocation events', [
            t.get_text() for t in axes(fig, 'memory').texts])
        self.draw(frame([]))
        with self.assertRaises(ValueError):
            plot.plot_timeline(pandas.DataFrame({'time': [1]}), self.png)
        with self.assertRaises(TypeError):
            plot.plot_timeline([1, 2], self.png)


def work(n):
    return [str(i) for i in range(n)]


class TestProfilerPlot(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='evprof-test-')

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_threads_that_ended_keep_names_and_bands(self):
        prof = evprof.EventProfiler(impl='c', threads=True)
        prof.start()
        for k in range(3):
            t = threading.Thread(target=work, args=(2000,),
                                 name='seq-%d' % k)
            t.start()
            t.join()
        prof.stop()
        fig = prof.plot(os.path.join(self.dir, 'p.png'))
        labels = [t.get_text()
                  for t in axes(fig, 'calls').get_yticklabels()]
        self.assertEqual(labels, ['MainThread', 'seq-0', 'seq-1', 'seq-2'])
        mem = legend_texts(axes(fig, 'memory'))
        self.assertIn('obj: Python objects', mem)


if __name__ == '__main__':
    evprof_test.main()
