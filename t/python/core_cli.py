"""
No frame of evprof on a timeline, on an interpreter without numpy (run by
`make check-python-versions` with DIR holding the package built for it):
p.start(); work(); p.stop() with every impl and backend, and `-m evprof
run` of a script that uses cProfile: from 3.12 on (cProfile on
sys.monitoring) both profilers get their events, before one line says
what happened.
"""
import os
import subprocess
import sys
import tempfile

TOOL = ('start (', 'stop (', '_start_prep (', '_stop_done (',
        '_setup_profiler (', '_restore_profiler (', 'run_path (',
        '_run_code (', '_run_module_code (', '_profile_into (', '_cmd_run (')


def check(cond, what):
    if not cond:
        raise SystemExit('FAIL %s' % what)


def work():
    return sorted([3, 1, 2])


def functions(evprof, path, work_dir):
    """The function column of the summary of the trace *path*."""
    table = os.path.join(work_dir, 'summary.txt')
    evprof._core.sink_run(path, 'summary', table, limit=0)
    with open(table) as f:
        rows = f.read().splitlines()[1:]
    os.unlink(table)
    # The last line, the bytes by domain, is no function.
    return [row.split('  ')[-1].strip() for row in rows
            if not row.startswith('allocated by domain:')]


def main():
    top = os.path.abspath(sys.argv[1])
    sys.path.insert(0, top)
    import evprof
    work_dir = tempfile.mkdtemp(prefix='evprof-cli-')
    path = os.path.join(work_dir, 'api.evt')
    backends = ['profile']
    try:
        evprof.EventProfiler(impl='c', backend='monitoring')
        backends.append('monitoring')
    except (ValueError, RuntimeError):
        pass
    for impl in ('c', 'pybind11', 'python'):
        for backend in backends:
            for output in (None, path + '.stream'):
                p = evprof.EventProfiler(impl=impl, backend=backend,
                                         output=output)
                p.start()
                work()
                p.stop()
                p.save(path)
                # main, the caller, has the allocations between start()
                # and the call of work() (no call of its own).
                names = [n for n in functions(evprof, path, work_dir)
                         if not n.startswith('main (')]
                what = '%s/%s/%s' % (impl, backend, output and 'stream')
                check(len(names) == 2 and names[0].startswith('work (')
                      and names[1].startswith('sorted ('),
                      '%s: the work alone: %r' % (what, names))
    script = os.path.join(work_dir, 'cprof.py')
    with open(script, 'w') as f:
        f.write('import cProfile\nimport pstats\n\n\n'
                'def inside():\n    return sum(range(10))\n\n\n'
                'def after():\n    return 1\n\n\n'
                'cProfile.run("inside()", "cp.out")\n'
                'st = pstats.Stats("cp.out")\n'
                'print(sorted(k[2] for k in st.stats))\n'
                'after()\n')
    env = dict(os.environ, PYTHONPATH=top)
    proc = subprocess.run([sys.executable, '-m', 'evprof', 'run', '-o',
                           'run.evt', script], env=env, cwd=work_dir,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
    check(proc.returncode == 0, 'run: %s' % proc.stderr[-500:])
    check("'inside'" in proc.stdout, 'cProfile got its events: %s'
          % proc.stdout)
    names = functions(evprof, os.path.join(work_dir, 'run.evt'), work_dir)
    check(names and names[0].startswith('<module> (%s:1)' % script),
          'the timeline starts at the script: %r' % names[:3])
    check(not [n for n in names if n.startswith(TOOL)],
          'no frame of evprof: %r' % names)
    said = [line for line in proc.stderr.splitlines() if 'cProfile' in line]
    if sys.version_info >= (3, 12):
        # cProfile is on sys.monitoring there, beside evprof's callbacks
        # or profile function (itself on sys.monitoring).
        check(any(n.startswith('after (') for n in names)
              and any(n.startswith('inside (') for n in names),
              'monitoring: evprof got its events too: %r' % names)
        check(not said, 'monitoring: nothing to say: %s' % proc.stderr)
    else:
        check(len(said) == 1 and 'Warning' not in proc.stderr,
              'profile: one line: %s' % proc.stderr)
    for name in os.listdir(work_dir):
        os.unlink(os.path.join(work_dir, name))
    os.rmdir(work_dir)
    print('%s cli ok: start/stop leave no frame (%s), run with cProfile'
          % (sys.version.split()[0], ', '.join(backends)))


if __name__ == '__main__':
    main()
