"""Threads: events carry their thread; threads=True profiles new threads
(and, with impl='c', the threads already running)."""
import sys
import threading
import unittest

import evprof_test

evprof = evprof_test.load()
EventProfiler = evprof.EventProfiler

IMPLS = ('python', 'pybind11', 'c')
COLUMNS = ['time', 'value1', 'value2', 'event', 'name', 'mod', 'lineno',
           'from_name', 'from_mod', 'from_line']


def in_thread(n):
    return sum(range(n))


def thread_main(idents, n):
    idents.append((threading.get_ident(), threading.get_native_id()))
    for _ in range(n):
        in_thread(10)


def thread_keys(idents):
    """
    The thread column's value of each thread of *idents* ((ident,
    native_id) in start order): the ident, or the native id of a thread
    that reused the ident of an earlier one.
    """
    seen = {threading.get_ident()}
    keys = set()
    for ident, native in idents:
        keys.add(native if ident in seen else ident)
        seen.add(ident)
    return keys


def run_threads(impl, threads, nthreads=3, n=100, size=20):
    idents = []
    ev = EventProfiler(impl=impl, size=size, threads=threads)
    ev.start()
    ts = [threading.Thread(target=thread_main, args=(idents, n))
          for _ in range(nthreads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    in_thread(5)
    ev.stop()
    return ev, idents


class TestThreads(unittest.TestCase):

    def test_new_threads(self):
        for impl in IMPLS:
            ev, idents = run_threads(impl, True)
            df = ev.retrieve_results(thread=True)
            self.assertEqual(list(df.columns), COLUMNS + ['thread'])
            calls = df[(df['event'] == 'call') & (df['name'] == 'in_thread')]
            self.assertEqual(len(calls), 3 * 100 + 1, impl)
            main = calls[calls['from_name'] != 'thread_main']
            self.assertEqual(list(main['thread']), [threading.get_ident()])
            per = calls[calls['from_name'] == 'thread_main']
            keys = set(per['thread'])
            self.assertEqual(len(keys), 3, impl)
            # A thread is keyed by its native id where an earlier thread
            # of this run had its ident; by its ident otherwise, unless
            # a thread of an earlier run had it, still ending (and
            # logging its frees) when this run began.
            expected = thread_keys(idents)
            for ident, native in idents:
                if native in expected:
                    self.assertIn(native, keys, impl)
                else:
                    self.assertTrue(ident in keys or native in keys,
                                    (impl, ident, native, keys))
            self.assertIsNone(threading._profile_hook)

    def test_threads_off(self):
        for impl in IMPLS:
            ev, _ = run_threads(impl, False)
            df = ev.retrieve_results()
            self.assertEqual(list(df.columns), COLUMNS)
            calls = df[(df['event'] == 'call') & (df['name'] == 'in_thread')]
            self.assertEqual(len(calls), 1, impl)

    def test_thread_profile_restored(self):
        def hook(frame, event, arg):
            pass

        threading.setprofile(hook)
        try:
            for impl in IMPLS:
                ev, _ = run_threads(impl, True, nthreads=1, n=1)
                self.assertIs(threading._profile_hook, hook)
        finally:
            threading.setprofile(None)

    @unittest.skipIf(sys.version_info < (3, 9), "needs Python 3.9")
    def test_running_threads_c(self):
        started = threading.Event()
        go = threading.Event()
        idents = []

        def waiter():
            idents.append(threading.get_ident())
            started.set()
            go.wait()
            for _ in range(10):
                in_thread(3)

        t = threading.Thread(target=waiter)
        t.start()
        started.wait()
        ev = EventProfiler(impl='c', threads=True)
        ev.start()
        go.set()
        t.join()
        ev.stop()
        df = ev.retrieve_results(thread=True)
        calls = df[(df['event'] == 'call') & (df['name'] == 'in_thread')]
        self.assertEqual(len(calls), 10)
        self.assertEqual(set(calls['thread']), set(idents))
        self.assertIsNone(sys.getprofile())

    def test_other_thread_profiler_kept(self):
        ready = threading.Event()
        go = threading.Event()
        seen = []
        kept = []

        def own(frame, event, arg):
            seen.append(event)

        def waiter():
            sys.setprofile(own)
            ready.set()
            go.wait()
            in_thread(3)
            kept.append(sys.getprofile() is own)
            sys.setprofile(None)

        t = threading.Thread(target=waiter)
        t.start()
        ready.wait()
        ev = EventProfiler(impl='c', threads=True)
        ev.start()
        ev.stop()
        go.set()
        t.join()
        self.assertEqual(kept, [True])
        self.assertIn('call', seen)


if __name__ == '__main__':
    evprof_test.main()
