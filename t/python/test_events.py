"""What each event records: exact counts, callers, lines, exceptions."""
import cProfile
import gc
import inspect
import sys
import time
import unittest
import weakref

import evprof_test

evprof = evprof_test.load()
EventProfiler = evprof.EventProfiler

IMPLS = ('python', 'pybind11', 'c')
CALL_LINES = {}


def leaf(i):
    return i + 1


def caller(n):
    total = 0
    for i in range(n):
        total += leaf(i)  # CALL_LINES['leaf']
    return total


def sleeper():
    time.sleep(0)  # CALL_LINES['sleep']


def _find_lines():
    src = inspect.getsourcelines(sys.modules[__name__])[0]
    for i, line in enumerate(src, 1):
        if "# CALL_LINES['" in line:
            CALL_LINES[line.split("CALL_LINES['")[1].split("'")[0]] = i


_find_lines()


MEMORY = ('malloc', 'calloc', 'realloc', 'free', 'realloc_free')


def calls_only(df):
    return df[~df['event'].isin(MEMORY)]


def profile(impl, func, *args, size=20, **kw):
    ev = EventProfiler(impl=impl, size=size, **kw)
    ev.start()
    func(*args)
    ev.stop()
    return ev.retrieve_results()


class Holder:
    pass


class TestEvents(unittest.TestCase):

    def test_exact_counts(self):
        for impl in IMPLS:
            for size in (1, 20, 1000):
                with self.subTest(impl=impl, size=size):
                    df = profile(impl, caller, 1000, size=size)
                    leaf_rows = df[df['name'] == 'leaf']
                    self.assertEqual(
                        (leaf_rows['event'] == 'call').sum(), 1000)
                    self.assertEqual(
                        (leaf_rows['event'] == 'return').sum(), 1000)
                    calls = df[df['event'] == 'call']
                    self.assertEqual((calls['name'] == 'caller').sum(), 1)

    def test_call_caller(self):
        for impl in IMPLS:
            df = profile(impl, caller, 3)
            rows = df[(df['name'] == 'leaf')]
            self.assertEqual(set(rows['from_name']), {'caller'})
            self.assertEqual(set(rows['from_mod']), {__file__})
            self.assertEqual(set(rows['from_line']), {CALL_LINES['leaf']})
            self.assertEqual(set(rows['mod']), {__file__})
            self.assertEqual(set(rows['lineno']),
                             {leaf.__code__.co_firstlineno})
            top = df[(df['name'] == 'caller') & (df['event'] == 'call')]
            self.assertEqual(list(top['from_name']), ['profile'])

    def test_c_call(self):
        for impl in IMPLS:
            df = profile(impl, sleeper)
            rows = calls_only(df)
            rows = rows[rows['name'] == 'sleep']
            self.assertEqual(list(rows['event']), ['c_call', 'c_return'])
            self.assertEqual(set(rows['mod']), {'time'})
            self.assertEqual(set(rows['from_name']), {'sleeper'})
            self.assertEqual(set(rows['from_mod']), {__file__})
            self.assertEqual(set(rows['from_line']), {CALL_LINES['sleep']})

    def test_same_events(self):
        def keep(df):
            df = calls_only(df)
            df = df[df['name'].isin(['leaf', 'caller', 'sleeper', 'sleep'])]
            return list(zip(df['event'], df['name'], df['from_name'],
                            df['from_line']))

        def work():
            caller(5)
            sleeper()

        got = {impl: keep(profile(impl, work)) for impl in IMPLS}
        self.assertEqual(got['python'], got['c'])
        self.assertEqual(got['pybind11'], got['c'])
        self.assertEqual(len(got['c']), 2 * 5 + 2 + 2 + 2)

    def test_exception_caught(self):
        def fraise():
            raise RuntimeError('issue')

        def catch_exc():
            try:
                fraise()
                return None
            except RuntimeError as e:
                return str(e)

        for impl in IMPLS:
            ev = EventProfiler(impl=impl)
            ev.start()
            self.assertEqual(catch_exc(), 'issue')
            ev.stop()
            df = calls_only(ev.retrieve_results())
            self.assertIn('catch_exc', set(df['name']))
            rows = df[df['name'] == 'fraise']
            self.assertEqual(list(rows['event']), ['call', 'return'])

    def test_c_exception(self):
        def bad():
            try:
                divmod(1, 0)
            except ZeroDivisionError:
                return 1
            return 0

        for impl in IMPLS:
            df = profile(impl, bad)
            rows = df[df['name'] == 'divmod']
            self.assertEqual(list(rows['event']), ['c_call', 'c_exception'])
            self.assertEqual(set(rows['from_name']), {'bad'})

    def test_generator(self):
        def gen():
            yield 1
            yield 2

        def use():
            return sum(gen())

        for impl in IMPLS:
            df = profile(impl, use)
            rows = df[df['name'] == 'gen']
            self.assertEqual((rows['event'] == 'call').sum(), 3)

    def test_no_frame_kept(self):
        refs = []

        def make():
            h = Holder()
            refs.append(weakref.ref(h))
            return len(refs)

        for impl in IMPLS:
            ev = EventProfiler(impl=impl)
            ev.start()
            make()
            ev.stop()
            gc.collect()
            self.assertIsNone(refs[-1](), impl)
            df = ev.retrieve_results()
            self.assertIn('make', set(df['name']))
            gc.collect()
            self.assertIsNone(refs[-1](), impl)

    def test_previous_profiler_restored(self):
        seen = []

        def mine(frame, event, arg):
            seen.append(event)

        for impl in IMPLS:
            sys.setprofile(mine)
            try:
                ev = EventProfiler(impl=impl)
                ev.start()
                self.assertIsNot(sys.getprofile(), mine)
                caller(2)
                ev.stop()
                self.assertIs(sys.getprofile(), mine)
            finally:
                sys.setprofile(None)
            self.assertIn('return', seen)

    def test_cprofile_restored(self):
        for impl in IMPLS:
            pr = cProfile.Profile()
            pr.enable()
            ev = EventProfiler(impl=impl)
            ev.start()
            ev.stop()
            caller(3)
            pr.disable()
            names = {getattr(e.code, 'co_name', e.code)
                     for e in pr.getstats()}
            self.assertIn('leaf', names, impl)


if __name__ == '__main__':
    evprof_test.main()
