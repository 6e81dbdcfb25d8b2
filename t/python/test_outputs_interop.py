"""The C library and the Python package read each other's trace files."""
import os
import shutil
import subprocess
import tempfile
import unittest

import evprof_test

evprof = evprof_test.load()
from evprof import tracefile  # noqa: E402

TOOL = os.path.join(evprof_test.BUILDDIR, 't', 'trace-interop')


def work():
    return [sorted(range(i)) for i in range(30)]


@unittest.skipUnless(os.path.exists(TOOL), 't/trace-interop is not built '
                     '(make check builds it)')
class TestInterop(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='evprof-test-')

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def tool(self, *args):
        return subprocess.run([TOOL] + list(args), capture_output=True,
                              text=True, timeout=60)

    def test_python_reads_c(self):
        path = os.path.join(self.dir, 'c.evt')
        proc = self.tool('write', path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        trace = tracefile.read_trace(path)
        self.assertEqual(trace.events.shape, (16, 6))
        self.assertEqual(len(trace.threads), 2)
        self.assertEqual(trace.meta['source'], 't/trace-interop')
        self.assertEqual(trace.meta['columns'],
                         'id_frame,id_arg,event,time,value1,value2')
        df = evprof.load(path, thread=True)
        self.assertEqual(df['thread'].nunique(), 2)
        one = df[df['thread'] == df['thread'].iloc[0]]
        self.assertEqual(list(one['event']), [
            'call', 'call', 'malloc', 'c_call', 'c_return', 'free',
            'return', 'return'])
        self.assertEqual(list(one['name']), [
            'outer', 'inner', 'inner', 'len', 'len', 'inner', 'inner',
            'outer'])
        inner = one.iloc[1]
        self.assertEqual((inner['mod'], inner['lineno'], inner['from_name'],
                          inner['from_line']),
                         ('interop.py', 20, 'outer', 12))
        c_call = one.iloc[3]
        self.assertEqual((c_call['mod'], c_call['from_name'],
                          c_call['from_line']), ('builtins', 'inner', 21))
        self.assertEqual(list(one['value2']), [0, 0, 64, 0, 0, -64, 0, 0])
        summary = evprof.summary.summary(df)
        inner = summary[summary['name'] == 'inner'].iloc[0]
        self.assertEqual((inner['calls'], inner['bytes_allocated'],
                          inner['bytes_net']), (2, 128, 0))

    def test_c_reads_python(self):
        prof = evprof.EventProfiler(impl='c')
        prof.start()
        work()
        prof.stop()
        path = os.path.join(self.dir, 'py.evt')
        prof.save(path)
        proc = self.tool('read', path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        head = proc.stdout.splitlines()[0].split()
        fields = dict(zip(head[0::2], head[1::2]))
        df = prof.retrieve_results()
        self.assertEqual(int(fields['events']), len(df))
        self.assertEqual(int(fields['threads']), 1)
        self.assertEqual(int(fields['timesum']), int(df['time'].sum()))
        self.assertGreater(int(fields['names']), 0)
        self.assertGreater(int(fields['lines']), 0)
        names = {line.split()[2] for line in proc.stdout.splitlines()[1:]}
        self.assertIn('work', names)
        self.assertIn('sorted', names)

    def test_both_refuse_damage(self):
        path = os.path.join(self.dir, 'c.evt')
        self.assertEqual(self.tool('write', path).returncode, 0)
        with open(path, 'rb') as f:
            data = f.read()
        for cut in (10, 64, 100, len(data) - 1):
            bad = os.path.join(self.dir, 'bad.evt')
            with open(bad, 'wb') as f:
                f.write(data[:cut])
            proc = self.tool('read', bad)
            self.assertEqual(proc.returncode, 1)
            if cut < 64:
                with self.assertRaises(tracefile.TraceFileError):
                    evprof.load(bad)
                continue
            # Cut after its header: the complete sections, and a warning.
            with self.assertWarns(tracefile.TraceTruncatedWarning) as cm:
                evprof.load(bad)
            self.assertIn('truncated at offset', str(cm.warning))


if __name__ == '__main__':
    evprof_test.main()
