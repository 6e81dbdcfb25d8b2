"""python3 -m evprof: run, report, convert, exit codes and messages."""
import csv
import json
import os
import shutil
import subprocess
import sys
import textwrap

import evprof_test

evprof = evprof_test.load()

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, 'run_evprof.py')
EXAMPLE = os.path.join(evprof_test.SRCDIR, 'examples', 'fib_alloc.py')


class TestCLI(evprof_test.TempDir):

    def evprof(self, *args, cwd=None):
        """Runs python3 -m evprof ARGS; (status, stdout, stderr)."""
        proc = subprocess.run([sys.executable, RUNNER] + list(args),
                              env=evprof_test.subprocess_env(),
                              cwd=cwd or self.dir, capture_output=True,
                              text=True, timeout=300)
        return proc.returncode, proc.stdout, proc.stderr

    def script(self, name, body):
        path = self.path(name)
        with open(path, 'w') as f:
            f.write(textwrap.dedent(body))
        return path

    def assertUsageError(self, args, *words):
        rc, out, err = self.evprof(*args)
        self.assertEqual(rc, 2, err)
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertTrue(lines[0].startswith('evprof: error: '), err)
        for word in words:
            self.assertIn(word, lines[0])

    def test_run_limit(self):
        rc, out, err = self.evprof('run', '--limit', '3', EXAMPLE, '12')
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        head = [i for i, line in enumerate(lines) if 'incl (ms)' in line]
        self.assertEqual(len(head), 1, out)
        rows = lines[head[0] + 1:]
        self.assertEqual(len(rows), 5, out)
        self.assertRegex(rows[3], r'^\.\.\. \d+ more functions$')
        self.assertRegex(rows[4], r'^allocated by domain: [a-z]+ [0-9.]+ ')
        self.assertUsageError(['run', '--limit', '-1', EXAMPLE], '--limit')

    def test_run_prints_summary(self):
        rc, out, err = self.evprof('run', EXAMPLE, '12')
        self.assertEqual(rc, 0, err)
        self.assertIn('fib(12) = 144', out)
        self.assertIn('incl (ms)', out)
        # By inclusive time, fib(12) may fall out of the first 30 rows when
        # a loaded machine makes the imports slow: by calls it leads.
        rc, out, err = self.evprof('run', '--sort', 'calls', EXAMPLE, '12')
        self.assertEqual(rc, 0, err)
        self.assertIn('fib (', out)

    def test_run_each_format(self):
        for fmt, name in (('evprof', 'out.evt'), ('chrome', 'out.json'),
                          ('csv', 'out.csv')):
            with self.subTest(format=fmt):
                out_path = self.path(name)
                rc, out, err = self.evprof('run', '-o', out_path, '--format',
                                           fmt, EXAMPLE, '10')
                self.assertEqual(rc, 0, err)
                self.assertIn('fib(10) = 55', out)
                self.assertIn(out_path, err)
                if fmt == 'evprof':
                    df = evprof.load(out_path)
                    self.assertEqual(((df['name'] == 'fib')
                                      & (df['event'] == 'call')).sum(), 177)
                elif fmt == 'chrome':
                    with open(out_path) as f:
                        doc = json.load(f)
                    fibs = [e for e in doc['traceEvents']
                            if e.get('name') == 'fib' and e['ph'] == 'X']
                    self.assertEqual(len(fibs), 177)
                else:
                    with open(out_path, newline='') as f:
                        rows = list(csv.DictReader(f))
                    self.assertEqual(
                        sum(r['event'] == 'call' and r['name'] == 'fib'
                            for r in rows), 177)
                    self.assertIn('thread', rows[0])

    def test_format_from_suffix_and_plot(self):
        rc, _, err = self.evprof('run', '-o', 'a.json', '--plot', 'a.png',
                                 '--impl', 'python', '--memory', 'none',
                                 EXAMPLE, '5')
        self.assertEqual(rc, 0, err)
        with open(self.path('a.json')) as f:
            doc = json.load(f)
        self.assertFalse([e for e in doc['traceEvents'] if e['ph'] == 'C'])
        with open(self.path('a.png'), 'rb') as f:
            self.assertEqual(f.read(4), b'\x89PNG')

    def test_script_sees_its_argv_and_path(self):
        sub = os.path.join(self.dir, 'sub')
        os.mkdir(sub)
        with open(os.path.join(sub, 'helper_mod.py'), 'w') as f:
            f.write('VALUE = 42\n')
        script = os.path.join(sub, 'show.py')
        with open(script, 'w') as f:
            f.write(textwrap.dedent('''\
                import sys
                import helper_mod
                print(repr(sys.argv), helper_mod.VALUE, __name__)
                '''))
        rc, out, err = self.evprof('run', '-o', 'x.evt', script, 'a', '-o',
                                   '--b')
        self.assertEqual(rc, 0, err)
        self.assertIn("[%r, 'a', '-o', '--b'] 42 __main__" % script, out)

    def test_exit_status_preserved(self):
        script = self.script('exit3.py', 'import sys\nsys.exit(3)\n')
        rc, _, err = self.evprof('run', '-o', 'e.evt', script)
        self.assertEqual(rc, 3, err)
        self.assertTrue(os.path.getsize(self.path('e.evt')) > 0)
        script = self.script('exitmsg.py', 'raise SystemExit("bye")\n')
        rc, _, err = self.evprof('run', '-o', 'e.evt', script)
        self.assertEqual(rc, 1)
        self.assertIn('bye', err)

    def test_traceback_preserved(self):
        script = self.script('boom.py', '''\
            def inner():
                raise ZeroDivisionError("boom here")

            inner()
            ''')
        rc, _, err = self.evprof('run', '-o', 'b.json', script)
        self.assertEqual(rc, 1)
        self.assertIn('Traceback (most recent call last):', err)
        self.assertIn('ZeroDivisionError: boom here', err)
        self.assertIn('line 4, in <module>', err)
        self.assertIn('line 2, in inner', err)
        self.assertNotIn('cli.py', err)
        self.assertNotIn('_cli_run.py', err)
        # The trace is still written, with the calls of the failed run.
        with open(self.path('b.json')) as f:
            names = {e.get('name') for e in json.load(f)['traceEvents']}
        self.assertIn('inner', names)

    def test_module(self):
        self.script('mymod.py', '''\
            import sys
            print("module", __name__, sys.argv[1:])
            sys.exit(5)
            ''')
        rc, out, err = self.evprof('run', '--threads', '-o', 'm.evt', '-m',
                                   'mymod', 'x', '--y')
        self.assertEqual(rc, 5, err)
        self.assertIn("module __main__ ['x', '--y']", out)
        self.assertUsageError(['run', '-m', 'no_such_module_evprof'],
                              'no_such_module_evprof')

    def test_threads_named(self):
        script = self.script('thr.py', '''\
            import threading

            def work():
                return sum(range(1000))

            t = threading.Thread(target=work, name='worker-1')
            t.start()
            t.join()
            ''')
        rc, _, err = self.evprof('run', '--threads', '-o', 'thr.json', script)
        self.assertEqual(rc, 0, err)
        with open(self.path('thr.json')) as f:
            events = json.load(f)['traceEvents']
        names = {e['args']['name'] for e in events
                 if e['ph'] == 'M' and e['name'] == 'thread_name'}
        self.assertEqual(names, {'MainThread', 'worker-1'})
        work = [e for e in events if e.get('name') == 'work']
        self.assertEqual(len(work), 1)
        rc, _, err = self.evprof('run', '--threads', '-o', 'thr.evt', script)
        self.assertEqual(rc, 0, err)
        trace = evprof.tracefile.read_trace(self.path('thr.evt'))
        self.assertIn('worker-1',
                      evprof.tracefile.thread_names(trace).values())

    def test_report_and_convert(self):
        rc, _, err = self.evprof('run', '-o', 't.evt', EXAMPLE, '9')
        self.assertEqual(rc, 0, err)
        rc, out, err = self.evprof('report', 't.evt', '--sort', 'calls',
                                   '--limit', '5')
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertIn('t.evt', lines[0])
        # The script's imports are profiled too (evprof imported none of
        # them before): fib is among the most called, not always first.
        self.assertTrue(any('fib (' in line for line in lines[2:7]), out)
        self.assertIn('more functions', lines[-2])
        self.assertTrue(lines[-1].startswith('allocated by domain: '), out)
        rc, _, err = self.evprof('convert', 't.evt', '--format', 'chrome')
        self.assertEqual(rc, 0, err)
        with open(self.path('t.json')) as f:
            events = json.load(f)['traceEvents']
        process = [e['args']['name'] for e in events
                   if e['ph'] == 'M' and e['name'] == 'process_name']
        self.assertEqual(process, [EXAMPLE + ' 9'])
        self.assertTrue([e for e in events if e['ph'] == 'X'])
        rc, _, err = self.evprof('convert', 't.evt', '--format', 'png',
                                 '-o', 'p.png')
        self.assertEqual(rc, 0, err)
        self.assertGreater(os.path.getsize(self.path('p.png')), 1000)
        rc, _, err = self.evprof('convert', 't.evt', '--format', 'csv')
        self.assertEqual(rc, 0, err)
        self.assertTrue(os.path.exists(self.path('t.csv')))

    def test_convert_chrome_nested(self):
        # convert --format chrome goes through the library's sink: times
        # in exact decimals, every slice inside its parent on its track.
        import decimal
        rc, _, err = self.evprof('run', '-o', 't.evt', EXAMPLE, '10')
        self.assertEqual(rc, 0, err)
        rc, _, err = self.evprof('convert', 't.evt', '--format', 'chrome')
        self.assertEqual(rc, 0, err)
        with open(self.path('t.json')) as f:
            doc = json.load(f, parse_float=decimal.Decimal)
        self.assertEqual(doc['displayTimeUnit'], 'ns')
        slices = [e for e in doc['traceEvents'] if e['ph'] == 'X']
        self.assertEqual(sum(e['name'] == 'fib' for e in slices), 177)
        for e in slices:
            self.assertEqual(e['ts'].as_tuple().exponent, -3, e)
        # Times from the file's creation (a stream makes its file before
        # its first event): none negative, the absolute ones exact.
        t0 = doc['otherData']['t0_ns']
        trace = evprof.tracefile.read_trace(self.path('t.evt'))
        made = trace.info['created_clock_ns']
        self.assertLessEqual(made, int(trace.events[:, 3].min()))
        self.assertEqual(t0, made)
        timed = [e for e in doc['traceEvents'] if 'ts' in e]
        self.assertTrue(all(e['ts'] >= 0 for e in timed))
        start = [e for e in timed if e['name'] == 'profiler start']
        self.assertEqual(len(start), 1)
        by_tid = {}
        for e in slices:
            by_tid.setdefault(e['tid'], []).append(e)
        for tid, evs in by_tid.items():
            evs.sort(key=lambda e: (e['ts'], -e['dur']))
            stack = []
            for e in evs:
                end = e['ts'] + e['dur']
                while stack and stack[-1] <= e['ts'] and stack[-1] < end:
                    stack.pop()
                if stack:
                    self.assertLessEqual(end, stack[-1], e)
                stack.append(end)
        names = {e['tid']: e['args']['name'] for e in doc['traceEvents']
                 if e['ph'] == 'M' and e['name'] == 'thread_name'}
        self.assertEqual(set(names), set(by_tid))

    def test_sink_progress(self):
        # The progress callback of report / convert: bytes read, rising
        # to the total; an exception it raises stops the run.
        rc, _, err = self.evprof('run', '-o', 't.evt', EXAMPLE, '8')
        self.assertEqual(rc, 0, err)
        trace = self.path('t.evt')
        for sink, passes in (('summary', 1), ('chrome', 2),
                             ('perfetto', 2)):
            calls = []
            evprof._core.sink_run(trace, sink, self.path('out'),
                                  progress=lambda d, t: calls.append((d, t)))
            total = passes * os.path.getsize(trace)
            self.assertEqual(calls[0], (0, total))
            self.assertEqual(calls[-1], (total, total))
            done = [d for d, _ in calls]
            self.assertEqual(done, sorted(done))

        class Stop(Exception):
            pass

        def stop(done, total):
            if done:
                raise Stop(done)
        with self.assertRaises(Stop):
            evprof._core.sink_run(trace, 'chrome', self.path('out'),
                                  progress=stop)
        with self.assertRaises(TypeError):
            evprof._core.sink_run(trace, 'chrome', self.path('out'),
                                  progress=3)

    def test_perfetto(self):
        # run -o x.pftrace (the suffix chooses the format) and convert
        # --format perfetto, both through the library's sink.
        rc, out, err = self.evprof('run', '-o', 'out.pftrace', EXAMPLE, '10')
        self.assertEqual(rc, 0, err)
        self.assertIn('fib(10) = 55', out)
        self.assertEqual(sorted(os.listdir(self.dir)), ['out.pftrace'])
        with open(self.path('out.pftrace'), 'rb') as f:
            data = f.read()
        self.assertEqual(data[0], 0x0A)  # Trace.packet, length-delimited
        self.assertIn(b'fib', data)
        rc, _, err = self.evprof('run', '-o', 't.evt', EXAMPLE, '10')
        self.assertEqual(rc, 0, err)
        rc, _, err = self.evprof('convert', 't.evt', '--format', 'perfetto')
        self.assertEqual(rc, 0, err)
        self.assertIn('t.pftrace', err)
        proto = os.path.join(evprof_test.SRCDIR, 't', 'sinks.proto')
        if shutil.which('protoc') is None:
            self.skipTest('protoc (protobuf-compiler) is not installed')
        with open(self.path('t.pftrace'), 'rb') as f:
            dec = subprocess.run(
                ['protoc', '--proto_path', os.path.dirname(proto),
                 '--decode=perfetto.protos.Trace',
                 os.path.basename(proto)], stdin=f, capture_output=True,
                text=True, timeout=120)
        self.assertEqual(dec.returncode, 0, dec.stderr)
        # fib(10): 177 calls, each a slice (and the other functions').
        self.assertGreaterEqual(dec.stdout.count('TYPE_SLICE_BEGIN'), 177)
        self.assertEqual(dec.stdout.count('TYPE_SLICE_BEGIN'),
                         dec.stdout.count('TYPE_SLICE_END'))

    def test_latin1_directory(self):
        # A script in a directory whose name is not UTF-8: its trace is
        # written, reported and converted, the name kept as its bytes.
        where = os.path.join(os.fsencode(self.dir), b'caf\xe9')
        os.mkdir(where)
        script = os.path.join(where, b'prog.py')
        with open(script, 'w') as f:
            f.write('def here():\n    return [0] * 100\n\nhere()\n')
        trace = self.path('latin1.evt')
        rc, out, err = self.evprof('run', '-o', trace, os.fsdecode(script))
        self.assertEqual(rc, 0, err)
        rc, out, err = self.evprof('report', '--limit', '0', trace)
        self.assertEqual(rc, 0, err)
        self.assertIn('caf\\xe9%sprog.py:1' % os.sep, out)
        rc, out, err = self.evprof('convert', '--format', 'csv', trace)
        self.assertEqual(rc, 0, err)
        with open(self.path('latin1.csv'), 'rb') as f:
            self.assertIn(script, f.read())
        rc, out, err = self.evprof('convert', '--format', 'chrome', trace)
        self.assertEqual(rc, 0, err)
        with open(self.path('latin1.json'), encoding='utf-8') as f:
            names = {e['args']['name'] for e in json.load(f)['traceEvents']
                     if e.get('name') == 'process_name'}
        self.assertIn(os.fsdecode(script), names)
        rc, out, err = self.evprof('convert', '--format', 'png', trace)
        self.assertEqual(rc, 0, err)

    def test_usage_errors(self):
        self.assertUsageError([], 'expected a command')
        self.assertUsageError(['frobnicate'], 'frobnicate')
        self.assertUsageError(['run'], 'expected a script')
        self.assertUsageError(['run', 'missing.py'], 'missing.py')
        self.assertUsageError(['run', '--bogus', EXAMPLE], '--bogus')
        self.assertUsageError(['run', '--impl', 'java', EXAMPLE], 'java')
        self.assertUsageError(['run', '--format', 'xml', EXAMPLE], 'xml')
        self.assertUsageError(['run', '--memory', 'heap', EXAMPLE], 'heap')
        self.assertUsageError(['run', '--size', '0', EXAMPLE], '--size')
        self.assertUsageError(['run', '-o', '/no/such/dir/x.evt', EXAMPLE],
                              '/no/such/dir')
        self.assertUsageError(['report', 'missing.evt'], 'missing.evt')
        self.assertUsageError(['report'], 'FILE')
        self.assertUsageError(['convert', 'x.evt'], '--format')
        self.assertUsageError(['convert', 'missing.evt', '--format',
                               'chrome'], 'missing.evt')

    def test_bad_trace_file(self):
        path = self.path('bad.evt')
        with open(path, 'wb') as f:
            f.write(b'\x89EVPROF\n\x01\x00')
        for args in (['report', path], ['convert', path, '--format', 'csv'],
                     ['convert', path, '--format', 'perfetto']):
            rc, _, err = self.evprof(*args)
            self.assertEqual(rc, 1, err)
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertIn('truncated header', err)

    def test_help(self):
        rc, out, _ = self.evprof('--help')
        self.assertEqual(rc, 0)
        for word in ('run', 'report', 'convert'):
            self.assertIn(word, out)
        rc, out, _ = self.evprof('run', '--help')
        self.assertEqual(rc, 0)
        for opt in ('-o', '--format', '--impl', '--memory', '--threads',
                    '--plot', '--size', '-m', '--sort'):
            self.assertIn(opt, out)
        for cmd in ('report', 'convert'):
            rc, out, _ = self.evprof(cmd, '--help')
            self.assertEqual(rc, 0)
            self.assertIn('FILE', out)


if __name__ == '__main__':
    evprof_test.main()
