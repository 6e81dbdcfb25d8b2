"""
``python3 -m evprof run``: the script or module compiled, then run under
the profiler as Python itself would run it, its traceback and exit status
kept, Ctrl-C handled as Python does, and the outputs written from the
stream (see :mod:`evprof.cli` for the other commands and the options).
"""
import os
import sys

from .cli import (
    SUFFIXES, UsageError, _check_modules, _check_writable, _domains,
    _label_unnamed, _out_format, _parsers, _printable, _prog, _split_run,
    _FRAME_MODULES, _PICTURE_MODULES)


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
