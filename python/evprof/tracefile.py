"""
The evprof trace file (doc/trace-format.md, version 1.0), written and read
section by section: events go out and come in 65536 at a time, so a trace
is never copied whole into one buffer, and every byte read is checked.

:func:`write_trace` writes raw events with their name tables,
:func:`read_trace` reads any trace file (also those of the C library's
``evprof_trace_writer`` and of ``evprof-instrument``) into a
:class:`Trace`, and :func:`load` gives back the DataFrame of
:meth:`EventProfiler.retrieve_results`.  A truncated, corrupted or foreign
file raises :class:`TraceFileError` (a :class:`ValueError`) naming what is
wrong and where.
"""
import os
import struct
import zlib

import numpy
import pandas

from ._report import EVENT_MAPPING

MAGIC = b'\x89EVPROF\n'
VERSION = (1, 0)
HEADER_SIZE = 64
EVENT_SIZE = 48
N_COLUMNS = 6
EVENTS_PER_SECTION = 65536
MAX_PAYLOAD = 64 << 20
MAX_HEADER = 1 << 16

SEC_META, SEC_THREADS, SEC_EVENTS, SEC_NAMES, SEC_LINES = 1, 2, 3, 4, 5
SEC_END = 0xFFFF
_SECTION_NAMES = {SEC_META: 'META', SEC_THREADS: 'THREADS',
                  SEC_EVENTS: 'EVENTS', SEC_NAMES: 'NAMES',
                  SEC_LINES: 'LINES', SEC_END: 'END'}
FLAG_REQUIRED = 1

CLOCK_MONOTONIC, CLOCK_TSC = 1, 2
_CLOCK_NAMES = {CLOCK_MONOTONIC: 'monotonic', CLOCK_TSC: 'tsc'}

KIND_OTHER, KIND_CODE, KIND_BUILTIN, KIND_NATIVE = 0, 1, 2, 3

COLUMNS = ['time', 'value1', 'value2', 'event', 'name', 'mod', 'lineno',
           'from_name', 'from_mod', 'from_line']

_HEADER = struct.Struct('<8sHHIIIII qqq I')
_SECTION = struct.Struct('<IIQI')
_NAME = struct.Struct('<qiiIIII')
_THREAD = numpy.dtype([('index', '<u4'), ('pad', '<u4'), ('ident', '<u8'),
                       ('native_id', '<i8'), ('pid', '<i8')])
_LINE = numpy.dtype([('key', '<i8'), ('offset', '<i8'), ('line', '<i4'),
                     ('pad', '<u4')])
_EVENT = numpy.dtype('<i8')

_EVENT_NAMES = numpy.empty(1005, dtype=object)
for _name, _code in EVENT_MAPPING.items():
    _EVENT_NAMES[_code] = _name
del _name, _code


class TraceFileError(ValueError):
    """A file that is not a valid evprof trace: says what and where."""


def _crc(data):
    return zlib.crc32(data) & 0xFFFFFFFF


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
        raw = numpy.ascontiguousarray(raw, dtype=_EVENT)
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
    :ivar meta: dict of the META pairs
    :ivar events: int64 array (n, 6): id_frame, id_arg, event, time,
        value1, value2
    :ivar thread: uint32 array of the thread index of each event, or None
    :ivar threads: list of (ident, native_id, pid), by index
    :ivar names: DataFrame key, kind, first_line, name, module, file
    :ivar lines: structured array key, offset, line
    :ivar lost: events the writer counted as lost
    """

    def __init__(self):
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
        self.lines = numpy.empty(0, dtype=_LINE)
        self.lost = 0


class _Reader:
    """Reads and checks a trace file, section by section."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.f = open(self.path, 'rb')
        self.pos = 0

    def fail(self, msg):
        raise TraceFileError('%s: %s' % (self.path, msg))

    def read(self, n):
        data = self.f.read(n)
        self.pos += len(data)
        return data

    def header(self):
        head = self.read(HEADER_SIZE)
        if not head:
            self.fail("empty file: not an evprof trace")
        if head[:len(MAGIC)] != MAGIC[:len(head)]:
            self.fail("not an evprof trace file (bad magic number)")
        if len(head) < HEADER_SIZE:
            self.fail("truncated header (%d of %d bytes)"
                      % (len(head), HEADER_SIZE))
        (_, major, minor, hsize, esize, ncol, clock, _flags, pid, real,
         mono, _res) = _HEADER.unpack(head[:60])
        if struct.unpack('<I', head[60:])[0] != _crc(head[:60]):
            self.fail("corrupted header (checksum mismatch)")
        if major != VERSION[0]:
            self.fail("unsupported trace version %d.%d (this reader reads "
                      "%d.x)" % (major, minor, VERSION[0]))
        if esize != EVENT_SIZE or ncol != N_COLUMNS:
            self.fail("unsupported event layout (%d columns, %d bytes an "
                      "event)" % (ncol, esize))
        if hsize < HEADER_SIZE or hsize > MAX_HEADER:
            self.fail("bad header size %d" % hsize)
        if hsize > HEADER_SIZE:
            rest = self.read(hsize - HEADER_SIZE)
            if len(rest) < hsize - HEADER_SIZE:
                self.fail("truncated header")
        return {'version': '%d.%d' % (major, minor),
                'clock': _CLOCK_NAMES.get(clock, 'unknown'),
                'pid': pid, 'created_realtime_ns': real,
                'created_clock_ns': mono}

    def sections(self):
        """Yields (type, payload, offset) for each checked section."""
        while True:
            at = self.pos
            head = self.read(_SECTION.size + 4)
            if not head:
                self.fail("truncated file: no END section")
            if len(head) < _SECTION.size + 4:
                self.fail("truncated section header at offset %d" % at)
            kind, flags, length, crc = _SECTION.unpack(head[:20])
            if struct.unpack('<I', head[20:])[0] != _crc(head[:20]):
                self.fail("corrupted section header at offset %d" % at)
            name = _SECTION_NAMES.get(kind, 'type %d' % kind)
            if length > MAX_PAYLOAD:
                self.fail("%s section at offset %d too long (%d bytes)"
                          % (name, at, length))
            payload = self.read(length)
            if len(payload) < length:
                self.fail("truncated %s section at offset %d (%d of %d "
                          "bytes)" % (name, at, len(payload), length))
            if _crc(payload) != crc:
                self.fail("corrupted %s section at offset %d (checksum "
                          "mismatch)" % (name, at))
            if kind not in _SECTION_NAMES and flags & FLAG_REQUIRED:
                self.fail("unknown required section type %d at offset %d"
                          % (kind, at))
            yield kind, payload, at
            if kind == SEC_END:
                return


def _count(rd, name, payload, at, item=None):
    if len(payload) < 8:
        rd.fail("%s section at offset %d too short" % (name, at))
    count, flags = struct.unpack_from('<II', payload)
    if item is not None and len(payload) != 8 + count * item:
        rd.fail("%s section at offset %d: length does not match its count"
                % (name, at))
    return count, flags


def _strings(rd, name, payload, at, pos, lengths, entry):
    out = []
    for n in lengths:
        if pos + n > len(payload):
            rd.fail("%s section at offset %d: strings of entry %d past its "
                    "end" % (name, at, entry))
        try:
            out.append(payload[pos:pos + n].decode('utf-8'))
        except UnicodeDecodeError:
            rd.fail("%s section at offset %d: entry %d is not UTF-8"
                    % (name, at, entry))
        pos += n
    return out, pos


def read_trace(path, progress=None):
    """
    Reads and checks a trace file into a :class:`Trace`.

    :param path: the file
    :param progress: called with the events read so far, or None
    :raises FileNotFoundError: no such file
    :raises TraceFileError: the file is truncated, corrupted, of an
        unsupported version, or not a trace file
    """
    rd = _Reader(path)
    with rd.f:
        trace = Trace()
        trace.info = rd.header()
        chunks, tchunks, names, lines = [], [], [], []
        n_events = 0
        n_sections = 0
        has_thread = None
        for kind, payload, at in rd.sections():
            if kind == SEC_END:
                if len(payload) != 24:
                    rd.fail("END section at offset %d: bad length %d"
                            % (at, len(payload)))
                events, sections, lost = struct.unpack('<QQQ', payload)
                if events != n_events or sections != n_sections:
                    rd.fail("END counts do not match: %d events in %d "
                            "sections announced, %d in %d read"
                            % (events, sections, n_events, n_sections))
                trace.lost = lost
                break
            n_sections += 1
            if kind == SEC_META:
                count, _ = _count(rd, 'META', payload, at)
                pos = 8
                for i in range(count):
                    if pos + 8 > len(payload):
                        rd.fail("META section at offset %d: entry %d past "
                                "its end" % (at, i))
                    lk, lv = struct.unpack_from('<II', payload, pos)
                    (k, v), pos = _strings(rd, 'META', payload, at, pos + 8,
                                           (lk, lv), i)
                    trace.meta[k] = v
                if pos != len(payload):
                    rd.fail("META section at offset %d: %d stray bytes"
                            % (at, len(payload) - pos))
            elif kind == SEC_THREADS:
                count, _ = _count(rd, 'THREADS', payload, at,
                                  _THREAD.itemsize)
                rec = numpy.frombuffer(payload, dtype=_THREAD, offset=8)
                if (rec['index'] != numpy.arange(count)).any():
                    rd.fail("THREADS section at offset %d: threads out of "
                            "order" % at)
                trace.threads = [(int(r['ident']), int(r['native_id']),
                                  int(r['pid'])) for r in rec]
            elif kind == SEC_EVENTS:
                count, flags = _count(rd, 'EVENTS', payload, at)
                if flags & ~1:
                    rd.fail("EVENTS section at offset %d: unknown flags "
                            "0x%x" % (at, flags))
                per = EVENT_SIZE + (4 if flags & 1 else 0)
                if len(payload) != 8 + count * per:
                    rd.fail("EVENTS section at offset %d: length does not "
                            "match its %d events" % (at, count))
                if has_thread is None:
                    has_thread = bool(flags & 1)
                elif has_thread != bool(flags & 1):
                    rd.fail("EVENTS section at offset %d: thread indices "
                            "in some sections only" % at)
                ev = numpy.frombuffer(payload, dtype=_EVENT, offset=8,
                                      count=count * N_COLUMNS)
                chunks.append(ev.reshape(count, N_COLUMNS))
                if flags & 1:
                    tchunks.append(numpy.frombuffer(
                        payload, dtype='<u4', count=count,
                        offset=8 + count * EVENT_SIZE))
                n_events += count
                if progress is not None:
                    progress(n_events)
            elif kind == SEC_NAMES:
                count, _ = _count(rd, 'NAMES', payload, at)
                pos = 8
                for i in range(count):
                    if pos + _NAME.size > len(payload):
                        rd.fail("NAMES section at offset %d: entry %d past "
                                "its end" % (at, i))
                    key, kd, first, ln, lm, lf, _ = _NAME.unpack_from(
                        payload, pos)
                    strs, pos = _strings(rd, 'NAMES', payload, at,
                                         pos + _NAME.size, (ln, lm, lf), i)
                    names.append((key, kd, first) + tuple(strs))
                if pos != len(payload):
                    rd.fail("NAMES section at offset %d: %d stray bytes"
                            % (at, len(payload) - pos))
            elif kind == SEC_LINES:
                _count(rd, 'LINES', payload, at, _LINE.itemsize)
                lines.append(numpy.frombuffer(payload, dtype=_LINE,
                                              offset=8))
        if rd.f.read(1):
            rd.fail("data after the END section (offset %d)" % rd.pos)
    if chunks:
        trace.events = numpy.concatenate(chunks).astype(numpy.int64)
    if has_thread:
        trace.thread = numpy.concatenate(tchunks).astype(numpy.uint32)
        if trace.thread.size and int(trace.thread.max()) >= len(
                trace.threads):
            rd.fail("events refer to thread %d, the file lists %d"
                    % (int(trace.thread.max()), len(trace.threads)))
    if names:
        key, kind, first, name, mod, path_ = zip(*names)
        trace.names = pandas.DataFrame({
            'key': numpy.array(key, dtype=numpy.int64),
            'kind': numpy.array(kind, dtype=numpy.int32),
            'first_line': numpy.array(first, dtype=numpy.int32),
            'name': list(name), 'module': list(mod), 'file': list(path_)})
    if lines:
        trace.lines = numpy.concatenate(lines)
    return trace


# ---- from a trace to the DataFrame ---------------------------------------


class _NameTable:
    """Names of the keys of a trace, looked up vectorised (index 0: none)."""

    def __init__(self, trace, clean):
        names = trace.names.drop_duplicates('key', keep='last')
        names = names.sort_values('key', kind='stable')
        n = len(names) + 1
        self.keys = names['key'].to_numpy(numpy.int64)
        self.name = numpy.empty(n, dtype=object)
        self.mod = numpy.empty(n, dtype=object)
        self.first = numpy.full(n, -1, dtype=numpy.int64)
        self.name[0] = ''
        self.mod[0] = ''
        kind = names['kind'].to_numpy()
        first = names['first_line'].to_numpy(numpy.int64)
        mods = names['module'].to_numpy(object)
        files = names['file'].to_numpy(object)
        is_code = kind == KIND_CODE
        native = kind == KIND_NATIVE
        cleaned = {}
        for i, (nm, md, code) in enumerate(zip(names['name'], mods,
                                               is_code), 1):
            self.name[i] = nm
            if native[i - 1] and files[i - 1]:
                md = files[i - 1]  # a C function: its source file
                code = True
            if code:
                if md not in cleaned:
                    cleaned[md] = clean(md)
                md = cleaned[md]
            elif kind[i - 1] == KIND_BUILTIN and md == '':
                md = None  # a builtin without __module__
            self.mod[i] = md
        self.first[1:] = numpy.where(
            is_code | (native & (first > 0)), first, -1)
        lines = trace.lines
        self.line_of = dict(zip(
            zip(lines['key'].tolist(), lines['offset'].tolist()),
            lines['line'].tolist()))

    def index(self, keys):
        """Indexes of *keys* into the tables, 0 for unknown keys."""
        if self.keys.size == 0:
            return numpy.zeros(keys.shape[0], dtype=numpy.int64)
        pos = numpy.searchsorted(self.keys, keys)
        pos = numpy.clip(pos, 0, self.keys.size - 1)
        return numpy.where(self.keys[pos] == keys, pos + 1, 0)

    def lines(self, idx, keys, offsets):
        """
        The line of each (key, offset); -1 when none is known.  One
        dictionary look-up per distinct pair, not per event.
        """
        out = numpy.full(keys.shape[0], -1, dtype=numpy.int64)
        sel = numpy.flatnonzero(idx > 0)
        if sel.size == 0 or not self.line_of:
            return out
        pairs = numpy.stack([keys[sel], offsets[sel]], 1)
        upairs, inverse = numpy.unique(pairs, axis=0, return_inverse=True)
        get = self.line_of.get
        ulines = numpy.array([get((k, o), -1) for k, o in upairs.tolist()],
                             dtype=numpy.int64)
        out[sel] = ulines[inverse.reshape(-1)]
        return out


def _columns(trace, clean):
    """The DataFrame columns of the events of *trace* (as build_columns)."""
    res = trace.events
    table = _NameTable(trace, clean)
    event = res[:, 2]
    fkey = table.index(res[:, 0])
    akey = table.index(res[:, 1])
    is_c = (event >= 3) & (event <= 4) | (event == 6)
    is_py = (event == 1) | (event == 2) | (event == 5)
    from_idx = numpy.where(is_py | is_c, akey, 0)
    from_key = numpy.where(is_py | is_c, res[:, 1], 0)
    lineno = numpy.where(is_c, table.first[akey], table.first[fkey])
    codes = numpy.clip(event, 0, _EVENT_NAMES.shape[0] - 1)
    return {
        'event': _EVENT_NAMES[codes],
        'name': table.name[fkey],
        'mod': table.mod[fkey],
        'lineno': lineno,
        'from_name': table.name[from_idx],
        'from_mod': table.mod[from_idx],
        'from_line': table.lines(from_idx, from_key, res[:, 4]),
    }


def trace_to_frame(trace, clean_file_name=None, thread=False):
    """The DataFrame of :meth:`EventProfiler.retrieve_results` of a trace."""
    if clean_file_name is None:
        def clean_file_name(name):
            return name
    elif not callable(clean_file_name):
        raise TypeError("clean_file_name must be callable")
    res = trace.events
    mem = res[:, 2] >= 1000
    data = {'time': res[:, 3].copy(),
            'value1': numpy.where(mem, res[:, 4], 0),
            'value2': numpy.where(mem, res[:, 5], 0)}
    data.update(_columns(trace, clean_file_name))
    df = pandas.DataFrame(data, columns=COLUMNS)
    if thread:
        idents = numpy.array([t[0] for t in trace.threads] or [0],
                             dtype=numpy.uint64).astype(numpy.int64)
        if trace.thread is None:
            df['thread'] = numpy.full(len(df), idents[0], dtype=numpy.int64)
        else:
            df['thread'] = idents[trace.thread]
    return df


def load(path, clean_file_name=None, thread=False, progress=None):
    """
    Reads a trace file written by :meth:`EventProfiler.save` (or by the C
    library) and returns the DataFrame :meth:`EventProfiler.retrieve_results`
    gave: columns ``time, value1, value2, event, name, mod, lineno,
    from_name, from_mod, from_line`` (and ``thread`` when *thread* is true).

    :raises FileNotFoundError: no such file
    :raises TraceFileError: (a ValueError) the file is truncated, corrupted,
        of an unsupported version or not a trace file
    """
    return trace_to_frame(read_trace(path, progress=progress),
                          clean_file_name=clean_file_name, thread=thread)


# ---- from a profiler to a file -------------------------------------------


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
    Writes the events of :class:`EventProfiler` *prof* (moving what its C
    buffer holds first, as ``retrieve_results`` does) and the names of every
    key they refer to into the trace file *path*.  *names_of_threads* (dict
    ident -> name) and *meta* (dict str -> str, e.g. ``program``) are kept
    in the META section.
    """
    from ._report import KeyTable, fill_freed_sizes
    raw = fill_freed_sizes(prof._raw(True))
    index = (numpy.concatenate(prof._thread_index) if prof._thread_index
             else numpy.empty(0, dtype=numpy.uint32))
    registry = prof._buffer.registry()
    base = prof._buffer.key_base()
    table = KeyTable(registry, base, lambda name: name)
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
            w.write_meta({'thread_name.%d' % ident: name
                          for ident, name in names_of_threads.items()})
        w.write_events(raw, index, progress=progress)
        w.write_threads(threads)
        names = []
        code_type = type(compile('0', '<evprof>', 'eval'))
        for k, obj in enumerate(registry, 1):
            is_code = isinstance(obj, code_type)
            names.append((k + base,
                          KIND_CODE if is_code else KIND_BUILTIN,
                          table.first[k] if is_code else 0,
                          table.name[k], table.mod[k],
                          obj.co_filename if is_code else ''))
        w.write_names(names)
        # Lines of every (caller key, offset) the events refer to.
        event = raw[:, 2]
        calls = (event >= 1) & (event <= 6)
        akey = table.valid(raw[:, 1])
        sel = calls & (akey > 0)
        pairs = numpy.stack([raw[sel, 1], raw[sel, 4]], 1)
        if pairs.shape[0]:
            pairs = numpy.unique(pairs, axis=0)
        lines = table.lines(table.valid(pairs[:, 0]), pairs[:, 1])
        w.write_lines(pairs[:, 0], pairs[:, 1], lines)
        lost = getattr(prof._buffer, 'lost', None)
        if callable(lost):
            w.add_lost(lost())


def _core_module():
    from . import _core
    return _core
