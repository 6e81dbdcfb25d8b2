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
        # refused, not copied, and one cut off becomes a complete trace
        # of its complete sections.
        from ._sinkfile import copy_readable
        trace = _load(opts.file, err)
        with Output(out) as tmp:
            copy_readable(opts.file, trace, tmp)
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
            from ._cli_run import _cmd_run
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
