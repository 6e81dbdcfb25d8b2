"""
What the profiler itself allocates is not the program's: the frame objects
that the interpreter makes for a profile function (CPython 3.11) are out
of the record, and those that the program keeps (a frame held, a
traceback, a generator) are in it, each block allocated and freed once.
"""
import gc
import os
import sys
import tempfile
import threading
import unittest

import evprof_test

evprof = evprof_test.load()

MEMORY = ('malloc', 'calloc', 'realloc', 'free', 'realloc_free')


def nothing():
    pass


def calls():
    # 1000 calls and no allocation: small ints are cached, no iterator.
    i = 0
    while i < 250:
        nothing()
        nothing()
        nothing()
        nothing()
        i += 1


def nested(depth):
    if depth:
        nested(depth - 1)
        nested(depth - 1)


def kept_frames():
    # Frames the program keeps, all let go before the end.
    held = []

    def keep():
        held.append(sys._getframe())

    def fail():
        raise ValueError('kept by its traceback')

    def gen():
        yield 1
        yield 2

    def never_yields():
        return
        yield

    for _ in range(3):
        keep()
    try:
        fail()
    except ValueError as e:
        error = e
    g = gen()
    next(g)
    total = sum(gen()) + len(list(never_yields()))
    del error, g
    held.clear()
    return total


def work():
    kept_frames()


def span(df, name):
    """The rows from the first call of `name` to its last return."""
    rows = df[(df.name == name) & df.event.isin(['call', 'return'])]
    first, last = rows.index[0], rows.index[-1]
    return df.loc[first:last]


def spans(df, name):
    """The rows of each call of `name` (not recursive) to its return."""
    calls = df[(df.name == name) & (df.event == 'call')].index
    rets = df[(df.name == name) & (df.event == 'return')].index
    return [df.loc[a:b] for a, b in zip(calls, rets)]


class TestFrames(unittest.TestCase):

    def profile(self, fn, **kw):
        # No collection inside: it would free blocks of earlier tests,
        # allocated before the run (a free never allocated in it).
        p = evprof.EventProfiler(impl='c', **kw)
        gc.collect()
        gc.disable()
        try:
            p.start()
            fn()
            p.stop()
        finally:
            gc.enable()
        return p.retrieve_results()

    def assert_no_memory(self, df, name):
        inside = span(df, name)
        mem = inside[inside.event.isin(MEMORY)]
        self.assertEqual(len(mem), 0, mem.to_string())
        calls_of = df[(df.name == name) & (df.event == 'call')]
        self.assertGreater(len(calls_of), 0)

    def test_calls_allocate_nothing(self):
        df = self.profile(calls)
        self.assert_no_memory(df, 'calls')
        self.assertEqual(
            len(df[(df.name == 'nothing') & (df.event == 'call')]), 1000)
        self.assertEqual(
            len(df[(df.name == 'nothing') & (df.event == 'return')]), 1000)
        # Nor is anything attributed to the two functions outside.
        mem = df[df.event.isin(MEMORY)]
        self.assertEqual(set(mem.name) & {'calls', 'nothing'}, set())

    def test_nested_calls_allocate_nothing(self):
        df = self.profile(lambda: nested(8))
        self.assert_no_memory(df, 'nested')
        self.assertEqual(
            len(df[(df.name == 'nested') & (df.event == 'call')]), 511)

    def assert_paired(self, mem):
        """Every block freed in `mem` was allocated in it before, with the
        size freed.  (Not every block allocated is freed: the free lists
        of lists and tuples keep some.)"""
        live = {}
        for row in mem.itertuples():
            if row.event in ('malloc', 'calloc', 'realloc'):
                self.assertNotIn(row.value1, live, mem.to_string())
                live[row.value1] = row.value2
            else:
                self.assertIn(row.value1, live,
                              'freed, never allocated: %r' % (row,))
                self.assertEqual(-row.value2, live.pop(row.value1))
        return live

    def test_kept_frames_paired(self):
        # Once unprofiled first: the free lists of the interpreter (tuples,
        # floats, ...) in the state work() leaves them, so that what it
        # frees is what it allocated, not what earlier tests left there.
        work()
        df = self.profile(work).reset_index(drop=True)
        inside = span(df, 'work')
        mem = inside[inside.event.isin(MEMORY)]
        self.assert_paired(mem)
        # The frames kept by sys._getframe() are the program's from their
        # return: allocated then, freed when the list lets them go.
        kept = []
        for i in df[(df.name == 'keep') & (df.event == 'return')].index:
            after = df.loc[i + 1]
            self.assertEqual(after.event, 'malloc')
            kept.append(after.value1)
        self.assertEqual(len(kept), 3)
        freed = mem[mem.value1.isin(kept) & (mem.event == 'free')]
        self.assertEqual(len(freed), 3)
        self.assertEqual(
            int(mem[mem.value1.isin(kept)].value2.sum()), 0)
        # So is the frame of a generator after its first yield.
        gen = df[(df.name == 'gen') & (df.event == 'return')].index[0]
        block = df.loc[gen + 1]
        self.assertEqual(block.event, 'malloc')
        self.assertEqual(len(mem[(mem.value1 == block.value1)
                                 & (mem.event == 'free')]), 1)

    def test_threads(self):
        def body():
            calls()
            kept_frames()

        def run():
            ts = [threading.Thread(target=body) for _ in range(3)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()

        p = evprof.EventProfiler(impl='c', threads=True)
        p.start()
        run()
        p.stop()
        df = p.retrieve_results(thread=True)
        for tid in set(df.thread):
            for inside in spans(df[df.thread == tid], 'calls'):
                self.assertEqual(
                    len(inside[inside.event.isin(MEMORY)]), 0)
        self.assertEqual(
            len(df[(df.name == 'nothing') & (df.event == 'call')]), 3000)
        mem = df[df.event.isin(MEMORY)]
        self.assertEqual(set(mem.name) & {'calls', 'nothing'}, set())
        for tid in set(df.thread):
            for inside in spans(df[df.thread == tid], 'body'):
                self.assert_paired(inside[inside.event.isin(MEMORY)])

    def test_streamed(self):
        # Small chunks: the stream drains while frames are taken back.
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, 't.evt')

            def run():
                for _ in range(20):
                    calls()
                    work()

            df = self.profile(run, size=500, output=path)
            self.assertEqual(
                len(df[(df.name == 'nothing') & (df.event == 'call')]),
                20000)
            mem = df[df.event.isin(MEMORY)]
            self.assertEqual(set(mem.name) & {'calls', 'nothing'}, set())
            loaded = evprof.load(path)
            self.assertEqual(loaded.event.tolist(), df.event.tolist())
            self.assertEqual(loaded.value1.tolist(), df.value1.tolist())


if __name__ == '__main__':
    evprof_test.main()
