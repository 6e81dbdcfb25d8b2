"""The public API of evprof: members, signatures, columns, bad arguments."""
import inspect
import sys
import time
import unittest

import numpy

import evprof_test

evprof = evprof_test.load()
EventProfiler = evprof.EventProfiler
EventProfilerDebug = evprof.EventProfilerDebug
WithEventProfiler = evprof.WithEventProfiler

IMPLS = ('python', 'pybind11', 'c')
COLUMNS = ['time', 'value1', 'value2', 'event', 'name', 'mod', 'lineno',
           'from_name', 'from_mod', 'from_line']


def f1(t):
    time.sleep(t)


def f2():
    f1(0.001)


def f3():
    li = [0 for i in range(0, 10000)]
    f1(0.002)
    return li


def f4():
    f2()
    f3()


class TestApi(unittest.TestCase):

    def test_mapping(self):
        self.assertEqual(EventProfiler._event_mapping, {
            'call': 1, 'return': 2, 'c_call': 3, 'c_return': 4,
            'exception': 5, 'c_exception': 6, 'profiler_call': 10,
            'profiler_return': 11, 'profiler_start': 100,
            'profiler_sort': 101, 'malloc': 1000, 'calloc': 1001,
            'realloc': 1002, 'free': 1003, 'realloc_free': 1004})

    def test_signatures(self):
        sig = inspect.signature(EventProfiler)
        self.assertEqual(sig.parameters['size'].default, 1000000)
        self.assertEqual(sig.parameters['impl'].default, 'python')
        sig = inspect.signature(WithEventProfiler)
        self.assertEqual(list(sig.parameters)[:3],
                         ['size', 'impl', 'clean_file_name'])
        sig = inspect.signature(EventProfiler.retrieve_results)
        self.assertEqual(list(sig.parameters)[:3],
                         ['self', 'empty_cache', 'clean_file_name'])
        for name in ('start', 'stop', 'log_event', 'retrieve_raw_results',
                     'retrieve_results', '_choose', '_choose_mod',
                     '_empty_cache', '_setup_profiler', '_restore_profiler'):
            self.assertTrue(callable(getattr(EventProfiler, name)), name)

    def test_start_stop_errors(self):
        for impl in IMPLS:
            ev = EventProfiler(impl=impl)
            self.assertRaises(RuntimeError, ev.stop)
            ev.start()
            self.assertRaises(RuntimeError, ev.start)
            ev.stop()
            self.assertRaises(RuntimeError, ev.stop)

    def test_debug_errors(self):
        ev = EventProfilerDebug(impl='python')
        self.assertRaises(RuntimeError, ev.stop)
        ev.start()
        self.assertRaises(RuntimeError, ev.start)
        ev.stop()
        self.assertRaises(RuntimeError, ev.stop)

    def check_profile(self, impl, size):
        ev = EventProfiler(impl=impl, size=size)
        self.assertEqual(ev.n_columns, 6)
        ev.start()
        f4()
        ev.stop()
        res = ev.retrieve_raw_results()
        self.assertEqual(res.dtype, numpy.int64)
        self.assertEqual(res.shape[1], ev.n_columns)
        self.assertGreater(res.shape[0], 10)
        df = ev.retrieve_results(False)
        self.assertEqual(df.shape, (res.shape[0], 10))
        self.assertEqual(list(df.columns), COLUMNS)
        for col in ('time', 'value1', 'value2', 'lineno', 'from_line'):
            self.assertEqual(df[col].dtype, numpy.int64, col)
        self.assertIn('sleep', set(df['name']))
        self.assertIn('time', set(df['mod']))
        self.assertTrue((numpy.diff(df['time'].values) >= 0).all())
        self.assertEqual(df['event'].iloc[0], 'profiler_start')
        self.assertEqual(df['event'].iloc[-1], 'profiler_sort')
        self.assertEqual(set(df['event']) - set(ev._event_mapping), set())
        return df

    def test_profiling(self):
        for impl in IMPLS:
            for size in (1000000, 20, 1):
                with self.subTest(impl=impl, size=size):
                    self.check_profile(impl, size)

    def test_raw_is_stable(self):
        ev = EventProfiler(impl='c')
        ev.start()
        f4()
        ev.stop()
        a = ev.retrieve_raw_results()
        b = ev.retrieve_raw_results(empty_cache=False)
        numpy.testing.assert_array_equal(a, b)
        df1 = ev.retrieve_results()
        df2 = ev.retrieve_results(empty_cache=False)
        self.assertTrue(df1.equals(df2))

    def test_empty_and_running(self):
        ev = EventProfiler(impl='c')
        self.assertEqual(ev.retrieve_raw_results().shape, (0, 6))
        df = ev.retrieve_results()
        self.assertEqual(list(df.columns), COLUMNS)
        self.assertEqual(len(df), 0)
        ev.start()
        f2()
        during = ev.retrieve_results()
        self.assertIn('f2', set(during['name']))
        f3()
        ev.stop()
        after = ev.retrieve_results()
        self.assertGreater(len(after), len(during))
        self.assertIn('f3', set(after['name']))

    def test_restart_accumulates(self):
        # As in the seed: start/stop again resumes, the report covers both.
        ev = EventProfiler(impl='c')
        ev.start()
        f2()
        ev.stop()
        ev.start()
        f3()
        ev.stop()
        df = ev.retrieve_results()
        self.assertIn('f2', set(df['name']))
        self.assertIn('f3', set(df['name']))
        calls = df[df['event'] == 'call']
        self.assertEqual(sorted(calls[calls['name'] == 'f1']['from_name']),
                         ['f2', 'f3'])
        self.assertEqual((df['event'] == 'profiler_start').sum(), 2)
        self.assertTrue((numpy.diff(df['time'].values) >= 0).all())

    def test_clean_file_name(self):
        ev = EventProfiler(impl='c')
        ev.start()
        f4()
        ev.stop()
        df = ev.retrieve_results(clean_file_name=lambda s: 'X')
        mods = set(df[df['event'] == 'call']['mod'])
        self.assertEqual(mods, {'X'})
        self.assertIn('time', set(df['mod']))
        self.assertRaises(TypeError, ev.retrieve_results, True, 3)

    def test_with(self):
        for impl in IMPLS:
            prof = WithEventProfiler(impl=impl)
            with prof:
                f4()
            df = prof.report
            self.assertEqual(list(df.columns), COLUMNS)
            self.assertIn('f4', set(df['name']))

    def test_start_is_the_last_step(self):
        # With memory recording on (the default), the start marker is the
        # last thing start() does: the next event is the caller's first
        # call, nothing of evprof's setup between them (a fresh profiler,
        # its first chunk, its allocator hooks made and installed).
        for impl in IMPLS:
            for memory in (True, ['obj'], False):
                with self.subTest(impl=impl, memory=memory):
                    prof = EventProfiler(impl=impl, memory=memory)
                    prof.start()
                    f2()
                    prof.stop()
                    df = prof.retrieve_results()
                    self.assertEqual(df['event'].iloc[0], 'profiler_start')
                    self.assertEqual(
                        (df['event'].iloc[1], df['name'].iloc[1]),
                        ('call', 'f2'), df.head().to_string())

    def test_with_raise(self):
        for impl in IMPLS:
            prof = WithEventProfiler(impl=impl)
            exc = RuntimeError('TESTISSUE')

            def fraise():
                raise exc

            with self.assertRaises(RuntimeError) as cm:
                with prof:
                    fraise()
            self.assertIs(cm.exception, exc)
            self.assertIsNone(sys.getprofile())
            self.assertFalse(evprof._core.memory_hooked())
            self.assertIn('fraise', set(prof.report['name']))

    def test_debug(self):
        for impl in IMPLS:
            ev = EventProfilerDebug(impl=impl)
            ev.start()
            self.assertIsNone(sys.getprofile())
            for _ in range(100):
                ev.log_event(inspect.currentframe(), 'call', None)
                ev.log_event(inspect.currentframe(), 'return', None)
            ev.stop()
            df = ev.retrieve_results()
            self.assertEqual((df['event'] == 'call').sum(), 100)
            self.assertEqual((df['event'] == 'return').sum(), 100)
            self.assertEqual(set(df[df['event'] == 'call']['name']),
                             {'test_debug'})

    def test_debug_pybind11_buffer(self):
        ev = EventProfilerDebug(impl='pybind11', size=10000)
        ev.start()
        for _ in range(10):
            ev._buffer.c_log_event(inspect.currentframe(), 'call', None)
            ev._buffer.c_log_event(inspect.currentframe(), 'c_call', len)
        ev.stop()
        df = ev.retrieve_results()
        self.assertEqual((df['name'] == 'len').sum(), 10)
        self.assertEqual(set(df[df['name'] == 'len']['mod']), {'builtins'})

    def test_choose(self):
        ev = EventProfiler()
        frame = inspect.currentframe()
        self.assertEqual(ev._choose(frame, None), 'test_choose')
        self.assertEqual(ev._choose(frame, len), 'len')
        self.assertEqual(ev._choose(frame, None, True),
                         frame.f_back.f_code.co_name)
        self.assertEqual(ev._choose_mod(frame, None, lambda s: s),
                         frame.f_code.co_filename)
        self.assertEqual(ev._choose_mod(frame, len, lambda s: s), 'builtins')

    def test_bad_arguments(self):
        self.assertRaises(ValueError, EventProfiler, impl='cpp')
        self.assertRaises(ValueError, WithEventProfiler(impl='x').__enter__)
        self.assertRaises(TypeError, EventProfiler, size='10')
        self.assertRaises(TypeError, EventProfiler, size=1.5)
        self.assertRaises(ValueError, EventProfiler, size=0)
        self.assertRaises(ValueError, EventProfiler, size=-3)
        self.assertRaises(ValueError, EventProfiler, memory=['heap'])
        self.assertRaises(TypeError, EventProfiler, memory=3)
        self.assertRaises(TypeError, EventProfiler, threads='yes')
        self.assertRaises(TypeError, WithEventProfiler, clean_file_name=1)
        ev = EventProfilerDebug(impl='pybind11')
        ev.start()
        frame = inspect.currentframe()
        self.assertRaises(ValueError, ev.log_event, frame, 'jump', None)
        self.assertRaises(TypeError, ev.log_event, frame, 3, None)
        self.assertRaises(TypeError, ev.log_event, None, 'call', None)
        self.assertRaises(TypeError, ev._buffer.c_log_event, frame, 'call')
        ev.stop()


if __name__ == '__main__':
    evprof_test.main()
