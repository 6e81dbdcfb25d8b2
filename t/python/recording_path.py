"""
The whole recording path on an interpreter without numpy or pandas:
`make check-python-versions` runs it with the directory holding a copy of
the package built for that interpreter (DIR/evprof).  import evprof,
start/stop, save, `-m evprof run -o`, `report` and `convert --format
perfetto`: none may import numpy or pandas, and each must give what it
gives with them.
"""
import os
import subprocess
import sys
import tempfile

HEAVY = ('numpy', 'pandas')


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def check(cond, what):
    if not cond:
        raise SystemExit('FAIL %s' % what)


def run(args, env, cwd):
    p = subprocess.run([sys.executable, '-m', 'evprof'] + args, env=env,
                       cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    check(p.returncode == 0,
          '%s: status %d: %s' % (args[0], p.returncode, p.stderr[-500:]))
    return p.stdout


# The files of the tool's own frames below a program that `run` runs.
TOOL_FILES = ('evprof/cli.py', 'evprof/_cli_run.py', 'evprof/__main__.py',
              'runpy.py', 'evprof/profiler.py', 'evprof/_profiler_state.py',
              'evprof/_profiler_results.py', 'evprof/_with_profiler.py',
              'evprof/event_profiler.py')
CALL = 1  # EVPROF_CALL


def check_from_first_line(evprof, path, script):
    """
    The trace of `run` shows the program from its first line, as the
    interpreter runs it: its first call is the script's <module>, called
    by no one, and no call anywhere names a file of the tool (the command
    line and runpy stay on the stack below the program where they cannot
    be set aside: 3.14, free-threaded builds).
    """
    r = evprof._core.TraceReader(path)
    try:
        ev, _ = r.read()
        names = {row[0]: (row[3], row[5]) for row in r.names()}
    finally:
        r.close()
    flat = memoryview(ev).cast('B').cast('q')
    calls = [(flat[i], flat[i + 1]) for i in range(0, len(flat), 6)
             if flat[i + 2] == CALL]
    check(calls, 'run: no call recorded')
    first, caller = calls[0]
    check(names.get(first) == ('<module>', script) and caller == 0,
          'run: the first call %r from %r, not the script\'s <module> '
          'from no one' % (names.get(first), names.get(caller)))
    tool = sorted({names[k] for c in calls for k in c
                   if k in names and names[k][1].endswith(TOOL_FILES)})
    check(not tool, 'run: frames of the tool on the timeline: %r' % tool)


def main():
    top = os.path.abspath(sys.argv[1])
    sys.path.insert(0, top)
    import evprof
    work = tempfile.mkdtemp(prefix='evprof-versions-')
    p = evprof.EventProfiler(impl='c')
    p.start()
    fib(12)
    bytearray(1 << 16)
    p.stop()
    n = p._buffer.count()
    check(n > 2 * 465, 'events recorded: %d' % n)
    path = os.path.join(work, 'api.evt')
    p.save(path)
    r = evprof._core.TraceReader(path)
    try:
        ev, _ = r.read()
    finally:
        r.close()
    check(memoryview(ev).nbytes == 48 * n, 'the trace holds the events')
    table = os.path.join(work, 'api.txt')
    stats = evprof._core.sink_run(path, 'summary', table, sort='calls')
    check(stats['events'] == n, 'summary read %r' % stats)
    with open(table) as f:
        text = f.read()
    check('465 ' in text and 'fib' in text, 'fib counted: %s' % text[:300])
    loaded = [m for m in HEAVY if m in sys.modules]
    check(not loaded, 'the API imported %s' % loaded)

    script = os.path.join(work, 'script.py')
    with open(script, 'w') as f:
        f.write('def fib(n):\n    return n if n < 2 else fib(n - 1) + '
                'fib(n - 2)\n\n\nfib(10)\n'
                'import sys\nheavy = [m for m in %r if m in sys.modules]\n'
                'assert not heavy, heavy\n' % (HEAVY,))
    env = dict(os.environ, PYTHONPATH=top)
    run(['run', '-o', 'run.evt', script], env, work)
    out = run(['report', 'run.evt', '--sort', 'calls'], env, work)
    check('177 ' in out and 'fib (' in out, 'report: %s' % out[:400])
    check_from_first_line(evprof, os.path.join(work, 'run.evt'), script)
    check(not any(m in out for m in TOOL_FILES),
          'report: a frame of the tool: %s' % out[:400])
    run(['convert', 'run.evt', '--format', 'perfetto', '-o', 'run.pftrace'],
        env, work)
    check(os.path.getsize(os.path.join(work, 'run.pftrace')) > 100,
          'perfetto trace written')
    for name in os.listdir(work):
        os.unlink(os.path.join(work, name))
    os.rmdir(work)
    print('%s ok: %d events, save, run -o, report, convert' % (
        sys.version.split()[0], n))


if __name__ == '__main__':
    main()
