"""
evprof run as a user meets it: the timeline starts at the program's
<module> (no frame of evprof or runpy, no caller), its errors and exit
status as Python gives them, a program that profiles itself, Ctrl-C.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

import evprof_test

evprof = evprof_test.load()

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, 'run_evprof.py')
PACKAGE = os.path.dirname(os.path.abspath(evprof.__file__))
# Frames a timeline of the program must not show.
TOOL_NAMES = {'_run_target', 'run_path', 'run_module', '_run_module_code',
              '_run_code', 'exec', 'start', 'stop', '_setup_profiler',
              '_restore_profiler', 'run', '_profile_into', 'main',
              '_cmd_run', '__enter__', '__exit__', '_start_prep',
              '_stop_done'}


def default_sigint():
    # A test run from a background job inherits SIGINT ignored, and
    # Python then installs no KeyboardInterrupt handler.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def tool_file(mod):
    mod = str(mod)
    return (mod.startswith(PACKAGE) or os.path.basename(mod)
            in ('runpy.py', 'run_evprof.py', 'cli.py', '_cli_run.py',
                'profiler.py', '_profiler_state.py', '_profiler_results.py',
                '_with_profiler.py')
            or mod == '<frozen runpy>')


class TestRunUser(evprof_test.TempDir):

    def script(self, name, body):
        path = self.path(name)
        with open(path, 'w') as f:
            f.write(textwrap.dedent(body))
        return path

    def evprof(self, *args):
        proc = subprocess.run([sys.executable, RUNNER] + list(args),
                              env=evprof_test.subprocess_env(),
                              cwd=self.dir, capture_output=True, text=True,
                              timeout=300)
        return proc.returncode, proc.stdout, proc.stderr

    def assertUserTimeline(self, df, module_file):
        """df (one thread) starts at the program's <module>, without a
        caller, and ends at its return; no frame of the tool anywhere."""
        calls = df[df['event'].isin(['call', 'return'])]
        first, last = calls.iloc[0], calls.iloc[-1]
        self.assertEqual((first['event'], first['name']),
                         ('call', '<module>'))
        self.assertEqual(first['mod'], module_file)
        self.assertEqual(first['from_name'], '')
        self.assertEqual((last['event'], last['name']),
                         ('return', '<module>'))
        self.assertEqual(last['from_name'], '')
        tool = calls[calls['mod'].map(tool_file)]
        self.assertEqual(len(tool), 0, tool[['event', 'name', 'mod']])
        fn = df[df['event'].isin(['call', 'c_call'])]
        self.assertFalse(set(fn['from_mod'].map(str)) & {__file__, RUNNER})

    PROGRAM = '''\
        def gen():
            yield from range(3)

        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)

        try:
            raise KeyError(1)
        except KeyError:
            pass
        print(fib(8), list(gen()))
        '''

    def test_script_starts_at_its_module(self):
        prog = self.script('prog.py', self.PROGRAM)
        for impl in ('c', 'python', 'pybind11'):
            with self.subTest(impl=impl):
                rc, out, err = self.evprof('run', '--impl', impl, '-o',
                                           't.evt', prog)
                self.assertEqual(rc, 0, err)
                self.assertIn('21 [0, 1, 2]', out)
                self.assertUserTimeline(evprof.load(self.path('t.evt')),
                                        prog)
        # The report and the Chrome JSON: the program's functions only.
        rc, out, err = self.evprof('report', '--limit', '0', 't.evt')
        self.assertEqual(rc, 0, err)
        self.assertNotIn('runpy', out)
        self.assertNotIn(PACKAGE, out)
        self.assertIn('<module> (%s:1)' % prog, out)
        rc, out, err = self.evprof('run', '-o', 't.json', prog)
        self.assertEqual(rc, 0, err)
        with open(self.path('t.json')) as f:
            slices = [e for e in json.load(f)['traceEvents']
                      if e['ph'] == 'X']
        first = min(slices, key=lambda e: (e['ts'], -e['dur']))
        self.assertEqual(first['name'], '<module>')
        self.assertFalse({e['name'] for e in slices} & TOOL_NAMES)
        # The printed summary: the program leads.
        rc, out, err = self.evprof('run', prog)
        self.assertEqual(rc, 0, err)
        rows = out.splitlines()
        head = [i for i, line in enumerate(rows) if 'incl (ms)' in line][0]
        self.assertIn('<module> (%s:1)' % prog, rows[head + 1])
        self.assertNotIn('runpy', out)

    def test_module_starts_at_its_module(self):
        self.script('mymod.py', self.PROGRAM)
        rc, out, err = self.evprof('run', '-o', 'm.evt', '-m', 'mymod')
        self.assertEqual(rc, 0, err)
        self.assertUserTimeline(evprof.load(self.path('m.evt')),
                                self.path('mymod.py'))
        # A real module of the standard library, its stdout closed by it.
        data = self.path('in.json')
        with open(data, 'w') as f:
            f.write('{"b": [1, 2]}')
        rc, out, err = self.evprof('run', '--limit', '3', '-m', 'json.tool',
                                   data)
        self.assertEqual(rc, 0, err)
        self.assertIn('"b": [', out)
        first = [line for line in out.splitlines() if 'incl (ms)' in line]
        row = out.splitlines()[out.splitlines().index(first[0]) + 1]
        self.assertIn('<module> (', row)
        self.assertIn('%s:1)' % os.path.join('json', 'tool.py'), row)

    def test_syntax_error(self):
        prog = self.script('syn.py', 'x = 1\ndef (:\n')
        plain = subprocess.run([sys.executable, prog], capture_output=True,
                               text=True)
        rc, out, err = self.evprof('run', '-o', 's.evt', prog)
        self.assertEqual(rc, plain.returncode)
        self.assertEqual(rc, 1)
        self.assertEqual(err, plain.stderr)
        self.assertEqual(os.listdir(self.dir), ['syn.py'])
        rc, out, err = self.evprof('run', prog)
        self.assertEqual((rc, out), (1, ''))

    def test_exception_traceback_as_python(self):
        prog = self.script('boom.py', '''\
            def inner():
                raise ZeroDivisionError("boom")

            inner()
            ''')
        plain = subprocess.run([sys.executable, prog], capture_output=True,
                               text=True)
        rc, out, err = self.evprof('run', '-o', 'b.evt', prog)
        self.assertEqual(rc, plain.returncode)
        self.assertTrue(err.startswith(plain.stderr), err)
        self.assertEqual(err[len(plain.stderr):].count('\n'), 1, err)
        df = evprof.load(self.path('b.evt'))
        self.assertIn('inner', set(df['name']))
        for code in (0, 3, 7):
            prog = self.script('exit.py', 'import sys\nsys.exit(%d)\n'
                               % code)
            rc, _, err = self.evprof('run', '-o', 'e.evt', prog)
            self.assertEqual(rc, code, err)

    def test_program_with_its_own_event_profiler(self):
        prog = self.script('self_prof.py', '''\
            import evprof

            def inner():
                return sum(range(10))

            def outside():
                return 2

            p = evprof.EventProfiler(impl='c')
            p.start()
            inner()
            p.stop()
            names = set(p.retrieve_results()['name'])
            print(sorted(names - {''}))
            outside()
            ''')
        rc, out, err = self.evprof('run', '-o', 'n.evt', prog)
        self.assertEqual(rc, 0, err)
        self.assertIn("['<module>', 'inner', 'sum']", out)
        lines = [line for line in err.splitlines()
                 if 'EventProfiler of its own' in line]
        self.assertEqual(len(lines), 1, err)
        self.assertIn('self_prof.py:10', lines[0])
        # The outer profile goes on after the inner block.
        df = evprof.load(self.path('n.evt'))
        self.assertIn('outside', set(df['name']))

    def assertNoEvprof(self, df, user):
        """df (an outer profile) has the functions *user* and no frame of
        evprof: no function of a file of the package, no start or stop,
        as callee or caller."""
        calls = df[df['event'].isin(['call', 'c_call', 'return',
                                     'c_return'])]
        self.assertLessEqual(set(user), set(calls['name']))
        ours = df[df['mod'].map(lambda m: str(m).startswith(PACKAGE))
                  | df['from_mod'].map(
                      lambda m: str(m).startswith(PACKAGE))]
        self.assertEqual(len(ours), 0, ours[
            ['event', 'name', 'mod', 'from_name']].to_string())
        names = set(calls['name'])
        self.assertFalse(names & {'start', 'stop', 'Profiler.end',
                                  'Profiler.begin', '_start_prep',
                                  '_stop_done'},
                         names)
        # The bookkeeping of evprof's start (a WeakSet) neither.
        weak = calls[calls['mod'].map(
            lambda m: str(m).endswith('_weakrefset.py'))]
        self.assertEqual(len(weak), 0, weak[['event', 'name']].to_string())

    def test_nested_profilers_leave_no_frame(self):
        # A program that profiles itself, in every way, under evprof run:
        # the outer profile shows its functions, nothing of the inner
        # profilers' machinery.
        prog = self.script('nested.py', '''\
            import cProfile
            import sys
            import evprof

            def inner():
                return sum(range(10))

            def between():
                return 2

            def outside():
                return 3

            impl = sys.argv[1]
            p = evprof.EventProfiler(impl=impl, output='inner1.evt')
            p.start()
            inner()
            p.stop()
            between()
            with evprof.WithEventProfiler(impl=impl):
                inner()
            between()
            cp = cProfile.Profile()
            cp.enable()
            inner()
            cp.disable()
            outside()
            ''')
        for impl in ('c', 'python'):
            with self.subTest(impl=impl):
                rc, _, err = self.evprof('run', '-o', 'n.evt', prog, impl)
                self.assertEqual(rc, 0, err)
                df = evprof.load(self.path('n.evt'))
                self.assertNoEvprof(df, ['<module>', 'between'])
                # Nothing of evprof's setup between the start marker and
                # the program's first event.
                head = df[['event', 'name']].values.tolist()[:2]
                self.assertEqual(head, [['profiler_start', ''],
                                        ['call', '<module>']])
                self.assertIn('inner', set(
                    evprof.load(self.path('inner1.evt'))['name']))

    def test_nested_api_leaves_no_frame(self):
        # The same with the API: an outer profiler running while the code
        # builds, starts and stops its own.
        def inner():
            return sum(range(10))

        def between():
            return 2

        for impl in ('c', 'python'):
            with self.subTest(impl=impl):
                outer = evprof.EventProfiler(impl=impl)
                outer.start()
                p = evprof.EventProfiler(impl=impl)
                p.start()
                inner()
                p.stop()
                between()
                with evprof.WithEventProfiler(impl=impl):
                    inner()
                between()
                outer.stop()
                self.assertNoEvprof(outer.retrieve_results(), ['between'])
                self.assertIn('inner', set(p.retrieve_results()['name']))

    def test_program_leaves_its_profiler_running(self):
        # Its profiler ends with the program, and is written; the exit
        # status is Python's.
        prog = self.script('left_on.py', '''\
            import evprof

            def inner():
                return sum(range(10))

            p = evprof.EventProfiler(impl='c', output='inner.evt')
            p.start()
            inner()
            ''')
        rc, out, err = self.evprof('run', '-o', 'n.evt', prog)
        self.assertEqual(rc, 0, err)
        self.assertNotIn('Traceback', err)
        self.assertIn('EventProfiler of its own (%s:7)' % prog, err)
        names = set(evprof.load(self.path('inner.evt'))['name'])
        self.assertIn('inner', names)
        self.assertFalse(names & {'_stop_all', '_stop_done', '_started'})
        self.assertIn('<module>', set(evprof.load(self.path('n.evt'))['name']))

    def test_command_named_as_typed(self):
        # The installed `evprof` says evprof in its usage and hints;
        # python3 -m evprof says that.
        cmd = self.script('evprof', '''\
            import sys
            import evprof_test
            evprof_test.load()
            from evprof.cli import main
            sys.exit(main())
            ''')
        prog = self.script('p.py', 'print(sum(range(3)))\n')

        def run(*args):
            proc = subprocess.run([sys.executable] + list(args),
                                  env=evprof_test.subprocess_env(),
                                  cwd=self.dir, capture_output=True,
                                  text=True, timeout=300)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            return proc.stdout + proc.stderr

        self.assertIn('usage: evprof run [options]',
                      run(cmd, 'run', '--help'))
        self.assertIn("'evprof report t.evt' prints its summary",
                      run(cmd, 'run', '-o', 't.evt', prog))
        self.assertIn("'python3 -m evprof report t.evt' prints",
                      run(RUNNER, 'run', '-o', 't.evt', prog))

    def test_outputs_too_big_for_memory(self):
        # The picture or CSV of more events than memory holds is said not
        # to be made (the system would kill the process, with nothing
        # written); the trace stays, the status is the program's.
        prog = self.script('small.py', 'print(sorted([2, 1]))\n')
        env = evprof_test.subprocess_env()

        def run(*args, limit='1000'):
            env['EVPROF_MEMORY_LIMIT'] = limit
            proc = subprocess.run([sys.executable, RUNNER] + list(args),
                                  env=env, cwd=self.dir, capture_output=True,
                                  text=True, timeout=300)
            return proc.returncode, proc.stderr

        rc, err = run('run', '--plot', 'p.png', prog)
        self.assertEqual(rc, 0, err)
        self.assertFalse(os.path.exists(self.path('p.png')))
        self.assertRegex(err, r'the picture of \d+ events needs about '
                              r'[\d.]+ KiB of memory to make, 1000 B are '
                              r'available: p.png not written')
        kept = re.search(r'the trace is kept in (\S+) ', err).group(1)
        try:
            self.assertIn('sorted', set(evprof.load(kept)['name']))
        finally:
            os.unlink(kept)
        rc, err = run('run', '-o', 't.csv', prog)
        self.assertEqual(rc, 0, err)
        self.assertIn('the CSV of', err)
        self.assertFalse(os.path.exists(self.path('t.csv')))
        kept = re.search(r'the trace is kept in (\S+) ', err).group(1)
        self.assertTrue(os.path.exists(self.path(kept)))
        rc, err = run('convert', kept, '--format', 'png', '-o', 'c.png')
        self.assertEqual(rc, 1, err)
        self.assertIn('c.png not written', err)
        self.assertFalse(os.path.exists(self.path('c.png')))
        rc, err = run('convert', kept, '--format', 'png', '-o', 'c.png',
                      limit='lots')
        self.assertEqual(rc, 1, err)
        self.assertIn('EVPROF_MEMORY_LIMIT must be a number of bytes', err)
        rc, err = run('convert', kept, '--format', 'png', '-o', 'c.png',
                      limit=str(1 << 40))
        self.assertEqual(rc, 0, err)
        self.assertTrue(os.path.exists(self.path('c.png')))

    def test_outputs_need_modules_said_first(self):
        # On an interpreter without matplotlib (or pandas): one line
        # saying what to install, before the program runs.
        cmd = self.script('evprof_without', '''\
            import sys
            import evprof_test
            evprof_test.load()
            for name in sys.argv.pop(1).split(','):
                sys.modules[name] = None  # as if not installed
            from evprof.cli import main
            sys.exit(main())
            ''')
        prog = self.script('p.py', 'print("ran")\n')
        for missing, args in (
                ('matplotlib', ['run', '--plot', 'p.png', prog]),
                ('pandas', ['run', '-o', 't.csv', prog]),
                ('matplotlib', ['convert', 'x.evt', '--format', 'png'])):
            with self.subTest(args=args):
                proc = subprocess.run(
                    [sys.executable, cmd, missing] + args,
                    env=evprof_test.subprocess_env(), cwd=self.dir,
                    capture_output=True, text=True, timeout=300)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertEqual(proc.stdout, '')
                lines = proc.stderr.splitlines()
                self.assertEqual(len(lines), 1, proc.stderr)
                self.assertIn('needs %s, which %s cannot import'
                              % (missing, sys.executable), lines[0])
                self.assertIn('apt-get install python3-%s' % missing,
                              lines[0])

    def test_api_stopped_at_exit(self):
        # A profiler the program leaves running is stopped at exit by
        # evprof's atexit handler, which is on no timeline; one it had
        # paused (nested) is written too.
        prog = self.script('left_running.py', '''\
            import sys
            import evprof_test
            evprof = evprof_test.load()

            def work():
                return sorted([3, 1, 2])

            impl = sys.argv[1]
            outer = evprof.EventProfiler(impl=impl, output='outer.evt')
            outer.start()
            work()
            if sys.argv[2] == 'nested':
                inner = evprof.EventProfiler(impl=impl, output='inner.evt')
                inner.start()
                work()
            ''')
        for impl in ('c', 'python'):
            for how in ('alone', 'nested'):
                with self.subTest(impl=impl, how=how):
                    proc = subprocess.run(
                        [sys.executable, prog, impl, how], cwd=self.dir,
                        env=evprof_test.subprocess_env(),
                        capture_output=True, text=True, timeout=300)
                    self.assertEqual(proc.returncode, 0, proc.stderr)
                    self.assertEqual(proc.stderr, '')
                    outputs = ['outer.evt'] + (['inner.evt']
                                               if how == 'nested' else [])
                    for name in outputs:
                        df = evprof.load(self.path(name))
                        calls = df[df['event'].isin(['call', 'c_call'])]
                        self.assertIn('work', set(calls['name']), name)
                        names = set(calls['name'])
                        self.assertFalse(names & {'_stop_all', 'stop',
                                                  '_stop_done'}, name)
                        if name == 'inner.evt' or how == 'alone':
                            tool = calls[calls['mod'].map(tool_file)]
                            self.assertEqual(len(tool), 0, tool[
                                ['event', 'name', 'mod']].to_string())
                        os.unlink(self.path(name))

    def test_program_with_cprofile(self):
        prog = self.script('cprof.py', '''\
            import cProfile
            import pstats

            def work():
                return sum(range(100))

            cProfile.run('work()', 'cp.out')
            pstats.Stats('cp.out')
            print('done')
            ''')
        rc, out, err = self.evprof('run', '-o', 'c.evt', prog)
        self.assertEqual(rc, 0, err)
        self.assertIn('done', out)
        self.assertTrue(os.path.getsize(self.path('cp.out')) > 0)
        self.assertNotIn('Warning', err)
        self.assertNotIn('cli.py', err)
        self.assertNotIn('_cli_run.py', err)
        lines = [line for line in err.splitlines() if 'cProfile' in line]
        self.assertEqual(len(lines), 1, err)
        df = evprof.load(self.path('c.evt'))
        self.assertIn('<module>', set(df['name']))

    def spinning(self, *args, twice=False):
        prog = self.script('spin.py', '''\
            def spin():
                n = 0
                while True:
                    n += len(str(n))

            print('ready', flush=True)
            spin()
            ''')
        proc = subprocess.Popen(
            [sys.executable, RUNNER, 'run'] + list(args) + [prog],
            env=evprof_test.subprocess_env(), cwd=self.dir,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=default_sigint)
        try:
            self.assertEqual(proc.stdout.readline().strip(), 'ready')
            time.sleep(0.5)
            proc.send_signal(signal.SIGINT)
            head = ''
            if twice:
                # Once the traceback is out, the outputs are written.
                while 'KeyboardInterrupt' not in head:
                    line = proc.stderr.readline()
                    if not line:
                        break
                    head += line
                proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        return proc.returncode, out, head + err

    def test_ctrl_c(self):
        rc, out, err = self.spinning('-o', 'i.evt')
        self.assertEqual(rc, -signal.SIGINT, err)
        self.assertIn('line 7, in <module>', err)
        self.assertIn('KeyboardInterrupt', err)
        self.assertNotIn('cli.py', err)
        self.assertNotIn('_cli_run.py', err)
        self.assertIn('i.evt', err.splitlines()[-1])
        df = evprof.load(self.path('i.evt'))
        self.assertIn('spin', set(df['name']))

    def test_second_ctrl_c_while_writing(self):
        rc, out, err = self.spinning('-o', 'big.csv', twice=True)
        self.assertEqual(rc, -signal.SIGINT, err)
        last = err.splitlines()[-1]
        self.assertTrue(last.startswith('evprof: '), err)
        self.assertIn('big.csv', last)
        self.assertNotIn('numpy', err)
        self.assertNotIn('pandas', err)
        self.assertEqual(err.count('Traceback'), 1, err)
        if 'not written' in last:
            self.assertFalse(os.path.exists(self.path('big.csv')))

    def test_unprofiled_threads_named(self):
        prog = self.script('pool.py', '''\
            from concurrent.futures import ThreadPoolExecutor

            def job(i):
                return [str(j) for j in range(2000)]

            with ThreadPoolExecutor(4) as ex:
                list(ex.map(job, range(40)))
            ''')
        rc, out, err = self.evprof('run', '--sort', 'bytes', '-o', 'p.evt',
                                   prog)
        self.assertEqual(rc, 0, err)
        rc, out, err = self.evprof('report', '--sort', 'bytes', 'p.evt')
        self.assertEqual(rc, 0, err)
        row = out.splitlines()[2]
        self.assertTrue(row.endswith('(no function: threads not profiled)'),
                        out)
        self.assertNotIn('   (builtin)', out)
        rc, out, err = self.evprof('run', '--threads', '--sort', 'bytes',
                                   prog)
        self.assertEqual(rc, 0, err)
        self.assertIn('<listcomp> (%s:4)' % prog, out.splitlines()[2])
        self.assertNotIn('no function', out)

    def test_report_limit_and_convert_evprof(self):
        prog = self.script('p.py', 'print(len(str(12)))\n')
        rc, _, err = self.evprof('run', '-o', 't.evt', prog)
        self.assertEqual(rc, 0, err)
        rc, out, err = self.evprof('report', '--limit', '-1', 't.evt')
        self.assertEqual(rc, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn('--limit', err)
        rc, out, err = self.evprof('report', 't.evt')
        self.assertIn(', 1 thread,', out.splitlines()[0])
        rc, out, err = self.evprof('convert', 't.evt', '--format', 'evprof',
                                   '-o', 'copy.evt')
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(evprof.load(self.path('copy.evt'))),
                         len(evprof.load(self.path('t.evt'))))


class TestApiNoToolFrame(unittest.TestCase):
    """p.start(); work(); p.stop(): the work alone, whatever the impl."""

    def run_work(self, **kwargs):
        def work():
            return sorted([3, 1, 2])

        p = evprof.EventProfiler(**kwargs)
        p.start()
        work()
        p.stop()
        return p

    def check(self, p):
        df = p.retrieve_results()
        fn = df[~df['event'].isin(['profiler_start', 'profiler_sort'])
                & (df['event'].map(lambda e: e not in (
                    'malloc', 'calloc', 'realloc', 'free', 'realloc_free')))]
        self.assertEqual(list(fn['event']),
                         ['call', 'c_call', 'c_return', 'return'])
        self.assertEqual(list(fn['name']), ['work', 'sorted', 'sorted',
                                            'work'])
        mem = df[df['event'].isin(['malloc', 'free'])]
        self.assertFalse(set(mem['mod'].map(str)) & {evprof.profiler.__file__})
        summ = p.summary()
        self.assertFalse(set(summ['name']) & TOOL_NAMES)

    def test_impls_and_backends(self):
        backends = ['profile']
        try:
            evprof.EventProfiler(impl='c', backend='monitoring')
            backends.append('monitoring')
        except (ValueError, RuntimeError):
            pass  # sys.monitoring: 3.12 and 3.13
        for impl in ('c', 'python', 'pybind11'):
            for backend in backends:
                with self.subTest(impl=impl, backend=backend):
                    self.check(self.run_work(impl=impl, backend=backend))

    def test_streaming(self):
        d = tempfile.mkdtemp(prefix='evprof-test-')
        try:
            for impl in ('c', 'python'):
                with self.subTest(impl=impl):
                    self.check(self.run_work(
                        impl=impl, output=os.path.join(d, 't.evt')))
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_with_event_profiler(self):
        def work():
            return sorted([3, 1, 2])

        w = evprof.WithEventProfiler(impl='c', memory=False)
        with w:
            work()
        self.assertEqual(list(w.report['name'][1:-1]),
                         ['work', 'sorted', 'sorted', 'work'])
        self.assertFalse(set(w.summary()['name']) & TOOL_NAMES)

    def test_chrome_json(self):
        p = self.run_work(impl='c', memory=False)
        d = tempfile.mkdtemp(prefix='evprof-test-')
        try:
            out = os.path.join(d, 't.json')
            p.to_chrome_trace(out)
            with open(out) as f:
                names = [e['name'] for e in json.load(f)['traceEvents']
                         if e['ph'] == 'X']
        finally:
            shutil.rmtree(d, ignore_errors=True)
        self.assertEqual(sorted(names), ['sorted', 'work'])

    def test_gate_introspection(self):
        import inspect
        self.assertEqual(list(inspect.signature(
            evprof.EventProfiler.stop).parameters), ['self'])
        self.assertIn('Stops', evprof.EventProfiler.stop.__doc__)
        self.assertEqual(evprof.EventProfiler.start.__name__, 'start')
        p = evprof.EventProfiler()
        with self.assertRaises(RuntimeError):
            p.stop()
        with self.assertRaises(TypeError):
            evprof.EventProfiler.start()
        p.start()
        with self.assertRaises(RuntimeError):
            p.start()
        evprof.EventProfiler.stop(p)
        self.assertFalse(p._started)


if __name__ == '__main__':
    evprof_test.main()
