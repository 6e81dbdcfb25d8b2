"""
The buffer's slow path allocates (a chunk): with libevprof-malloc.so
preloaded, that allocation is the profiler's and is not handed to the
sink logging into the same buffer, whatever event fills a chunk (a call,
a return, an allocation), so a run with small chunks ends.
"""
import os
import subprocess
import sys
import unittest

import evprof_test

ENV = evprof_test.subprocess_env()
LIB = ENV.get('EVPROF_MALLOC_LIBRARY')
EXT = os.path.join(evprof_test.BUILDDIR, 't', 'python', '.libs')

SCRIPT = r'''
import sys
import evprof_test
ev = evprof_test.load()
sys.path.insert(0, %(ext)r)
import _allocext


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def work():
    for _ in range(20):
        fib(12)
        _allocext.churn(50, 100)


p = ev.EventProfiler(impl='c', size=%(size)d, memory=%(memory)r)
p.start()
work()
p.stop()
raw = p.retrieve_raw_results()
print(len(raw), int((raw[:, 2] == 1).sum()))
'''


@unittest.skipUnless(LIB and os.path.exists(LIB),
                     'libevprof-malloc.so not built')
class TestSlowPath(unittest.TestCase):

    def run_script(self, size, memory):
        env = dict(ENV)
        env['LD_PRELOAD'] = LIB
        env['PYTHONPATH'] = os.path.dirname(os.path.abspath(__file__))
        out = subprocess.run(
            [sys.executable, '-c', SCRIPT % {
                'ext': EXT, 'size': size, 'memory': memory}],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, timeout=300)
        self.assertEqual(out.returncode, 0, out.stderr)
        return [int(w) for w in out.stdout.split()]

    def test_small_chunks_native(self):
        # fib(12) is 465 calls: 20 of them fill a chunk of 7 events
        # thousands of times, at calls and at allocations alike.
        for size in (7, 64, 1000):
            n, calls = self.run_script(size, ('obj', 'native'))
            # work() and the calls of stop() besides fib's.
            self.assertGreaterEqual(calls, 20 * 465)
            self.assertLess(calls, 20 * 465 + 10)
            self.assertGreater(n, 2 * 20 * 465 + 2 * 20 * 50)

    def test_small_chunks_everything(self):
        n, calls = self.run_script(
            13, ('raw', 'mem', 'obj', 'numpy', 'native'))
        self.assertGreaterEqual(calls, 20 * 465)


if __name__ == '__main__':
    evprof_test.main()
