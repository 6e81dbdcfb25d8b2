"""
The evprof trace file (doc/trace-format.md, version 1.0), written and read
by libevprof's own writer and reader (the code C programs use, checked
against every truncation and fuzzed), section by section.

:class:`TraceWriter` writes raw events with their name tables,
:func:`read_trace` reads any trace file (also those of the C library's
``evprof_trace_writer`` and of ``evprof-instrument``) into a
:class:`Trace`, and :func:`load` gives back the DataFrame of
:meth:`EventProfiler.retrieve_results`.  A file cut off (its writer
killed, a full disk) gives the events of its complete sections with a
:class:`TraceTruncatedWarning` saying where it was cut; a corrupted or
foreign file, or one cut in its header, raises :class:`TraceFileError` (a
:class:`ValueError`) naming what is wrong and where.  numpy and pandas are
imported when arrays are asked for.
"""
import errno
import os
import warnings

from ._core import TraceFileError  # noqa: F401 (evprof.TraceFileError)
from ._names import line_records, name_records


class TraceTruncatedWarning(UserWarning):
    """
    A trace file cut off (no END section: its writer was killed, stopped
    by a full disk or is still writing) was read up to its last complete
    section; the message names the file and the offset where it was cut.
    """


MAGIC = b'\x89EVPROF\n'
VERSION = (1, 0)
HEADER_SIZE = 64
EVENT_SIZE = 48
N_COLUMNS = 6
EVENTS_PER_SECTION = 65536
MAX_PAYLOAD = 64 << 20

SEC_META, SEC_THREADS, SEC_EVENTS, SEC_NAMES, SEC_LINES = 1, 2, 3, 4, 5
SEC_END = 0xFFFF
FLAG_REQUIRED = 1

CLOCK_MONOTONIC, CLOCK_TSC = 1, 2
_CLOCK_NAMES = {CLOCK_MONOTONIC: 'monotonic', CLOCK_TSC: 'tsc'}

KIND_OTHER, KIND_CODE, KIND_BUILTIN, KIND_NATIVE = 0, 1, 2, 3

#: the thread index of an event whose EVENTS section has none
NO_THREAD = 0xFFFFFFFF

#: META keys the library and this package write (with
#: ``thread_name.IDENT`` for every thread of the THREADS table); Trace.meta
#: holds every pair of the file
META_KEYS = ('evprof', 'clock', 'columns', 'source', 'program', 'resolver',
             'impl', 'id_frame', 'id_arg', 'value1', 'value2')

COLUMNS = ['time', 'value1', 'value2', 'event', 'name', 'mod', 'lineno',
           'from_name', 'from_mod', 'from_line']


def _line_dtype():
    import numpy
    return numpy.dtype([('key', '<i8'), ('offset', '<i8'), ('line', '<i4'),
                        ('pad', '<u4')])


# ---- writing -------------------------------------------------------------


class TraceWriter:
    """
    Writes a trace file section by section, with libevprof's own writer
    (the one C programs use)::

        with TraceWriter(path) as w:
            w.write_meta({'source': 'me'})
            w.write_events(raw, thread_index)
            w.write_threads(threads)
            w.write_names(names)
            w.write_lines(keys, offsets, lines)

    The END section is written by :meth:`close` (or leaving the block
    without an exception); a block that raises leaves no partial file.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self._w = _core_module().TraceWriter(self.path)

    def __enter__(self):
        return self

    def __exit__(self, typ, value, tb):
        if typ is None:
            self.close()
        else:
            try:
                self._w.close()
            except OSError:  # pragma: no cover - already failing
                pass
            try:
                os.unlink(self.path)
            except OSError:  # pragma: no cover
                pass

    def write_meta(self, pairs):
        """A META section with the (str, str) pairs of dict *pairs*."""
        self._w.write_meta(dict(pairs))

    def write_threads(self, threads):
        """A THREADS section: a sequence of (ident, native_id, pid)."""
        self._w.write_threads([tuple(int(x) for x in t) for t in threads])

    def write_events(self, raw, thread=None, progress=None):
        """
        EVENTS sections for the int64 array *raw* of shape (n, 6), with the
        uint32 thread indices *thread* (or none).  *progress* is called
        with the events written so far.
        """
        import numpy
        raw = numpy.ascontiguousarray(raw, dtype=numpy.int64)
        if raw.ndim != 2 or raw.shape[1] != N_COLUMNS:
            raise ValueError("events must have shape (n, %d), not %r"
                             % (N_COLUMNS, raw.shape))
        if thread is not None:
            thread = numpy.ascontiguousarray(thread, dtype='<u4')
        self._w.write_events(raw, thread, progress)

    def write_names(self, names):
        """
        NAMES sections: *names* is a sequence of (key, kind, first line,
        name, module, file).
        """
        self._w.write_names([(int(k), int(kd), int(first), name, mod, path)
                             for k, kd, first, name, mod, path in names])

    def write_lines(self, keys, offsets, lines):
        """LINES sections: code *keys* at *offsets* are on *lines*."""
        import numpy
        self._w.write_lines(numpy.asarray(keys, dtype=numpy.int64).tolist(),
                            numpy.asarray(offsets,
                                          dtype=numpy.int64).tolist(),
                            numpy.asarray(lines, dtype=numpy.int64).tolist())

    def add_lost(self, lost):
        """Adds to the count of lost events recorded in the END section."""
        self._w.add_lost(int(lost))

    def close(self):
        """Writes the END section and closes the file."""
        self._w.close()


# ---- reading -------------------------------------------------------------


class Trace:
    """
    The content of a trace file.

    :ivar info: dict of the header (version, clock, pid, created_realtime_ns,
        created_clock_ns)
    :ivar meta: dict of every META pair (the last value of a key wins);
        :data:`META_KEYS` and ``thread_name.IDENT`` are evprof's own
    :ivar events: int64 array (n, 6): id_frame, id_arg, event, time,
        value1, value2
    :ivar thread: uint32 array of the thread index of each event
        (:data:`NO_THREAD` for the events of sections without), or None
        when no section has any
    :ivar threads: list of (ident, native_id, pid), by index
    :ivar names: DataFrame key, kind, first_line, name, module, file
    :ivar lines: structured array key, offset, line
    :ivar lost: events the writer counted as lost
    :ivar truncated: None, or where the file was cut off (the message of
        its :class:`TraceTruncatedWarning`)
    :ivar thread_name_history: dict ident -> the names given to it in the
        file's order (a thread that reused an ident gave its own)

    Strings that are not UTF-8 in the file are decoded with
    ``errors='surrogateescape'``: :class:`TraceWriter` writes them back as
    the same bytes.
    """

    def __init__(self):
        import numpy
        import pandas
        self.info = {}
        self.meta = {}
        self.events = numpy.empty((0, N_COLUMNS), dtype=numpy.int64)
        self.thread = None
        self.threads = []
        self.names = pandas.DataFrame(
            {'key': numpy.empty(0, numpy.int64),
             'kind': numpy.empty(0, numpy.int32),
             'first_line': numpy.empty(0, numpy.int32),
             'name': [], 'module': [], 'file': []})
        self.lines = numpy.empty(0, dtype=_line_dtype())
        self.lost = 0
        self.truncated = None
        self.thread_name_history = {}


def _name_history(pairs):
    """dict ident -> its successive distinct ``thread_name`` values."""
    out = {}
    for key, value in pairs:
        if not key.startswith('thread_name.'):
            continue
        try:
            ident = int(key[len('thread_name.'):])
        except ValueError:
            continue
        seq = out.setdefault(ident, [])
        if not seq or seq[-1] != value:
            seq.append(value)
    return out


def read_trace(path, progress=None):
    """
    Reads and checks a trace file into a :class:`Trace`, with libevprof's
    reader (``evprof_trace_reader_open(3)``).

    :param path: the file
    :param progress: called with the events read so far, or None
    :raises FileNotFoundError: no such file (and the other OSErrors)
    :raises TraceFileError: the file is corrupted, cut in its header, of
        an unsupported version, or not a trace file
    :warns TraceTruncatedWarning: the file is cut off after its header:
        the events and tables of its complete sections are read
    """
    import numpy
    path = os.fspath(path)
    if os.path.isdir(path):
        # The reader would only see a read error.
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR),
                                path)
    reader = _core_module().TraceReader(path)
    try:
        events, thread = reader.read(progress, partial=True)
        if reader.truncated is not None:
            warnings.warn(TraceTruncatedWarning(
                '%s; the trace is read up to there' % reader.truncated),
                stacklevel=_caller_level())
        trace = _tables(reader)
        trace.events = numpy.asarray(events)
        if thread is not None:
            trace.thread = numpy.asarray(thread)
        trace.lost = reader.lost
        trace.truncated = reader.truncated
    finally:
        reader.close()
    return trace


def _tables(reader):
    """A :class:`Trace` of the header and tables of *reader*, no events."""
    import numpy
    import pandas
    head = reader.info()
    trace = Trace()
    trace.info = {'version': '%d.%d' % (head['version_major'],
                                        head['version_minor']),
                  'clock': _CLOCK_NAMES.get(head['clock'], 'unknown'),
                  'pid': head['pid'],
                  'created_realtime_ns': head['created_realtime_ns'],
                  'created_clock_ns': head['created_clock_ns']}
    trace.threads = reader.threads()
    # The last value of a key wins, as the C reader's meta().
    pairs = reader.meta_pairs()
    trace.meta.update(pairs)
    trace.thread_name_history = _name_history(pairs)
    names = reader.names()
    if names:
        key, kind, first, name, mod, file_ = zip(*names)
        trace.names = pandas.DataFrame({
            'key': numpy.array(key, dtype=numpy.int64),
            'kind': numpy.array(kind, dtype=numpy.int32),
            'first_line': numpy.array(first, dtype=numpy.int32),
            'name': list(name), 'module': list(mod),
            'file': list(file_)})
    lines = numpy.asarray(reader.lines())
    trace.lines = numpy.zeros(lines.shape[0], dtype=_line_dtype())
    trace.lines['key'] = lines[:, 0]
    trace.lines['offset'] = lines[:, 1]
    trace.lines['line'] = lines[:, 2]
    return trace


# ---- from a trace to the DataFrame ---------------------------------------


def _builder(trace, n, clean_file_name, thread, domain, freed='zero'):
    """A :class:`evprof._frame.FrameBuilder` of *n* events of *trace*."""
    import numpy
    from ._frame import FrameBuilder, NameTable
    from ._names import thread_keys
    if clean_file_name is None:
        def clean_file_name(name):
            return name
    elif not callable(clean_file_name):
        raise TypeError("clean_file_name must be callable")
    else:
        from ._report import checked_clean
        clean_file_name = checked_clean(clean_file_name)
    idents = None
    if thread:
        idents = numpy.array(thread_keys(trace.threads) or [0],
                             dtype=numpy.int64)
    return FrameBuilder(n, NameTable(trace, clean_file_name), idents,
                        domain, freed)


def _frame_data(trace, clean_file_name, thread, domain=False):
    """The columns of :func:`trace_to_frame`, as a dict of arrays."""
    from ._frame import BLOCK
    res = trace.events
    n = res.shape[0]
    b = _builder(trace, n, clean_file_name, thread, domain)
    index = trace.thread if thread else None
    for lo in range(0, n, BLOCK):
        b.add(res[lo:lo + BLOCK],
              None if index is None else index[lo:lo + BLOCK])
    return b.finish()


def _thread_names_by_key(trace):
    """
    dict value of the ``thread`` column -> name, of *trace*.  A name is
    written by ident: of threads that shared an ident, each gets the name
    written in its turn when the file holds one a thread (a stream writes
    them as the threads start), else the last one gets the last name and
    the others None (no name of theirs is known).
    """
    from ._names import thread_keys
    names = thread_names(trace)
    history = getattr(trace, 'thread_name_history', {})
    keys = thread_keys(trace.threads)
    idents = [int(t[0]) for t in trace.threads]
    last = dict(zip(idents, keys))
    out, seen = {}, {}
    for key, ident in zip(keys, idents):
        k = seen[ident] = seen.get(ident, -1) + 1
        given = history.get(ident, ())
        if len(given) == idents.count(ident):
            # One name a thread of that ident, written as each started.
            out[key] = given[k]
        elif last[ident] != key:
            out[key] = None  # a later thread took its ident and its name
        elif ident in names:
            out[key] = names[ident]
    return out


def trace_to_frame(trace, clean_file_name=None, thread=False, domain=False):
    """
    The DataFrame of :meth:`EventProfiler.retrieve_results` of a trace
    (*thread* and *domain* add those columns).
    """
    import pandas
    data = _frame_data(trace, clean_file_name, thread, domain)
    df = pandas.DataFrame(data, columns=list(data), copy=False)
    if thread:
        df.attrs['thread_names'] = _thread_names_by_key(trace)
    return df


def load(path, clean_file_name=None, thread=False, progress=None,
         domain=False):
    """
    Reads a trace file written by :meth:`EventProfiler.save` (or by the C
    library) and returns the DataFrame :meth:`EventProfiler.retrieve_results`
    gave: columns ``time, value1, value2, event, name, mod, lineno,
    from_name, from_mod, from_line`` (and ``thread`` when *thread* is true,
    ``domain`` when *domain* is).

    :raises FileNotFoundError: no such file
    :raises TraceFileError: (a ValueError) the file is corrupted, cut in
        its header, of an unsupported version or not a trace file
    :warns TraceTruncatedWarning: the file is cut off: the DataFrame holds
        the events of its complete sections
    """
    import pandas
    data, trace = _load_columns(path, clean_file_name, thread, domain,
                                progress)
    df = pandas.DataFrame(data, columns=list(data), copy=False)
    if thread:
        df.attrs['thread_names'] = _thread_names_by_key(trace)
    return df


def _load_columns(path, clean_file_name, thread, domain, progress,
                  block=None):
    """
    The columns of :func:`load` and the :class:`Trace` of the tables of
    the file (no events): a first reader reads the tables, passing over
    the events, a second one the events, a block at a time into the
    frame's columns (*block* events: :data:`evprof._frame.BLOCK`).
    """
    import numpy
    from ._frame import BLOCK
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR),
                                path)
    block = block or BLOCK
    core = _core_module()
    reader = core.TraceReader(path)
    try:
        count, code, _ = reader.skim()
        trace = _tables(reader)
    finally:
        reader.close()
    if code not in (0, errno.ENODATA):
        # Damage the first pass met: the reader of everything says what
        # and where, in the order of the file.
        trace = read_trace(path, progress=progress)
        return _frame_data(trace, clean_file_name, thread, domain), trace
    b = _builder(trace, count, clean_file_name, thread, domain)
    events = numpy.empty((block, N_COLUMNS), dtype=numpy.int64)
    index = numpy.empty(block, dtype=numpy.uint32) if thread else None
    reader = core.TraceReader(path)
    try:
        done = 0
        while True:
            k = reader.read_into(events, index, partial=True)
            if k == 0:
                break
            b.add(events[:k], None if index is None else index[:k])
            done += k
            if progress is not None:
                progress(done)
        if reader.truncated is not None:
            warnings.warn(TraceTruncatedWarning(
                '%s; the trace is read up to there' % reader.truncated),
                stacklevel=_caller_level())
    finally:
        reader.close()
    return b.finish(), trace


# ---- from a profiler to a file -------------------------------------------


def _caller_level():
    """The stacklevel of warnings.warn naming the first caller outside."""
    import sys
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get(
            '__name__', '').startswith('evprof'):
        frame, level = frame.f_back, level + 1
    return level


def thread_names(trace):
    """dict thread ident -> name, from the META pairs of *trace*."""
    out = {}
    for key, value in trace.meta.items():
        if key.startswith('thread_name.'):
            try:
                out[int(key[len('thread_name.'):])] = value
            except ValueError:
                pass
    return out


def save_profiler(prof, path, progress=None, names_of_threads=None,
                  meta=None):
    """
    Writes the events of :class:`EventProfiler` *prof* (all it holds, also
    those of a run going on) and the names of every key they refer to
    into the trace file *path*.  *names_of_threads* (dict ident -> name,
    or a list of (ident, name) in thread order) and *meta* (dict str ->
    str, e.g. ``program``) are kept in the META section.  The events go
    from the profiler's buffer to the file a block at a time, without
    numpy and without a copy of them all.
    """
    registry = prof._buffer.registry()
    base = prof._buffer.key_base()
    threads = [(int(t[0]), int(t[1]) if len(t) > 1 else 0, os.getpid())
               for t in prof._buffer.threads()]
    with TraceWriter(path) as w:
        w.write_meta({'evprof': getattr(_core_module(), 'LIB_VERSION', ''),
                      'impl': getattr(prof, '_impl', ''),
                      'id_frame': 'code key of the running function',
                      'id_arg': 'code key of the caller (Python events), '
                                'builtin key (c_* events)',
                      'value1': 'caller instruction offset (Python '
                                'events), pointer (memory events)'})
        if meta:
            w.write_meta(meta)
        if names_of_threads:
            for part in _meta_rounds(names_of_threads):
                w.write_meta(part)
        if prof._moved:
            pairs = _write_moved(w, prof, progress)
        else:
            pairs = prof._buffer.write_trace(w._w, progress=progress)
        w.write_threads(threads)
        w.write_names(name_records(registry, base))
        # Lines of every (caller key, offset) the events refer to.
        w._w.write_lines(*line_records(registry, base, pairs))
        lost = getattr(prof._buffer, 'lost', None)
        if callable(lost):
            w.add_lost(lost())


def _meta_rounds(names):
    """
    META sections of thread names, from a dict ident -> name or a list
    of (ident, name) in thread order: an ident given again (a thread that
    reused it) goes into a later section, so that the file keeps each
    name in its turn (:attr:`Trace.thread_name_history`).
    """
    rounds = []
    items = names.items() if isinstance(names, dict) else names
    count = {}
    for ident, name in items:
        k = count[ident] = count.get(ident, -1) + 1
        if k == len(rounds):
            rounds.append({})
        rounds[k]['thread_name.%d' % ident] = name
    return rounds


def _write_moved(w, prof, progress):
    """
    The events of a profiler of which some were moved into numpy arrays
    (its _empty_cache): written from one array; returns the (caller key,
    offset) pairs of their calls.
    """
    import numpy
    raw, index = prof._gather(True, threads=True)
    w.write_events(raw, index, progress=progress)
    event = raw[:, 2]
    base = prof._buffer.key_base()
    akey = raw[:, 1] - base
    sel = ((event >= 1) & (event <= 6) & (akey > 0)
           & (akey <= len(prof._buffer.registry())))
    pairs = numpy.stack([raw[sel, 1], raw[sel, 4]], 1)
    if pairs.shape[0]:
        pairs = numpy.unique(pairs, axis=0)
    return [(int(k), int(o)) for k, o in pairs.tolist()]


def _core_module():
    from . import _core
    return _core
