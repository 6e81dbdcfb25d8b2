"""
Native allocations (domain 'native'), from libevprof-malloc.so preloaded:
each malloc of a C library called from Python is logged once, attributed
to the Python function, never again in another domain; numpy's data and
PyMem blocks are not counted twice; `evprof run --native` preloads the
library itself; without it, a clear warning.
"""
import os
import subprocess
import sys
import tempfile
import unittest
import warnings

import evprof_test

evprof = evprof_test.load()
ENV = evprof_test.subprocess_env()
LIB = ENV.get('EVPROF_MALLOC_LIBRARY')
HERE = os.path.dirname(os.path.abspath(__file__))
EXT = os.path.join(evprof_test.BUILDDIR, 't', 'python', '.libs')

SCRIPT = r'''
import ctypes, sys
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]


def native_work():
    blocks = [libc.malloc(700001 + 2 * i) for i in range(5)]
    for b in blocks:
        libc.free(b)


def python_work():
    return [str(i) * 50 for i in range(2000)]


def numpy_work():
    try:
        import numpy
    except ImportError:
        return None
    return numpy.zeros(345679)


def main():
    native_work()
    python_work()
    numpy_work()


if __name__ == '__main__':
    main()
    sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
'''

API = r'''
import sys, evprof_test
ev = evprof_test.load()
sys.path.insert(0, %(dir)r)
import work
p = ev.EventProfiler(impl='c', memory=%(memory)r)
p.start()
work.main()
p.stop()
df = p.retrieve_results()
raw = p.retrieve_raw_results()
mem = raw[raw[:, 2] >= 1000]
for row, name in zip(raw, df['name']):
    if row[2] >= 1000:
        print(int(row[1]), int(row[2]), int(row[5]), name)
'''

MARKS = {700001 + 2 * i for i in range(5)}
NUMPY_BYTES = 8 * 345679


def parse(text):
    return [(int(d), int(e), int(s), n) for d, e, s, n in
            (line.split(None, 3) for line in text.splitlines() if line)]


@unittest.skipUnless(LIB and os.path.isfile(LIB),
                     'libevprof-malloc.so is not built')
@unittest.skipIf('asan' in os.environ.get('LD_PRELOAD', ''),
                 'under AddressSanitizer, whose allocator must stay first')
class TestNative(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='evprof-native-')
        cls.script = os.path.join(cls.dir, 'work.py')
        with open(cls.script, 'w') as f:
            f.write(SCRIPT)

    @classmethod
    def tearDownClass(cls):
        for name in os.listdir(cls.dir):
            path = os.path.join(cls.dir, name)
            if os.path.isfile(path):
                os.unlink(path)
        os.rmdir(cls.dir)

    def api(self, memory, preload=True):
        env = dict(ENV)
        if preload:
            env['LD_PRELOAD'] = LIB
        out = subprocess.run(
            [sys.executable, '-c', API % {'dir': self.dir,
                                          'memory': memory}],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, timeout=300)
        self.assertEqual(out.returncode, 0, out.stderr)
        return parse(out.stdout), out.stderr

    def test_logged_once_attributed(self):
        rows, _ = self.api(('raw', 'mem', 'obj', 'numpy', 'native'))
        marks = [r for r in rows if r[2] in MARKS and r[1] == 1000]
        self.assertEqual(sorted(r[2] for r in marks), sorted(MARKS))
        self.assertEqual({r[0] for r in marks}, {4}, 'domain native')
        self.assertEqual({r[3] for r in marks},
                         {'<listcomp>'} if sys.version_info < (3, 12)
                         else {'native_work'})
        frees = [r for r in rows if r[1] == 1003 and -r[2] in MARKS]
        self.assertEqual(len(frees), 5, 'each block freed, paired')

    def test_not_counted_twice(self):
        rows, _ = self.api(('raw', 'mem', 'obj', 'numpy', 'native'))
        big = [r for r in rows if r[2] == NUMPY_BYTES]
        if big:  # numpy installed
            self.assertEqual([r[0] for r in big], [3],
                             "numpy's data once, in its domain")
        pymem = [r for r in rows if r[0] in (0, 1, 2)]
        native = [r for r in rows if r[0] == 4]
        self.assertGreater(len(pymem), 2000)
        self.assertLess(len(native), len(pymem) / 10,
                        'PyMem blocks are not logged again as native')

    def test_c_extension(self):
        script = (
            "import sys, evprof_test\n"
            "ev = evprof_test.load()\n"
            "sys.path.insert(0, %r)\n"
            "import _allocext\n"
            "def grab():\n"
            "    _allocext.keep(10, 444443)\n"
            "def churn():\n"
            "    _allocext.churn(1000, 333331)\n"
            "p = ev.EventProfiler(impl='c', memory=('obj', 'native'))\n"
            "p.start(); grab(); churn(); _allocext.drop(); p.stop()\n"
            "df = p.retrieve_results()\n"
            "k = df[df.value2 == 444443]\n"
            "c = df[df.value2 == 333331]\n"
            "f = df[df.value2 == -444443]\n"
            "print(len(k), set(k.event), set(k.name), len(c), set(c.name),"
            " len(f))\n" % EXT)
        env = dict(ENV)
        env['LD_PRELOAD'] = LIB
        out = subprocess.run([sys.executable, '-c', script], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, timeout=300)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(),
                         "10 {'calloc'} {'grab'} 1000 {'churn'} 10")

    def test_many_blocks(self):
        # Blocks across many chunks of the buffer, written by the preloaded
        # library itself: each once, with its size, attributed to the
        # Python function, each freed.  Two calls, of N and 2N records,
        # so that what the interpreter allocates around a call cancels.
        n = 20000
        script = (
            "import sys, evprof_test\n"
            "ev = evprof_test.load()\n"
            "sys.path.insert(0, %r)\n"
            "import _allocext\n"
            "def small():\n"
            "    _allocext.records(%d, 100)\n"
            "def large():\n"
            "    _allocext.records(%d, 100)\n"
            "p = ev.EventProfiler(impl='c', size=1000, "
            "memory=('obj', 'native'))\n"
            "p.start(); small(); large(); p.stop()\n"
            "df = p.retrieve_results()\n"
            "for name in ('small', 'large'):\n"
            "    d = df[df.name == name]\n"
            "    m = d[d.event == 'malloc']\n"
            "    f = d[d.event == 'free']\n"
            "    print(len(m), len(f), int(m.value2.sum()),"
            " len(set(m.value1) - set(f.value1)))\n" % (EXT, n, 2 * n))
        env = dict(ENV)
        env['LD_PRELOAD'] = LIB
        out = subprocess.run([sys.executable, '-c', script], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, timeout=300)
        self.assertEqual(out.returncode, 0, out.stderr)
        small, large = [[int(w) for w in line.split()]
                        for line in out.stdout.splitlines()]
        # A record is a 32-byte node and a name of 9 to 41 bytes.
        names = sum(9 + i % 33 for i in range(n, 2 * n))
        self.assertEqual([b - a for a, b in zip(small, large)],
                         [2 * n, 2 * n, 32 * n + names, 0])
        self.assertEqual((small[3], large[3]), (0, 0), 'each block freed')

    def test_opt_in(self):
        rows, _ = self.api(True)
        self.assertEqual([r for r in rows if r[0] in (4, 5)], [])

    def test_warning_without_preload(self):
        rows, err = self.api(('native',), preload=False)
        self.assertIn('native allocations are not recorded', err)
        self.assertIn('libevprof-malloc.so is not preloaded', err)
        self.assertEqual(rows, [])

    def test_cli_preloads(self):
        out = os.path.join(self.dir, 'n.evt')
        res = subprocess.run(
            [sys.executable, os.path.join(HERE, 'run_evprof.py'), 'run',
             '--native', '-o', out, self.script, '3'],
            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, timeout=300)
        self.assertEqual(res.returncode, 3, res.stderr)
        import numpy
        r = evprof._core.TraceReader(out)
        try:
            ev, _ = r.read()
        finally:
            r.close()
        ev = numpy.frombuffer(ev, '<i8').reshape(-1, 6)
        mallocs = ev[(ev[:, 1] == 4) & (ev[:, 2] == 1000)]
        self.assertEqual(sorted(set(mallocs[:, 5]) & MARKS), sorted(MARKS))

    def test_cli_without_library(self):
        env = dict(ENV)
        env['EVPROF_MALLOC_LIBRARY'] = os.path.join(self.dir, 'nothere.so')
        res = subprocess.run(
            [sys.executable, os.path.join(HERE, 'run_evprof.py'), 'run',
             '--native', self.script],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, timeout=300)
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn('libevprof-malloc.so not found', res.stderr)


if __name__ == '__main__':
    warnings.simplefilter('default')
    evprof_test.main()
