"""Hazards: what the profiled program, or the world around it, does to the
profiler while it starts, runs and stops: audit hooks that release the
GIL, threads allocating without the GIL, KeyboardInterrupt and signal
handlers in the middle of start() and stop(), fork, and the program's own
sys.getprofile()/sys.setprofile() idiom.  Each runs in a child process:
a crash is an exit status, not the end of the test run."""
import subprocess
import sys
import textwrap
import unittest

import evprof_test

evprof = evprof_test.load()

IMPLS = ('python', 'pybind11', 'c')


def run(code, prelude='', timeout=300):
    code = "import evprof_test\nevprof = evprof_test.load()\n" + \
        prelude + textwrap.dedent(code)
    return subprocess.run([sys.executable, '-X', 'faulthandler', '-c', code],
                          env=evprof_test.subprocess_env(),
                          capture_output=True, text=True, timeout=timeout)


# The state of the hooks must always agree with p._started: checked after
# every interrupted start() or stop().
CONSISTENT = """
import sys, threading
def consistent(p):
    hooked = evprof._core.memory_hooked()
    prof = sys.getprofile()
    if p._started:
        # impl='python': an exception raised inside the Python profile
        # function (a signal handler's) makes CPython remove it, as it
        # does any Python profile function.
        return hooked and (prof is not None or p._impl == 'python')
    return (not hooked and prof is None
            and getattr(threading, '_profile_hook', None) is None)
"""


class TestHazards(unittest.TestCase):

    def test_audit_hook_releasing_the_gil(self):
        # An audit hook that releases the GIL on sys.setprofile while
        # short threads come and go: start/stop walk the other threads.
        # One thread at a time starts (two at once may make each other's
        # sys.setprofile fail in the threading bootstrap, without evprof).
        for impl in IMPLS:
            with self.subTest(impl=impl):
                r = run("""
                    import sys, threading, time
                    def hook(ev, args):
                        if ev == 'sys.setprofile':
                            time.sleep(0)
                    sys.addaudithook(hook)
                    stop = False
                    def spawner():
                        while not stop:
                            t = threading.Thread(target=lambda: sum(range(9)))
                            t.start()
                            t.join()
                    ts = [threading.Thread(target=spawner)]
                    for t in ts:
                        t.start()
                    for i in range(400):
                        p = evprof.EventProfiler(impl=%r, threads=True)
                        p.start()
                        p.stop()
                    stop = True
                    for t in ts:
                        t.join()
                    print(sys.getprofile(), evprof._core.memory_hooked())
                    """ % impl)
                self.assertEqual(r.returncode, 0, r.stderr[-3000:])
                self.assertEqual(r.stdout, 'None False\n')
                self.assertNotIn('Error', r.stderr)

    def test_audit_hook_refusing(self):
        # An audit hook that raises on sys.setprofile: start() fails with
        # its exception and leaves nothing behind; stop() of a running
        # profiler still stops.
        for impl in IMPLS:
            with self.subTest(impl=impl):
                r = run(prelude=CONSISTENT, code="""
                    refuse = [False]
                    def hook(ev, args):
                        if ev == 'sys.setprofile' and refuse[0]:
                            raise KeyboardInterrupt('audit')
                    sys.addaudithook(hook)
                    p = evprof.EventProfiler(impl=%r, threads=True)
                    refuse[0] = True
                    try:
                        p.start()
                    except KeyboardInterrupt:
                        print('refused', consistent(p), p._started)
                    refuse[0] = False
                    p.start()
                    refuse[0] = True
                    try:
                        p.stop()
                    except KeyboardInterrupt:
                        pass
                    refuse[0] = False
                    print('stopped', consistent(p), p._started)
                    df = p.retrieve_results()
                    m = df[df.event.str.startswith('profiler_')].event
                    print(list(m))
                    """ % impl)
                self.assertEqual(r.returncode, 0, r.stderr[-3000:])
                self.assertEqual(
                    r.stdout.splitlines(),
                    ['refused True False', 'stopped True False',
                     "['profiler_start', 'profiler_sort', "
                     "'profiler_start', 'profiler_sort']"])

    def test_raw_domain_threads_while_dropped(self):
        # Threads allocating without the GIL (lzma, os.getcwd: the raw
        # domain) while profilers start, stop and are dropped: the buffer
        # of a dropped profiler must not be in use by a hook.
        r = run("""
            import lzma, os, threading
            data = lzma.compress(b'x' * 1000)
            stop = False
            def work():
                while not stop:
                    lzma.decompress(data)
                    os.getcwd()
            ts = [threading.Thread(target=work) for _ in range(3)]
            for t in ts:
                t.start()
            for i in range(4000):
                p = evprof.EventProfiler(impl='c', size=64)
                p.start()
                p.stop()
                del p
            stop = True
            for t in ts:
                t.join()
            print('ok', evprof._core.memory_hooked())
            """)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        self.assertEqual(r.stdout, 'ok False\n')

    def test_interrupted_start_and_stop(self):
        # An exception from a signal handler strikes anywhere in start()
        # and stop() (SIGALRM at random times): afterwards the profiler is
        # wholly started or wholly stopped, never hooked while stopped,
        # and the next profiler is never refused.
        for impl in IMPLS:
            with self.subTest(impl=impl):
                r = run(prelude=CONSISTENT, code="""
                    import random, signal
                    class Hit(Exception):
                        pass
                    def handler(sig, frame):
                        raise Hit()
                    signal.signal(signal.SIGALRM, handler)
                    rnd = random.Random(5)
                    p = evprof.EventProfiler(impl=%r, threads=True)
                    bad = hits = 0
                    for i in range(3000):
                        # One alarm an iteration: one Hit at most.
                        try:
                            signal.setitimer(signal.ITIMER_REAL,
                                             rnd.uniform(1e-6, 2e-4))
                            try:
                                if p._started:
                                    p.stop()
                                else:
                                    p.start()
                            finally:
                                signal.setitimer(signal.ITIMER_REAL, 0)
                        except Hit:
                            hits += 1
                        if not consistent(p):
                            bad += 1
                    if p._started:
                        p.stop()
                    n = p._buffer.count()
                    [str(i) for i in range(1000)]
                    q = evprof.EventProfiler(impl=%r)
                    q.start()
                    q.stop()
                    print(bad, hits > 0, n == p._buffer.count(),
                          consistent(p))
                    """ % (impl, impl))
                self.assertEqual(r.returncode, 0, r.stderr[-3000:])
                self.assertEqual(r.stdout, '0 True True True\n')

    def test_start_stop_from_signal_handler(self):
        # A SIGALRM handler toggles the profiler every millisecond while
        # the program toggles it too: refusals are clean RuntimeErrors of
        # the API (started twice, stopped unstarted), time never goes
        # backwards, and nothing stays installed.
        for impl in IMPLS:
            with self.subTest(impl=impl):
                r = run(prelude=CONSISTENT, code="""
                    import signal, numpy
                    p = evprof.EventProfiler(impl=%r)
                    errors = {}
                    def toggle():
                        try:
                            if p._started:
                                p.stop()
                            else:
                                p.start()
                        except RuntimeError as e:
                            key = str(e).split('.')[0]
                            errors[key] = errors.get(key, 0) + 1
                    def handler(sig, frame):
                        toggle()
                    signal.signal(signal.SIGALRM, handler)
                    signal.setitimer(signal.ITIMER_REAL, 1e-3, 1e-3)
                    for i in range(4000):
                        toggle()
                        [str(j) for j in range(30)]
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    if p._started:
                        p.stop()
                    raw = p.retrieve_raw_results()
                    t = raw[:, 3]
                    print(consistent(p), bool((numpy.diff(t) >= 0).all()),
                          sorted(errors))
                    """ % impl)
                self.assertEqual(r.returncode, 0, r.stderr[-3000:])
                ok, mono, errors = r.stdout.split(' ', 2)
                self.assertEqual((ok, mono), ('True', 'True'), r.stdout)
                for e in eval(errors):
                    self.assertIn(e, ('The profiler was already started',
                                      'The profiler was not started'))

    def test_multiprocessing_fork_workers(self):
        # Workers forked from a profiling parent record nothing, hold no
        # hook, and may profile themselves.
        r = run("""
            import multiprocessing, sys, threading
            def task(i):
                state = (sys.getprofile() is None,
                         not evprof._core.memory_hooked(),
                         threading._profile_hook is None)
                q = evprof.EventProfiler(impl='c')
                q.start()
                [str(j) for j in range(100)]
                q.stop()
                return state + (len(q.retrieve_raw_results()) > 100,)
            p = evprof.EventProfiler(impl='c', threads=True)
            p.start()
            ctx = multiprocessing.get_context('fork')
            with ctx.Pool(2) as pool:
                res = set(pool.map(task, range(40)))
            p.stop()
            print(res)
            """)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        self.assertEqual(r.stdout, '{(True, True, True, True)}\n')

    def test_fork_module_api(self):
        # The seed's module-level C API hooks the allocators without an
        # EventProfiler: a forked child drops those hooks too.
        r = run("""
            import os
            from evprof import _event_profiler_c as c
            c._profiling_start(100, True)
            pid = os.fork()
            if pid == 0:
                os._exit(0 if not evprof._core.memory_hooked() else 5)
            _, st = os.waitpid(pid, 0)
            print(os.waitstatus_to_exitcode(st), evprof._core.memory_hooked())
            c._profiling_stop()
            """)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        self.assertEqual(r.stdout, '0 True\n')

    def test_getprofile_setprofile_idiom(self):
        # old = sys.getprofile(); sys.setprofile(mine); ...;
        # sys.setprofile(old): what getprofile() returns is a working
        # profile function, and the events after the hand-back are kept.
        for impl in IMPLS:
            with self.subTest(impl=impl):
                r = run("""
                    import sys, warnings
                    warnings.simplefilter('error')
                    def mine(frame, event, arg):
                        pass
                    def before():
                        return 1
                    def after():
                        return 2
                    p = evprof.EventProfiler(impl=%r)
                    p.start()
                    before()
                    old = sys.getprofile()
                    sys.setprofile(mine)
                    before()
                    sys.setprofile(old)
                    after()
                    after()
                    p.stop()
                    df = p.retrieve_results()
                    calls = df[df.event == 'call'].name
                    print(sys.getprofile(), (calls == 'before').sum(),
                          (calls == 'after').sum())
                    """ % impl)
                self.assertEqual(r.returncode, 0, r.stderr[-3000:])
                self.assertEqual(r.stdout, 'None 1 2\n')


if __name__ == '__main__':
    evprof_test.main()
