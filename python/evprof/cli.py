"""
The command line, ``python3 -m evprof``, in the habits of
``python -m cProfile`` and ``viztracer``::

    python3 -m evprof run [-o OUT] [--format FORMAT] script.py [args...]
    python3 -m evprof run [options] -m module [args...]
    python3 -m evprof report FILE
    python3 -m evprof convert FILE --format chrome|csv|png [-o OUT]

``run`` runs the script as ``python3 script.py`` would (``__name__`` is
``'__main__'``, ``sys.argv`` its arguments, ``sys.path[0]`` its
directory), under the profiler, writes the outputs, and exits with the
script's own status (its traceback printed as Python would).  Bad options
and missing files give one line on stderr and exit status 2; a file that
is not a valid trace gives one line and exit status 1.
"""
import argparse
import os
import sys

# The summary's name for the allocations made outside any recorded call
# (by threads whose calls are not recorded: without --threads, every
# thread but the one that started).
from .outputs import UNNAMED

USAGE_ERROR = 2
DATA_ERROR = 1
FORMATS = ('evprof', 'chrome', 'perfetto', 'csv')
CONVERT_FORMATS = ('chrome', 'perfetto', 'csv', 'png', 'evprof')
SUFFIXES = {'evprof': '.evt', 'chrome': '.json', 'perfetto': '.pftrace',
            'csv': '.csv', 'png': '.png'}
IMPLS = ('c', 'pybind11', 'python')
DOMAINS = ('raw', 'mem', 'obj', 'numpy')
SORTS = ('inclusive', 'exclusive', 'calls', 'bytes', 'net', 'name')

_RUN_VALUE_OPTIONS = {'-o', '--output', '--format', '--impl', '--memory',
                      '--plot', '--size', '--sort', '--limit'}


class UsageError(Exception):
    """A bad command line: one line, exit status 2."""


def _columns():
    """
    The terminal's width as shutil.get_terminal_size() gives it (COLUMNS,
    else the width of stdout's terminal, else 80), for the help: argparse
    would import shutil for it on every command line, which costs more
    than the rest of a convert's start.
    """
    try:
        columns = int(os.environ['COLUMNS'])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Formatter(argparse.HelpFormatter):
    def __init__(self, prog, indent_increment=2, max_help_position=24,
                 width=None):
        if width is None:
            width = _columns() - 2  # as argparse does
        super().__init__(prog, indent_increment, max_help_position, width)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault('formatter_class', _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise UsageError(message)


def _prog():
    """The command as the user typed it: ``evprof`` (the installed
    script) or ``python3 -m evprof``."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ''
    if name in ('', '-c', '__main__.py'):
        return 'python3 -m evprof'
    return name


def _parsers():
    prog = _prog()
    main = _Parser(
        prog=prog,
        description='evprof: an event-timeline profiler.  Records every '
                    'Python call, builtin call and memory allocation of a '
                    'script with a nanosecond timestamp, and writes it as a '
                    'trace file, a Perfetto / chrome://tracing JSON, a CSV, '
                    'a summary and a picture.',
        epilog="Exit status 2 on a bad option or a missing file, 1 on a "
               "file that is not a valid trace.  See '%s COMMAND --help' "
               "and man evprof(1)." % prog)
    sub = main.add_subparsers(dest='command', metavar='COMMAND',
                              parser_class=_Parser)

    run = sub.add_parser(
        'run', help='profile a script or a module',
        usage='%s run [options] (script.py | -m module) [args ...]' % prog,
        description='Runs a Python script (or module, -m) under the '
                    'profiler.  The script sees its own arguments in '
                    'sys.argv and its directory in sys.path[0]; its exit '
                    'status and traceback are preserved.  Without -o or '
                    '--plot, prints the summary (as python3 -m cProfile '
                    'does).',
        epilog='Exit status: the script\'s own (1 when it raises, its '
               'traceback printed as Python prints it); 2 on a bad option, '
               'a missing script or module, or an output directory that '
               'does not exist.')
    run.add_argument('-o', '--output', metavar='OUT',
                     help='write the timeline to OUT; the format is --format '
                          'or else guessed from the suffix (.json: chrome, '
                          '.csv: csv, anything else: evprof)')
    run.add_argument('--format', choices=FORMATS,
                     help='evprof: the trace file (evprof report / convert / '
                          'evprof.load read it); chrome: Trace Event JSON '
                          'for ui.perfetto.dev and chrome://tracing; csv: '
                          'one line an event (default name evprof.evt, '
                          'evprof.json or evprof.csv without -o)')
    run.add_argument('--impl', choices=IMPLS, default='c',
                     help='how calls are caught: c (a C profile function, '
                          'the fastest), pybind11 (a C callable given to '
                          'sys.setprofile), python (a Python callback) '
                          '(default: c)')
    run.add_argument('--memory', default='raw,mem,obj,numpy',
                     metavar='DOMAINS',
                     help='allocator domains to record, comma separated '
                          'among raw, mem, obj, numpy (its array data, '
                          'when the script imports numpy), or none '
                          '(default: all)')
    run.add_argument('--threads', action='store_true',
                     help='also profile the threads the script starts')
    run.add_argument('--native', action='store_true',
                     help='also record native allocations (malloc, '
                          'anonymous mmap) of every library: runs the '
                          'script with libevprof-malloc.so preloaded')
    run.add_argument('--plot', metavar='OUT.png',
                     help='draw the flame chart and the bytes in use into '
                          'this picture')
    run.add_argument('--size', type=int, default=1000000, metavar='N',
                     help='events per buffer chunk (default: 1000000; the '
                          'buffer grows, nothing is lost)')
    run.add_argument('-m', dest='module', metavar='MODULE',
                     help='run a library module as a script (as python3 -m) '
                          'instead of a file; the arguments after it are '
                          'its own')
    run.add_argument('--limit', type=int, default=30, metavar='N',
                     help='rows of the printed summary, 0 for all '
                          '(default: 30)')
    run.add_argument('--sort', choices=SORTS, default='inclusive',
                     help='order of the printed summary (default: '
                          'inclusive)')
    run.add_argument('target', nargs='?', metavar='script.py',
                     help='the script to profile, then its arguments')

    report = sub.add_parser(
        'report', help='print the summary of a trace file',
        description='Prints the per-function summary of a trace file: '
                    'calls, inclusive and exclusive time, allocations, '
                    'bytes allocated and net bytes.')
    report.add_argument('file', metavar='FILE', help='a trace file (.evt)')
    report.add_argument('--sort', choices=SORTS, default='inclusive',
                        help='order of the rows (default: inclusive)')
    report.add_argument('--limit', type=int, default=30, metavar='N',
                        help='rows to print, 0 for all (default: 30)')

    convert = sub.add_parser(
        'convert', help='convert a trace file to another format',
        description='Converts a trace file (.evt) into Trace Event JSON '
                    '(chrome), a Perfetto protobuf trace (perfetto, '
                    '.pftrace), CSV or a picture (png); evprof copies a '
                    'valid trace to -o.')
    convert.add_argument('file', metavar='FILE', help='a trace file (.evt)')
    convert.add_argument('--format', choices=CONVERT_FORMATS,
                         required=True, help='the output format')
    convert.add_argument('-o', '--output', metavar='OUT',
                         help='the output file (default: FILE with the '
                              "format's suffix)")
    return main, run


def _split_run(argv):
    """(options, target, args) of 'run': options stop at the script."""
    for i, tok in enumerate(argv):
        if tok == '--':
            return argv[:i], None, argv[i + 1:]
        if tok == '-m':
            if i + 1 >= len(argv):
                raise UsageError('argument -m: expected a module name')
            return argv[:i], ('module', argv[i + 1]), argv[i + 2:]
        if tok.startswith('-m') and not tok.startswith('--'):
            return argv[:i], ('module', tok[2:]), argv[i + 1:]
        if not tok.startswith('-') or tok == '-':
            if i > 0 and argv[i - 1] in _RUN_VALUE_OPTIONS:
                continue
            return argv[:i], ('script', tok), argv[i + 1:]
    return argv, None, []


def _domains(text):
    text = text.strip()
    if text in ('none', ''):
        return False
    names = [n.strip() for n in text.split(',')]
    bad = [n for n in names if n not in DOMAINS]
    if bad:
        raise UsageError("argument --memory: unknown domain %r (expected "
                         "raw, mem, obj, numpy or none)" % bad[0])
    return names


def _out_format(opts):
    if opts.format:
        return opts.format
    if opts.output:
        ext = os.path.splitext(opts.output)[1].lower()
        return {'.json': 'chrome', '.csv': 'csv',
                '.pftrace': 'perfetto'}.get(ext, 'evprof')
    return None


def _check_writable(path, what):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError('%s %s: no such directory %s' % (what, path,
                                                          folder))


def _strip_traceback(tb, code):
    """
    The traceback from the profiled code's first frame on (*code* is its
    module code, None when runpy runs it): as Python prints it.
    """
    cur = tb
    while cur is not None:
        if cur.tb_frame.f_code is code:
            return cur
        cur = cur.tb_next
    # Run by runpy: skip our frames and runpy's.
    here = os.path.dirname(os.path.abspath(__file__))
    cur = tb
    while cur is not None:
        name = cur.tb_frame.f_code.co_filename
        if not (name.startswith(here) or os.path.basename(name) in
                ('runpy.py', '<frozen runpy>')):
            return cur
        cur = cur.tb_next
    return tb


class _Target:
    """
    The script or module to run, compiled before anything is profiled (a
    SyntaxError is raised here, with nothing of it run), with the module
    namespace Python would give it as ``__main__``.  *code* is None for
    what runpy runs (a directory, a zip file, a compiled file).
    """

    def __init__(self, kind, name, args):
        import builtins
        import types
        self.kind, self.name, self.args = kind, name, list(args)
        self.code = None
        main = types.ModuleType('__main__')
        self.globals = main.__dict__
        self.module = main
        if kind == 'script':
            path = os.path.abspath(name)
            self.path0 = os.path.dirname(path)
            self.argv0 = name
            if self._plain_source(path):
                with open(path, 'rb') as f:
                    source = f.read()
                self.code = compile(source, path, 'exec', dont_inherit=True)
                from importlib.machinery import SourceFileLoader
                self.globals.update(
                    __file__=path, __cached__=None, __builtins__=builtins,
                    __loader__=SourceFileLoader('__main__', path))
        else:
            import runpy
            self.path0 = os.getcwd()
            sys.path.insert(0, self.path0)
            try:
                # pdb's way to a module's code, as python3 -m finds it.
                mod_name, spec, code = runpy._get_module_details(name)
            except ImportError as exc:
                raise UsageError('run: %s' % exc) from None
            finally:
                del sys.path[0]
            self.code = code
            self.argv0 = spec.origin or name
            self.globals.update(
                __file__=spec.origin if spec.has_location else None,
                __cached__=spec.cached, __loader__=spec.loader,
                __package__=spec.parent, __spec__=spec,
                __builtins__=builtins)

    @staticmethod
    def _plain_source(path):
        import zipfile
        if os.path.isdir(path) or path.endswith(('.pyc', '.pyo')):
            return False
        try:
            return not zipfile.is_zipfile(path)
        except OSError:
            return True

    def enter(self):
        """sys.argv, sys.path[0] and __main__ as the program expects."""
        self.saved = (sys.argv[:], sys.path[0], sys.modules.get('__main__'))
        sys.argv[:] = [self.argv0] + self.args
        sys.path[0] = self.path0
        if self.code is not None:
            sys.modules['__main__'] = self.module

    def leave(self):
        argv, path0, main = self.saved
        sys.argv[:] = argv
        sys.path[0] = path0
        if main is not None:
            sys.modules['__main__'] = main

    def run(self, prof):
        """Runs the program under *prof* (started and stopped here)."""
        from . import _core
        if self.code is not None:
            # The program runs without a caller: its first event is the
            # call of its <module>, its last the return (see _gate.c).
            _core.run_code(prof, self.code, self.globals)
            return
        import runpy
        prof.start()
        try:
            if self.kind == 'script':
                runpy.run_path(self.name, run_name='__main__')
            else:  # pragma: no cover - a module always has code
                runpy.run_module(self.name, run_name='__main__',
                                 alter_sys=True)
        finally:
            prof.stop()


def _stream_path(opts, fmt):
    """
    (the file the run streams into, whether it is an output): the trace
    itself for the evprof format, else a temporary trace (beside the
    output, or in the temporary directory for the summary and the
    picture) that the outputs are made from.
    """
    if fmt == 'evprof':
        return opts.output or 'evprof.evt', True
    if fmt is not None:
        out = opts.output or 'evprof' + SUFFIXES[fmt]
        return out + '.%d.evt' % os.getpid(), False
    import tempfile
    fd, path = tempfile.mkstemp(prefix='evprof-run-', suffix='.evt')
    os.close(fd)
    return path, False


def _summary_lines(trace, opts, stats, say_cut):
    """
    The summary of the streamed trace, by the library's summary sink; a
    trace cut off (a full disk) is read up to the cut, which *say_cut*
    says.
    """
    import tempfile
    from . import _core
    fd, tmp = tempfile.mkstemp(prefix='evprof-summary-', suffix='.txt')
    os.close(fd)
    try:
        got = _core.sink_run(trace, 'summary', tmp, sort=opts.sort,
                             limit=opts.limit, partial=True)
        with open(tmp, encoding='utf-8', errors='surrogateescape') as f:
            table = f.read()
    finally:
        os.unlink(tmp)
    say_cut(got['truncated'])
    threads = max(got['threads'], 1)
    lost = got['lost'] + (stats['names_lost'] if stats else 0)
    head = 'evprof: %d events, %d thread%s, %s' % (
        got['events'], threads, '' if threads == 1 else 's',
        '%d events lost' % got['lost'] if got['lost'] else 'nothing lost')
    return head, _label_unnamed(table.rstrip('\n')), lost


def _write_outputs(prof, opts, fmt, err, program, trace, written):
    """
    Writes what the options ask for from the streamed trace *trace*:
    Perfetto and Chrome JSON through the library's sinks, the CSV and the
    picture from the DataFrame (built once), the summary through the
    summary sink.
    """
    import evprof
    from . import _sinkfile
    from .outputs import frame_too_big
    from .progress import Progress
    frame = []
    events = (prof._stream.stats or {}).get('events', 0)
    kept = []
    said = []

    def say_cut(message):
        # A trace cut short (a full disk): said once, however many
        # outputs read it.
        if message and not said:
            said.append(message)
            print(_sinkfile.cut_line(trace, message), file=err)

    def read_trace():
        with _sinkfile.CutSaid(say_cut):
            return evprof.tracefile.read_trace(trace)

    def timeline():
        if not frame:
            with _sinkfile.CutSaid(say_cut):
                frame.append(prof.retrieve_results(thread=True, domain=True))
        return frame[0]

    def too_big(what, out):
        # Said instead of being killed by the system; the trace stays.
        why = frame_too_big(events, what)
        if why is None:
            return False
        print('evprof: %s: %s not written' % (why, out), file=err)
        if not kept:
            kept.append(trace)
            print("evprof: the trace is kept in %s ('%s convert %s "
                  "--format perfetto' writes it for ui.perfetto.dev)"
                  % (trace, _prog(), trace), file=err)
        return True

    if fmt is not None:
        out = opts.output or 'evprof' + SUFFIXES[fmt]
        with Progress('evprof: writing %s' % out) as bar:
            if fmt == 'evprof':
                hint = ("'%s report %s' prints its summary, "
                        "evprof.load() reads it" % (_prog(), out))
            elif fmt in ('perfetto', 'chrome'):
                say_cut(_sinkfile.run(trace, fmt, out)['truncated'])
                hint = ('open it in https://ui.perfetto.dev'
                        + (' or chrome://tracing' if fmt == 'chrome'
                           else ''))
            elif too_big('the CSV', out):
                hint = None
            else:
                df = timeline()
                with _sinkfile.Output(out) as tmp:
                    df.to_csv(tmp, index=False, chunksize=100000,
                              errors='surrogateescape')
                hint = 'one line an event'
            bar(1, 1)
        if hint is not None:
            written.append(out)
            print('evprof: timeline written to %s (%s)' % (out, hint),
                  file=err)
    if opts.plot and not too_big('the picture', opts.plot):
        names = evprof.tracefile.thread_names(read_trace())
        df = timeline()
        with _sinkfile.Output(opts.plot) as tmp:
            evprof.plot.plot_timeline(df, tmp, thread_names=names,
                                      title=_printable('evprof: %s'
                                                       % program))
        written.append(opts.plot)
        print('evprof: picture written to %s' % opts.plot, file=err)
    if fmt is None and not opts.plot:
        head, table, _ = _summary_lines(trace, opts, prof._stream.stats,
                                        say_cut)
        out = sys.stdout
        if out is None or out.closed:
            # The program closed its stdout (python3 -m json.tool does):
            # the summary still goes to file descriptor 1.
            out = open(os.dup(1), 'w', encoding='utf-8',
                       errors='backslashreplace')
        print(head, file=out)
        print(_printable(table), file=out)
        out.flush()
        written.append('the summary')
    return bool(kept)


def _preload_native(argv):
    """
    For --native: runs this command again with libevprof-malloc.so
    preloaded (exec: never returns), unless it is already; a UsageError
    when the library cannot be found.
    """
    from . import native
    if native.preloaded():
        return
    if os.environ.get(native.REEXEC_ENV):
        raise UsageError('--native: %s was not preloaded (the dynamic '
                         'loader refused it)' % native.library())
    lib = native.library()
    if lib is None:
        raise UsageError('--native: libevprof-malloc.so not found (set %s '
                         'to its path)' % native.LIBRARY_ENV)
    env = dict(os.environ)
    env['LD_PRELOAD'] = ':'.join(
        [lib] + [p for p in env.get('LD_PRELOAD', '').split(':') if p])
    env[native.REEXEC_ENV] = '1'
    cmd = getattr(sys, 'orig_argv', None) or (
        [sys.executable, '-m', 'evprof', 'run'] + list(argv))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, cmd, env)


def _cmd_run(argv, err):
    head, target, args = _split_run(argv)
    _, run = _parsers()
    opts = run.parse_args(head)
    if opts.module:
        target = ('module', opts.module)
    if target is None:
        raise UsageError('run: expected a script to profile (or -m module)')
    kind, name = target
    if kind == 'script' and not os.path.isfile(name):
        raise UsageError("run: can't open file %r: no such file" % name)
    if opts.size <= 0:
        raise UsageError('argument --size: must be a positive integer')
    if opts.limit < 0:
        raise UsageError('argument --limit: must be >= 0 (0 for all)')
    memory = _domains(opts.memory)
    if opts.native:
        _preload_native(argv)
        memory = list(memory or []) + ['native']
    fmt = _out_format(opts)
    if opts.output:
        _check_writable(opts.output, 'output')
    if opts.plot:
        _check_writable(opts.plot, '--plot')
        _check_modules('--plot', _PICTURE_MODULES)
    if fmt == 'csv':
        _check_modules('the CSV', _FRAME_MODULES)
    import traceback  # for `run` alone: convert and report go without
    try:
        program_target = _Target(kind, name, args)
    except SyntaxError as exc:
        # As Python says it, and nothing of the program ran: no profile.
        traceback.print_exception(type(exc), exc, None, file=err)
        return 1

    import evprof
    from .streaming import lost_message
    program = ' '.join([name if kind == 'script' else '-m ' + name]
                       + list(args))
    trace, keep = _stream_path(opts, fmt)
    pid = os.getpid()
    kept = False
    try:
        status = _profile_into(trace, opts, memory, program_target,
                               program, err)
        if os.getpid() != pid:
            # A child the script forked, ending through here: the trace
            # and the outputs are the parent's.
            return status[0]
        stats, prof, interrupted = status[1], status[2], status[3]
        msg = lost_message(trace if keep else opts.output or trace, stats)
        if msg:
            print(msg, file=err)
        written = []
        hits = status[5].hits
        try:
            if status[4]:
                raise KeyboardInterrupt
            kept = _write_outputs(prof, opts, fmt, err, program, trace,
                                  written)
        except evprof.TraceFileError as exc:
            # A trace cut short (a full disk): said, the script's status
            # kept.
            print('evprof: error: %s' % exc, file=err)
        except BaseException as exc:
            # A second Ctrl-C (also one that a library turned into an
            # error of its own, as numpy's import does): what is done
            # stays, a file cut short is removed, the rest is said.
            # The flag too: C code may turn the KeyboardInterrupt into an
            # error of its own (PyCapsule_Import into an ImportError).
            if not (hits or _by_ctrl_c(exc)):
                raise
            interrupted = True
            for path in (opts.output, opts.plot):
                if path and path not in written and path != trace \
                        and os.path.exists(path):
                    os.unlink(path)
            print('evprof: interrupted while writing the outputs: %s'
                  % _written_line(opts, fmt, keep, trace, written),
                  file=err)
        finally:
            status[5].restore()
    finally:
        if not (keep or kept) and os.getpid() == pid and \
                os.path.exists(trace):
            os.unlink(trace)
    if interrupted:
        _die_by_sigint()
    return status[0]


def _by_ctrl_c(exc):
    """Whether *exc* is a KeyboardInterrupt or was raised handling one."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _written_line(opts, fmt, keep, trace, written):
    """What a second Ctrl-C left: written, and not written."""
    wanted = []
    if keep:
        wanted.append(trace)
    elif fmt is not None:
        wanted.append(opts.output or 'evprof' + SUFFIXES[fmt])
    if opts.plot:
        wanted.append(opts.plot)
    if fmt is None and not opts.plot:
        wanted.append('the summary')
    done = [w for w in wanted if w in written or w == trace and keep]
    left = [w for w in wanted if w not in done]
    text = []
    if done:
        text.append('%s written' % ', '.join(done))
    if left:
        text.append('%s not written' % ', '.join(left))
    return '; '.join(text) or 'nothing to write'


def _die_by_sigint():
    """Ends the process as Python does after a KeyboardInterrupt: by
    SIGINT, so that a parent sees it (a shell's $? is 130)."""
    import signal
    try:
        sys.stdout.flush()
    except Exception:  # pragma: no cover - a closed pipe
        pass
    sys.stderr.flush()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
    os._exit(130)  # pragma: no cover - SIGINT blocked by the parent


def _profile_into(trace, opts, memory, target, program, err):
    """
    Runs the target under a profiler streaming into *trace*; (its exit
    status, the stream's final counts, the profiler, whether a
    KeyboardInterrupt ended it).  A trace that cannot be created is a
    usage error, before the target runs.
    """
    import traceback  # imported before the program runs: no event
    import warnings
    import evprof
    prof = evprof.EventProfiler(size=opts.size, impl=opts.impl,
                                memory=memory, threads=opts.threads,
                                output=trace)
    prof._stream.meta['program'] = program
    status = 0
    pending = None
    interrupted = False
    target.enter()
    try:
        with warnings.catch_warnings():
            # What was lost or replaced is said once, by the caller, in a
            # line of its own.
            warnings.filterwarnings('ignore', category=RuntimeWarning,
                                    module='evprof')
            warnings.filterwarnings('ignore', category=RuntimeWarning,
                                    message='evprof')
            try:
                target.run(prof)
            except OSError as exc:
                if prof._stream.state != 'new':
                    raise
                raise UsageError('cannot write %s: %s' % (
                    trace, exc.strerror or exc)) from None
    except SystemExit as exc:
        status = exc.code
    except KeyboardInterrupt:
        pending = sys.exc_info()
        status = 1
        interrupted = True
    except UsageError:
        raise
    except BaseException:
        pending = sys.exc_info()
        status = 1
    finally:
        ctrl_c = _CtrlC()
        again = False
        try:
            target.leave()
        except KeyboardInterrupt:
            # Ctrl-C again: the outputs are not written.
            target.leave()
            again = True
    if pending is not None:
        typ, value, tb = pending
        tb = _strip_traceback(tb, target.code)
        value.__traceback__ = tb
        # The program's own sys.excepthook, if it set one, as Python does.
        try:
            sys.stdout.flush()
            try:
                sys.excepthook(typ, value, tb)
            except Exception:
                traceback.print_exception(typ, value, tb, file=err)
            err.flush()
        except KeyboardInterrupt:
            # Ctrl-C again: the outputs are not written.
            again = True
        except Exception:  # pragma: no cover - stdout closed, broken pipe
            pass
    try:
        _say_replaced(prof, err)
    except KeyboardInterrupt:
        again = True
    return status, prof._stream.stats, prof, interrupted, again, ctrl_c


class _CtrlC:
    """
    SIGINT once the program ended: raises KeyboardInterrupt once (a third
    Ctrl-C does not cut the line that says what was written) and counts,
    for C code that turns a KeyboardInterrupt into an error of its own.
    Installed with the C function itself: no Python code runs between
    the program's end and this handler.
    """

    def __init__(self):
        import _signal
        self.hits = []
        try:
            self.previous = _signal.signal(_signal.SIGINT, self)
        except ValueError:  # pragma: no cover - not the main thread
            self.previous = None

    def __call__(self, signum, frame):
        self.hits.append(signum)
        if len(self.hits) == 1:
            raise KeyboardInterrupt

    def restore(self):
        """Puts the handler found back."""
        if self.previous is not None:
            import _signal
            _signal.signal(_signal.SIGINT, self.previous)
            self.previous = None


def _say_replaced(prof, err):
    """One line when the program took the profile hook (cProfile, another
    profiler, sys.setprofile) or profiled itself with evprof."""
    for where in getattr(prof, '_paused_by', ()):
        print('evprof: the program ran an EventProfiler of its own (%s): '
              'the events of that block are in its profile, not in this '
              'one' % where, file=err)
    if getattr(prof, '_replaced', False):
        print('evprof: the program replaced the profile function '
              '(sys.setprofile, cProfile or another profiler): its calls '
              'after that are not in this profile (its allocations are)',
              file=err)


def _label_unnamed(table):
    """The summary *table* with its row of key 0 (no function, shown by
    the sink as an empty name) named plainly."""
    import re
    return re.sub(r'(?m)^(.*\S)   \(builtin\)$', r'\1  ' + UNNAMED, table)


def _printable(text):
    """
    *text* with the bytes that were not UTF-8 in the trace (lone surrogates,
    from names of a Latin-1 directory) shown as \\xNN, which any stdout
    can print, as Python's stderr shows them.
    """
    return text.encode('utf-8', 'surrogateescape').decode(
        'utf-8', 'backslashreplace')


# What the outputs made from a DataFrame import, and their Debian
# packages.
_FRAME_MODULES = (('numpy', 'python3-numpy'), ('pandas', 'python3-pandas'))
_PICTURE_MODULES = _FRAME_MODULES + (('matplotlib', 'python3-matplotlib'),)


def _check_modules(what, modules):
    """One line, before anything runs, when *what* needs modules that this
    interpreter cannot import."""
    import importlib.util
    missing = [(mod, pkg) for mod, pkg in modules
               if importlib.util.find_spec(mod) is None]
    if missing:
        raise UsageError(
            '%s needs %s, which %s cannot import (Debian: apt-get install '
            '%s; or pip install %s)' % (
                what, ', '.join(m for m, _ in missing), sys.executable,
                ' '.join(p for _, p in missing),
                ' '.join(m for m, _ in missing)))


def _load(path, err, progress=None):
    """The Trace of *path*; a trace cut off is read up to the cut, which
    one line on *err* says."""
    import evprof
    from . import _sinkfile
    if not os.path.exists(path):
        raise UsageError('%s: no such file' % path)
    if os.path.isdir(path):
        raise UsageError('%s: is a directory' % path)
    with _sinkfile.CutSaid(
            lambda msg: print(_sinkfile.cut_line(path, msg), file=err)):
        return evprof.tracefile.read_trace(path, progress=progress)


def _sink(path, sink, out, label, err, **kwargs):
    """
    Runs the library's sink on the trace *path* (a block of events at a
    time: memory follows the names and threads of the trace, not its
    length) into the file *out*, complete or not at all, with a progress
    bar on a terminal; returns its stats.  A trace cut off is read up to
    the cut, which one line on *err* says.
    """
    from . import _sinkfile
    from .progress import Progress
    if not os.path.exists(path):
        raise UsageError('%s: no such file' % path)
    if os.path.isdir(path):
        raise UsageError('%s: is a directory' % path)
    with Progress(label) as bar:
        progress = bar if bar.enabled else None
        stats = _sinkfile.run(path, sink, out, progress=progress, **kwargs)
    if stats['truncated']:
        print(_sinkfile.cut_line(path, stats['truncated']), file=err)
    return stats


def _cmd_report(opts, out, err):
    import tempfile
    from . import tracefile
    if opts.limit < 0:
        raise UsageError('argument --limit: must be >= 0 (0 for all)')
    fd, tmp = tempfile.mkstemp(prefix='evprof-report-', suffix='.txt')
    os.close(fd)
    try:
        stats = _sink(opts.file, 'summary', tmp,
                      'evprof: reading %s' % opts.file, err, sort=opts.sort,
                      limit=opts.limit)
        with open(tmp, encoding='utf-8', errors='surrogateescape') as f:
            table = f.read()
    finally:
        os.unlink(tmp)
    threads = max(stats['threads'], 1)
    print('%s: %d events, %d thread%s, clock %s, written by pid %s%s'
          % (opts.file, stats['events'], threads,
             '' if threads == 1 else 's',
             tracefile._CLOCK_NAMES.get(stats['clock'], 'unknown'),
             stats['pid'],
             ', %d events lost' % stats['lost'] if stats['lost'] else ''),
          file=out)
    print(_printable(_label_unnamed(table.rstrip('\n'))), file=out)
    return 0


def _cmd_convert(opts, err):
    import evprof
    from ._sinkfile import Output
    from .outputs import frame_too_big
    from .progress import Progress
    out = opts.output or os.path.splitext(opts.file)[0] + \
        SUFFIXES[opts.format]
    if os.path.abspath(out) == os.path.abspath(opts.file):
        raise UsageError('convert: the output would overwrite %s' % out)
    _check_writable(out, 'output')
    if opts.format in ('evprof', 'csv'):
        _check_modules('convert --format %s' % opts.format, _FRAME_MODULES)
    elif opts.format == 'png':
        _check_modules('convert --format png', _PICTURE_MODULES)
    if opts.format == 'evprof':
        # A copy, once read whole: a file that is not a valid trace is
        # refused, not copied.
        import shutil
        _load(opts.file, err)
        with Output(out) as tmp:
            shutil.copyfile(opts.file, tmp)
        print('evprof: %s written' % out, file=err)
        return 0
    if opts.format in ('chrome', 'perfetto'):
        # Streamed by the library's sinks: memory bounded by the names
        # and threads of the trace, whatever its length.
        _sink(opts.file, opts.format, out, 'evprof: writing %s' % out, err)
        print('evprof: %s written' % out, file=err)
        return 0
    with Progress('evprof: reading %s' % opts.file) as bar:
        trace = _load(opts.file, err, progress=lambda n: bar(n, None))
    what = 'the CSV' if opts.format == 'csv' else 'the picture'
    why = frame_too_big(trace.events.shape[0], what)
    if why is not None:
        # Said instead of being killed by the system.
        print("evprof: error: %s: %s not written ('%s convert %s --format "
              "perfetto' writes any length)"
              % (why, out, _prog(), opts.file), file=err)
        return DATA_ERROR
    df = evprof.tracefile.trace_to_frame(trace, thread=True, domain=True)
    names = evprof.tracefile.thread_names(trace)
    with Progress('evprof: writing %s' % out) as bar, Output(out) as tmp:
        if opts.format == 'csv':
            df.to_csv(tmp, index=False, chunksize=100000,
                      errors='surrogateescape')
        else:
            evprof.plot.plot_timeline(
                df, tmp, thread_names=names,
                title=_printable('evprof: %s' % trace.meta.get(
                    'program', opts.file)))
    print('evprof: %s written' % out, file=err)
    return 0


def main(argv=None, out=None, err=None):
    """Runs the command line *argv* (sys.argv[1:]); returns the status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    parser, _ = _parsers()
    try:
        if argv and argv[0] == 'run':
            return _cmd_run(argv[1:], err)
        opts = parser.parse_args(argv)
        if opts.command is None:
            raise UsageError("expected a command: run, report or convert "
                             "(see '%s --help')" % _prog())
        if opts.command == 'report':
            return _cmd_report(opts, out, err)
        return _cmd_convert(opts, err)
    except UsageError as exc:
        print('evprof: error: %s' % exc, file=err)
        return USAGE_ERROR
    except FileNotFoundError as exc:
        print('evprof: error: %s: no such file' % exc.filename, file=err)
        return USAGE_ERROR
    except ValueError as exc:  # TraceFileError and friends
        print('evprof: error: %s' % exc, file=err)
        return DATA_ERROR
    except BrokenPipeError:  # pragma: no cover - e.g. piped into head
        return 0
    except OSError as exc:
        print('evprof: error: %s' % exc, file=err)
        return DATA_ERROR
