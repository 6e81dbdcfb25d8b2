"""
EventProfiler(output=path) and `evprof run` streaming into a trace file
while the program runs: the same events and names as in memory, threads
and their names, files cut by SIGKILL, os._exit or a full disk, an
unwritable output, fork, and the command line's outputs.
"""
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import unittest
import warnings

import evprof_test

evprof = evprof_test.load()

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, 'run_evprof.py')
FRAME_COLUMNS = ['event', 'name', 'mod', 'lineno', 'from_name', 'from_mod',
                 'from_line']


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def work():
    out = [fib(12)]
    for i in range(50):
        out.append(len(str(i)) + abs(-i))
    return sorted(out)


def profile(prof):
    prof.start()
    work()
    prof.stop()


def read_cut(path):
    """(the reader's error, events read before it, the reader's names)"""
    seen = []
    reader = evprof._core.TraceReader(path)
    try:
        try:
            reader.read(lambda n: seen.append(n))
            error = None
        except evprof.TraceFileError as exc:
            error = str(exc)
        names = {name for _, _, _, name, _, _ in reader.names()}
        meta = dict(reader.meta_pairs())
    finally:
        reader.close()
    return error, (seen[-1] if seen else 0), names, meta


# A child that streams fib() forever, saying when its file holds names.
CHILD = '''\
import os, sys, time
import evprof_test
evprof = evprof_test.load()

def spin(n):
    return n if n < 2 else spin(n - 1) + spin(n - 2)

prof = evprof.EventProfiler(impl='c', output=sys.argv[1])
prof.start()
t0 = time.monotonic()
ready = False
while True:
    spin(15)
    if not ready and os.path.getsize(sys.argv[1]) > 200000:
        print('ready', flush=True)
        ready = True
        if sys.argv[2] == 'exit':
            os._exit(0)
    if time.monotonic() - t0 > 120:
        os._exit(3)
'''


class TestStream(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='evprof-stream-')

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def test_same_as_in_memory(self):
        path = self.path('t.evt')
        streamed = evprof.EventProfiler(impl='c', memory=False, output=path)
        held = evprof.EventProfiler(impl='c', memory=False)
        profile(streamed)
        profile(held)
        a = streamed.retrieve_results()
        b = held.retrieve_results()
        self.assertGreater(len(a), 1000)
        self.assertEqual(a[FRAME_COLUMNS].values.tolist(),
                         b[FRAME_COLUMNS].values.tolist())
        self.assertEqual(((a['name'] == 'fib') & (a['event'] == 'call'))
                         .sum(), 465)
        self.assertTrue((a['from_line'][a['name'] == 'fib'] > 0).all())
        ra = streamed.retrieve_raw_results()
        rb = held.retrieve_raw_results()
        self.assertEqual(ra[:, [0, 1, 2, 4, 5]].tolist(),
                         rb[:, [0, 1, 2, 4, 5]].tolist())
        # The file is complete, and evprof.load gives the same frame.
        c = evprof.load(path)
        self.assertEqual(c[FRAME_COLUMNS].values.tolist(),
                         a[FRAME_COLUMNS].values.tolist())
        copy = self.path('copy.evt')
        streamed.save(copy)
        self.assertEqual(evprof.load(copy)[FRAME_COLUMNS].values.tolist(),
                         a[FRAME_COLUMNS].values.tolist())
        streamed.save(path)  # itself: nothing to do
        trace = evprof.tracefile.read_trace(path)
        self.assertEqual(trace.meta['order'], 'thread')
        self.assertEqual(trace.meta['impl'], 'c')

    def test_lines_of_a_long_function(self):
        # More instructions than the stream writes lines at a time: the
        # call site at its end resolves as in memory.
        body = ''.join('    x%d = %d\n' % (i, i) for i in range(6000))
        ns = {}
        exec(compile('def big():\n%s    return len("ab")\n' % body,
                     'big.py', 'exec'), ns)
        big = ns['big']
        path = self.path('big.evt')
        a = evprof.EventProfiler(impl='c', memory=False, output=path)
        b = evprof.EventProfiler(impl='c', memory=False)
        for prof in (a, b):
            prof.start()
            big()
            prof.stop()
        ra, rb = a.retrieve_results(), b.retrieve_results()
        lens = ra[(ra['name'] == 'len') & (ra['event'] == 'c_call')]
        self.assertEqual(lens['from_line'].tolist(), [6002])
        self.assertEqual(ra[FRAME_COLUMNS].values.tolist(),
                         rb[FRAME_COLUMNS].values.tolist())

    def test_memory_events_and_freed_sizes(self):
        path = self.path('m.evt')
        prof = evprof.EventProfiler(impl='c', memory=True, output=path)
        prof.start()
        blocks = [bytearray(1000 + i) for i in range(100)]
        del blocks
        prof.stop()
        raw = prof.retrieve_raw_results()
        frees = raw[raw[:, 2] == 1003]
        self.assertGreater(len(frees), 100)
        # Streamed frees hold 0; paired with their allocation when read.
        self.assertTrue((frees[:, 5] < 0).any())
        allocs = raw[(raw[:, 2] >= 1000) & (raw[:, 2] <= 1002)]
        self.assertTrue((allocs[:, 5] >= 1000).sum() >= 100)

    def test_results_need_stop_and_one_run(self):
        path = self.path('r.evt')
        prof = evprof.EventProfiler(impl='c', output=path)
        prof.start()
        with self.assertRaisesRegex(RuntimeError, 'stop'):
            prof.retrieve_results()
        prof.stop()
        self.assertGreater(len(prof.retrieve_results()), 0)
        with self.assertRaisesRegex(RuntimeError, 'one run'):
            prof.start()
        self.assertIsNone(sys.getprofile())

    def test_threads_and_names_of_ended_threads(self):
        path = self.path('th.evt')
        prof = evprof.EventProfiler(impl='c', memory=False, threads=True,
                                    output=path)
        prof.start()
        t = threading.Thread(target=work, name='worker-gone')
        t.start()
        t.join()
        work()
        prof.stop()
        trace = evprof.tracefile.read_trace(path)
        names = evprof.tracefile.thread_names(trace)
        self.assertIn('worker-gone', names.values())
        self.assertIn('MainThread', names.values())
        self.assertEqual(len(trace.threads), 2)
        df = prof.retrieve_results(thread=True)
        calls = df[(df['name'] == 'work') & (df['event'] == 'call')]
        self.assertEqual(sorted(calls['thread'].unique().tolist()),
                         sorted([t.ident, threading.get_ident()]))

    def child(self, mode):
        path = self.path('%s.evt' % mode)
        proc = subprocess.Popen(
            [sys.executable, '-c', CHILD, path, mode],
            env=evprof_test.subprocess_env(), stdout=subprocess.PIPE,
            text=True)
        try:
            self.assertEqual(proc.stdout.readline().strip(), 'ready')
            if mode == 'kill':
                proc.send_signal(signal.SIGKILL)
            status = proc.wait(timeout=120)
        finally:
            if proc.poll() is None:  # pragma: no cover
                proc.kill()
                proc.wait()
            proc.stdout.close()
        return path, status

    def check_cut(self, path):
        error, events, names, meta = read_cut(path)
        self.assertIsNotNone(error)
        self.assertIn('truncated at offset', error)
        self.assertRegex(error, r'\d+ events in complete sections')
        self.assertGreater(events, 10000)
        self.assertIn('spin', names)
        self.assertIn('<module>', names)
        self.assertIn('MainThread', meta.values())

    def test_sigkill_leaves_a_readable_file(self):
        path, status = self.child('kill')
        self.assertEqual(status, -signal.SIGKILL)
        self.check_cut(path)

    def test_os_exit_leaves_a_readable_file(self):
        path, status = self.child('exit')
        self.assertEqual(status, 0)
        self.check_cut(path)

    def test_unwritable_output(self):
        for path, exc in ((self.path('no/such/dir/t.evt'), FileNotFoundError),
                          (os.path.join(self.dir), IsADirectoryError),
                          (os.path.join(__file__, 't.evt'),
                           NotADirectoryError)):
            with self.subTest(path=path):
                prof = evprof.EventProfiler(impl='c', output=path)
                with self.assertRaises(exc) as cm:
                    prof.start()
                self.assertEqual(cm.exception.filename, path)
                self.assertFalse(prof._started)
                self.assertIsNone(sys.getprofile())
        with self.assertRaises(TypeError):
            evprof.EventProfiler(output=3.5)

    def test_full_disk_keeps_the_program(self):
        # A 1 MiB file size limit: writes past it fail with EFBIG
        # (SIGXFSZ is ignored by Python).
        path = self.path('full.evt')
        script = textwrap.dedent('''\
            import sys, warnings
            import evprof_test
            evprof = evprof_test.load()

            def fib(n):
                return n if n < 2 else fib(n - 1) + fib(n - 2)

            prof = evprof.EventProfiler(impl='c', output=sys.argv[1])
            prof.start()
            fib(26)  # some 1.5M events: several MiB even packed
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter('always')
                prof.stop()
            print('alive', fib(10))
            for x in w:
                print(x.message)
            ''')
        proc = subprocess.run(
            [sys.executable, '-c', script, path],
            env=evprof_test.subprocess_env(), capture_output=True,
            text=True, timeout=300, preexec_fn=limit_file_size)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn('alive 55', proc.stdout)
        self.assertRegex(proc.stdout, r'writing .*full.evt failed \(File '
                         r'too large\) after \d+ events: \d+ events were '
                         r'not written')
        self.assertLessEqual(os.path.getsize(path), 1 << 20)
        error, events, names, _ = read_cut(path)
        self.assertIn('truncated at offset', error)
        self.assertIn('fib', names)

    def test_fork_child_leaves_the_file_alone(self):
        if not hasattr(os, 'fork'):  # pragma: no cover
            self.skipTest('no fork')
        if 'libasan' in os.environ.get('LD_PRELOAD', ''):
            # GCC's libasan keeps its allocator's locks across fork: a
            # child forked while the stream's thread frees would hang.
            self.skipTest('fork under ASan')
        path = self.path('f.evt')
        prof = evprof.EventProfiler(impl='c', output=path)
        prof.start()
        with warnings.catch_warnings():
            # Python 3.12 warns about fork in a process with threads.
            warnings.simplefilter('ignore', DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 0
            try:
                prof.stop()  # quiet: stopped by the fork
                fib(15)
                del prof
            except BaseException:
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        work()
        prof.stop()
        self.assertEqual(status, 0)
        df = prof.retrieve_results()  # complete: no TraceFileError
        self.assertEqual(((df['name'] == 'fib') & (df['event'] == 'call'))
                         .sum(), 465)


def limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


class TestRunStreams(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='evprof-run-')
        self.script = os.path.join(self.dir, 'fibw.py')
        with open(self.script, 'w') as f:
            f.write(textwrap.dedent('''\
                import sys

                def fib(n):
                    return n if n < 2 else fib(n - 1) + fib(n - 2)

                print('fib =', fib(int(sys.argv[1])))
                '''))

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def evprof(self, *args, tmpdir=None, preexec_fn=None):
        env = evprof_test.subprocess_env()
        if tmpdir is not None:
            env['TMPDIR'] = tmpdir
        proc = subprocess.run([sys.executable, RUNNER] + list(args),
                              env=env, cwd=self.dir, capture_output=True,
                              text=True, timeout=300, preexec_fn=preexec_fn)
        return proc.returncode, proc.stdout, proc.stderr

    def test_summary_from_the_stream(self):
        tmp = os.path.join(self.dir, 'tmp')
        os.mkdir(tmp)
        rc, out, err = self.evprof('run', '--sort', 'calls', self.script,
                                   '12', tmpdir=tmp)
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0], 'fib = 144')
        self.assertRegex(lines[1], r'^evprof: \d+ events, 1 thread, '
                                   r'nothing lost$')
        self.assertIn('incl (ms)', lines[2])
        self.assertIn('fib (', lines[3])
        self.assertIn(' 465 ', ' ' + lines[3])
        self.assertEqual(os.listdir(tmp), [])

    def test_output_evt_and_pftrace(self):
        rc, out, err = self.evprof('run', '-o', 't.evt', self.script, '10')
        self.assertEqual(rc, 0, err)
        df = evprof.load(os.path.join(self.dir, 't.evt'))
        self.assertEqual(((df['name'] == 'fib') & (df['event'] == 'call'))
                         .sum(), 177)
        trace = evprof.tracefile.read_trace(os.path.join(self.dir, 't.evt'))
        self.assertEqual(trace.meta['program'], self.script + ' 10')
        rc, out, err = self.evprof('run', '-o', 't.pftrace', self.script,
                                   '10')
        self.assertEqual(rc, 0, err)
        self.assertIn('t.pftrace', err)
        self.assertGreater(os.path.getsize(os.path.join(self.dir,
                                                        't.pftrace')), 1000)
        self.assertEqual(sorted(os.listdir(self.dir)),
                         ['fibw.py', 't.evt', 't.pftrace'])

    def test_forked_child_leaves_the_outputs_alone(self):
        if 'libasan' in os.environ.get('LD_PRELOAD', ''):
            self.skipTest('fork under ASan')  # see test_fork_child_...
        script = os.path.join(self.dir, 'forks.py')
        with open(script, 'w') as f:
            f.write(textwrap.dedent('''\
                import os, sys

                def fib(n):
                    return n if n < 2 else fib(n - 1) + fib(n - 2)

                pid = os.fork()
                if pid == 0:
                    fib(12)
                    sys.exit(0)
                os.waitpid(pid, 0)
                print('fib =', fib(15))
                '''))
        rc, out, err = self.evprof('run', '--sort', 'calls', script)
        self.assertEqual(rc, 0, err)
        heads = [line for line in out.splitlines()
                 if line.startswith('evprof: ')]
        self.assertEqual(len(heads), 1, out)
        self.assertIn('fib = 610', out)
        self.assertIn(' 1973 ', out)  # the parent's calls of fib only

    def test_unwritable_output_before_the_program(self):
        marker = os.path.join(self.dir, 'ran')
        script = os.path.join(self.dir, 'mark.py')
        with open(script, 'w') as f:
            f.write('open(%r, "w").close()\n' % marker)
        for out in (self.dir, os.path.join(self.script, 'x.evt')):
            with self.subTest(out=out):
                rc, _, err = self.evprof('run', '-o', out, script)
                self.assertEqual(rc, 2, err)
                self.assertTrue(err.startswith('evprof: error: '), err)
                self.assertEqual(len(err.strip().splitlines()), 1, err)
                self.assertFalse(os.path.exists(marker))

    def test_full_disk_says_what_was_lost(self):
        # fib(25): a trace of about 2 MiB, over the limit of 1 MiB.
        rc, out, err = self.evprof('run', '-o', 'full.evt', self.script,
                                   '25', preexec_fn=limit_file_size)
        self.assertEqual(rc, 0, err)
        self.assertIn('fib = 75025', out)
        lost = [line for line in err.splitlines() if 'not written' in line]
        self.assertEqual(len(lost), 1, err)
        self.assertIn('File too large', lost[0])
        error, events, names, _ = read_cut(os.path.join(self.dir,
                                                        'full.evt'))
        self.assertIn('truncated at offset', error)
        self.assertIn('fib', names)


if __name__ == '__main__':
    evprof_test.main()
