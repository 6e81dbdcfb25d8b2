"""
Traces cut off (a program SIGKILLed or ended by os._exit under `evprof
run -o`, a file cut at every section boundary and inside sections, a
last section failing its checksum, a full disk during `evprof run`):
`report`, `convert`, evprof.load and the outputs of a profiler give the
data up to the cut, names resolved, one warning naming the offset, exit
status 0.  Damage in the middle stays an error naming its offset, and a
conversion that fails leaves no output behind.
"""
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import unittest
import warnings

import evprof_test

evprof = evprof_test.load()

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, 'run_evprof.py')
PROTO = os.path.join(os.path.dirname(HERE), 'sinks.proto')
WARNING = re.compile(r'^evprof: warning: (.*): truncated at offset (\d+) '
                     r'\(no END section; (\d+) events in complete sections '
                     r'read.*\): the output covers the events up to there$')

# Runs until killed, saying so once its trace holds some sections.
LOOP = '''\
import os, sys, time

def spin(n):
    return n if n < 2 else spin(n - 1) + spin(n - 2)

t0 = time.monotonic()
said = False
while time.monotonic() - t0 < 120:
    spin(14)
    if not said and os.path.getsize(sys.argv[1]) > 300000:
        print('running', flush=True)
        said = True
        if sys.argv[2] == 'exit':
            os._exit(0)
os._exit(3)
'''

FIB = '''\
import sys

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

print('fib =', fib(int(sys.argv[1])))
'''


def sections(data):
    """[(start, end, type)] of the sections of a trace file's bytes."""
    at = struct.unpack_from('<I', data, 12)[0]
    out = []
    while at + 24 <= len(data):
        typ, _, length = struct.unpack_from('<IIQ', data, at)
        out.append((at, at + 24 + length, typ))
        at += 24 + length
    return out


def limit_file_size():
    import resource
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


class CutCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='evprof-cut-')

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def evprof(self, *args, preexec_fn=None):
        proc = subprocess.run([sys.executable, RUNNER] + list(args),
                              env=evprof_test.subprocess_env(),
                              cwd=self.dir, capture_output=True, text=True,
                              timeout=300, preexec_fn=preexec_fn)
        return proc.returncode, proc.stdout, proc.stderr

    def load_cut(self, path):
        """(the DataFrame, the offset its warning names)"""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            df = evprof.load(path, thread=True)
        cut = [w for w in caught
               if issubclass(w.category, evprof.TraceTruncatedWarning)]
        self.assertEqual(len(cut), 1, [str(w.message) for w in caught])
        at = re.search(r'truncated at offset (\d+)', str(cut[0].message))
        return df, int(at.group(1))

    def one_warning(self, err, path):
        """The offset of the one warning line of a cut in *err*."""
        lines = err.strip().splitlines()
        found = [m for m in map(WARNING.match, lines) if m]
        self.assertEqual(len(found), 1, err)
        self.assertEqual(found[0].group(1), path)
        self.assertFalse([x for x in lines if 'error' in x], err)
        return int(found[0].group(2)), int(found[0].group(3))

    def check_outputs(self, trace, name):
        """report and convert of the cut *trace*: its complete sections,
        named, each with the warning."""
        df, at = self.load_cut(self.path(trace))
        calls = int(df['event'].isin(['call', 'c_call']).sum())
        self.assertGreater(calls, 1000)
        self.assertIn(name, set(df['name']))
        rc, out, err = self.evprof('report', trace)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.one_warning(err, trace), (at, len(df)))
        self.assertTrue(out.startswith('%s: %d events' % (trace, len(df))),
                        out)
        self.assertIn(' %s (' % name, out)
        rc, _, err = self.evprof('convert', trace, '--format', 'chrome',
                                 '-o', 'cut.json')
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.one_warning(err, trace)[0], at)
        with open(self.path('cut.json')) as f:
            slices = [e for e in json.load(f)['traceEvents']
                      if e['ph'] == 'X']
        self.assertEqual(len(slices), calls)
        self.assertTrue(all(e['name'] for e in slices))
        self.assertIn(name, {e['name'] for e in slices})
        rc, _, err = self.evprof('convert', trace, '--format', 'perfetto',
                                 '-o', 'cut.pftrace')
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.one_warning(err, trace)[0], at)
        if shutil.which('protoc'):
            with open(self.path('cut.pftrace'), 'rb') as f:
                text = subprocess.run(
                    ['protoc', '--decode=perfetto.protos.Trace', '-I',
                     os.path.dirname(PROTO), PROTO], stdin=f,
                    capture_output=True, check=True).stdout.decode()
            self.assertEqual(text.count('type: TYPE_SLICE_BEGIN'), calls)
            self.assertIn('name: "%s"' % name, text)
        self.assertEqual(sorted(n for n in os.listdir(self.dir)
                                if n.startswith('.')), [])


class TestCutPrograms(CutCase):
    def child(self, mode):
        script = self.path('loop.py')
        with open(script, 'w') as f:
            f.write(LOOP)
        trace = self.path('%s.evt' % mode)
        proc = subprocess.Popen(
            [sys.executable, RUNNER, 'run', '-o', trace, script, trace, mode],
            env=evprof_test.subprocess_env(), cwd=self.dir,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            self.assertEqual(proc.stdout.readline().strip(), 'running')
            if mode == 'kill':
                os.kill(proc.pid, signal.SIGKILL)
            status = proc.wait(timeout=120)
        finally:
            if proc.poll() is None:  # pragma: no cover
                proc.kill()
                proc.wait()
            proc.stdout.close()
        return os.path.basename(trace), status

    def test_sigkill(self):
        trace, status = self.child('kill')
        self.assertEqual(status, -signal.SIGKILL)
        self.check_outputs(trace, 'spin')

    def test_os_exit(self):
        trace, status = self.child('exit')
        self.assertEqual(status, 0)
        self.check_outputs(trace, 'spin')


class TestCutOffsets(CutCase):
    def setUp(self):
        super().setUp()
        with open(self.path('fib.py'), 'w') as f:
            f.write(FIB)
        rc, _, err = self.evprof('run', '-o', 'full.evt', 'fib.py', '20')
        self.assertEqual(rc, 0, err)
        with open(self.path('full.evt'), 'rb') as f:
            self.data = f.read()
        self.secs = sections(self.data)

    def write(self, name, data):
        with open(self.path(name), 'wb') as f:
            f.write(data)
        return self.path(name)

    def test_every_offset(self):
        from evprof import _core
        cuts = sorted({c for start, end, _ in self.secs
                       for c in (start, start + 10, (start + end) // 2)
                       if 64 <= c < len(self.data)})
        self.assertGreater(len(cuts), 20)
        full = evprof.load(self.path('full.evt'))
        for c in cuts:
            with self.subTest(cut=c):
                good = max([e for _, e, _ in self.secs if e <= c] + [64])
                path = self.write('c.evt', self.data[:c])
                df, at = self.load_cut(path)
                self.assertEqual(at, good)
                # The events up to the cut, as the whole file has them.
                self.assertEqual(df['event'].tolist(),
                                 full['event'][:len(df)].tolist())
                self.assertEqual(df['name'].tolist(),
                                 full['name'][:len(df)].tolist())
                got = _core.sink_run(path, 'chrome', self.path('c.json'),
                                     partial=True)
                self.assertEqual((got['events'], got['cut_offset'],
                                  got['cut_bytes']), (len(df), good, c - good))
                self.assertIn('truncated at offset %d:' % good,
                              got['truncated'])
                with open(self.path('c.json')) as f:
                    slices = [e for e in json.load(f)['traceEvents']
                              if e['ph'] == 'X']
                self.assertEqual(len(slices), int(df['event'].isin(
                    ['call', 'c_call']).sum()))
                self.assertTrue(all(e['name'] for e in slices))
                with self.assertRaises(evprof.TraceFileError):
                    _core.sink_run(path, 'summary', self.path('c.txt'))
        for c in cuts[::max(1, len(cuts) // 4)]:
            with self.subTest(cli=c):
                self.write('c.evt', self.data[:c])
                good = max([e for _, e, _ in self.secs if e <= c] + [64])
                rc, out, err = self.evprof('report', 'c.evt')
                self.assertEqual(rc, 0, err)
                self.assertEqual(self.one_warning(err, 'c.evt')[0], good)

    def test_convert_evprof(self):
        # At a boundary, inside a section, in a last section failing its
        # checksum: a complete trace of the complete sections.
        start, end, _ = self.events_section(1)
        damaged = bytearray(self.data[:end])
        damaged[(start + end) // 2] ^= 0x10
        for name, data in (('b.evt', self.data[:start]),
                           ('i.evt', self.data[:(start + end) // 2]),
                           ('d.evt', bytes(damaged))):
            with self.subTest(cut=name):
                self.write(name, data)
                cut, at = self.load_cut(self.path(name))
                rc, _, err = self.evprof('convert', name, '--format',
                                         'evprof', '-o', 'o.evt')
                self.assertEqual(rc, 0, err)
                self.assertEqual(self.one_warning(err, name)[0], at)
                with open(self.path('o.evt'), 'rb') as f:
                    got = f.read()
                self.assertEqual(got[:at], self.data[:at])
                with warnings.catch_warnings():
                    warnings.simplefilter('error')
                    df = evprof.load(self.path('o.evt'), thread=True)
                self.assertGreater(len(df), 0)
                self.assertTrue(df.equals(cut), name)
                rc, _, err = self.evprof('report', 'o.evt')
                self.assertEqual((rc, err), (0, ''))

    def events_section(self, k):
        """The k-th EVENTS_PACKED section."""
        return [s for s in self.secs if s[2] == 6][k]

    def test_last_section_failing_its_checksum(self):
        start, end, _ = self.events_section(1)
        data = bytearray(self.data[:end])
        data[(start + end) // 2] ^= 0x10
        path = self.write('b.evt', bytes(data))
        df, at = self.load_cut(path)
        self.assertEqual(at, start)
        rc, _, err = self.evprof('convert', 'b.evt', '--format', 'chrome',
                                 '-o', 'b.json')
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.one_warning(err, 'b.evt')[0], start)
        self.assertIn('failing its checksum', err)

    def test_damage_in_the_middle(self):
        start, end, _ = self.events_section(0)
        data = bytearray(self.data)
        data[(start + end) // 2] ^= 0x10
        cut = self.events_section(2)[1] + 5
        path = self.write('m.evt', bytes(data[:cut]))
        with self.assertRaises(evprof.TraceFileError) as cm:
            evprof.load(path)
        self.assertIn('offset %d' % start, str(cm.exception))
        for args in (('report', 'm.evt'),
                     ('convert', 'm.evt', '--format', 'chrome', '-o',
                      'm.json'),
                     ('convert', 'm.evt', '--format', 'perfetto', '-o',
                      'm.pftrace'),
                     ('convert', 'm.evt', '--format', 'csv', '-o',
                      'm.csv')):
            with self.subTest(args=args):
                rc, out, err = self.evprof(*args)
                self.assertEqual(rc, 1, err)
                lines = err.strip().splitlines()
                self.assertEqual(len(lines), 1, err)
                self.assertTrue(lines[0].startswith('evprof: error: '))
                self.assertIn('offset %d' % start, lines[0])
        # No output, not even an empty one, nor a temporary file.
        self.assertEqual(sorted(os.listdir(self.dir)),
                         ['fib.py', 'full.evt', 'm.evt'])
        # An output already there stays as it was.
        with open(self.path('m.json'), 'w') as f:
            f.write('[]')
        rc, _, _ = self.evprof('convert', 'm.evt', '--format', 'chrome',
                               '-o', 'm.json')
        self.assertEqual(rc, 1)
        with open(self.path('m.json')) as f:
            self.assertEqual(f.read(), '[]')

    def test_csv_and_copy_of_a_cut_trace(self):
        c = self.events_section(2)[1] + 100
        self.write('c.evt', self.data[:c])
        df, at = self.load_cut(self.path('c.evt'))
        for fmt, out in (('csv', 'c.csv'), ('evprof', 'copy.evt')):
            with self.subTest(fmt=fmt):
                rc, _, err = self.evprof('convert', 'c.evt', '--format',
                                         fmt, '-o', out)
                self.assertEqual(rc, 0, err)
                self.assertEqual(self.one_warning(err, 'c.evt')[0], at)
        with open(self.path('c.csv')) as f:
            self.assertEqual(sum(1 for _ in f), len(df) + 1)


class TestCutOutputsOfAProfiler(CutCase):
    def test_to_chrome_trace_and_summary_warn(self):
        path = self.path('s.evt')
        prof = evprof.EventProfiler(impl='c', output=path)
        prof.start()
        [sum(range(50)) for _ in range(20000)]
        prof.stop()
        # As a full disk leaves the file of a stream.
        os.truncate(path, os.path.getsize(path) * 2 // 3)
        with self.assertWarns(evprof.TraceTruncatedWarning) as cm:
            n = prof.to_chrome_trace(self.path('s.json'))
        self.assertIn('truncated at offset', str(cm.warning))
        self.assertIn('s.evt', str(cm.warning))
        self.assertGreater(n, 1000)
        with open(self.path('s.json')) as f:
            self.assertEqual(len(json.load(f)['traceEvents']), n)
        with self.assertWarns(evprof.TraceTruncatedWarning):
            table = prof.summary()
        self.assertIn('sum', set(table['name']))

    def test_run_on_a_full_disk(self):
        with open(self.path('fib.py'), 'w') as f:
            f.write(FIB)
        # fib(25): a trace of some 2 MiB, over the limit of 1 MiB; the
        # summary is made from the trace cut there.
        rc, out, err = self.evprof('run', 'fib.py', '25',
                                   preexec_fn=limit_file_size)
        self.assertEqual(rc, 0, err)
        self.assertIn('fib = 75025', out)
        self.assertRegex(out, r'evprof: \d+ events')
        self.assertIn(' fib (', out)
        lines = [x for x in err.splitlines() if WARNING.match(x)]
        self.assertEqual(len(lines), 1, err)
        self.assertNotIn('evprof: error', err)


if __name__ == '__main__':
    evprof_test.main()
