"""
The library's sinks on a trace file, as the package's outputs and its
command line run them: a trace cut off (its writer killed, a full disk)
is read up to its last complete section and says where it was cut, and
an output file is written under a temporary name beside it, renamed over
it once complete, so that a failure never leaves a file cut short (or
empty) in its place.
"""
import os
import secrets
import stat
import warnings

from . import _core


def cut_text(message):
    """
    The reader's message of a cut, ``truncated at offset N: no END
    section; K events ... (then ...)``, as one clause: ``truncated at
    offset N (no END section; K events ..., then ...)``.
    """
    head, sep, rest = message.partition(': ')
    if not sep:
        return message
    if rest.endswith(')') and ' (then ' in rest:
        rest = rest[:-1].replace(' (then ', ', then ', 1)
    return '%s (%s)' % (head, rest)


def cut_line(path, message):
    """The line `evprof report` and `convert` print for a trace cut off."""
    return ('evprof: warning: %s: %s: the output covers the events up to '
            'there' % (path, cut_text(message)))


class CutSaid:
    """
    ``with CutSaid(say)``: the TraceTruncatedWarning of a trace read in
    the block goes to *say*, as the reader's message of the cut, instead
    of Python's warning machinery; other warnings go on as they came.
    """

    def __init__(self, say):
        self.say = say
        self.catch = warnings.catch_warnings(record=True)
        self.seen = []

    def __enter__(self):
        from .tracefile import TraceTruncatedWarning
        self.seen = self.catch.__enter__()
        warnings.simplefilter('always', TraceTruncatedWarning)
        return self

    def __exit__(self, *exc):
        from .tracefile import TraceTruncatedWarning
        self.catch.__exit__(*exc)
        for w in self.seen:
            if issubclass(w.category, TraceTruncatedWarning):
                self.say(reader_message(str(w.message)))
            else:
                warnings.warn_explicit(w.message, w.category, w.filename,
                                       w.lineno)
        return False


def reader_message(text):
    """The reader's message in the text of a TraceTruncatedWarning."""
    start = max(text.find('truncated at offset'), 0)
    end = text.rfind('; the trace is read up to there')
    return text[start:end if end > start else None]


class Output:
    """
    ``with Output(path) as tmp``: the name to write the output to, a new
    file in the same directory (with the same suffix, which some writers
    go by), renamed to *path* when the block ends without an exception
    and removed when it raises.  An existing file that is not a regular
    one (a device, a pipe) is written in place.  The new file has the
    mode of the file it replaces, else that of a file created.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self.tmp = None

    def __enter__(self):
        target = os.path.realpath(self.path)
        try:
            st = os.stat(target)
        except FileNotFoundError:
            st = None
        if st is not None and not stat.S_ISREG(st.st_mode):
            return self.path
        where, base = os.path.split(target)
        while True:
            # The name ends as the output's does: a writer that goes by
            # the suffix (matplotlib, pandas' compression) sees the same.
            tmp = os.path.join(where, '.evprof-%s-%s'
                               % (secrets.token_hex(4), base))
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                             | os.O_CLOEXEC, 0o666)
            except FileExistsError:
                continue
            except OSError as exc:
                # Said of the output, not of a name the user never gave.
                raise OSError(exc.errno, exc.strerror, self.path) from None
            break
        try:
            if st is not None:
                os.fchmod(fd, stat.S_IMODE(st.st_mode))
        finally:
            os.close(fd)
        self.tmp, self.target = tmp, target
        return tmp

    def __exit__(self, typ, value, tb):
        if self.tmp is None:
            return False
        if typ is None:
            try:
                os.replace(self.tmp, self.target)
            except BaseException:
                _remove(self.tmp)
                raise
        else:
            _remove(self.tmp)
        return False


def _remove(path):
    try:
        os.unlink(path)
    except OSError:  # pragma: no cover - removed meanwhile
        pass


def run(trace, sink, out, **kwargs):
    """
    Sink *sink* on the trace file *trace* into the file *out* (through
    :class:`Output`), reading a trace cut off up to its last complete
    section; the sink's stats, ``truncated`` the reader's message of the
    cut or None.
    """
    trace, out = os.fspath(trace), os.fspath(out)
    if os.path.exists(out) and os.path.exists(trace) \
            and os.path.samefile(out, trace):
        raise ValueError('%s: the output is the trace file itself' % out)
    with Output(out) as tmp:
        return _core.sink_run(trace, sink, tmp, partial=True, **kwargs)


def _section(typ, flags, payload):
    """The bytes of a trace section (doc/trace-format.md)."""
    import struct
    import zlib
    head = struct.pack('<IIQI', typ, flags, len(payload), zlib.crc32(payload))
    return head + struct.pack('<I', zlib.crc32(head))


def copy_readable(path, trace, out):
    """
    The trace file *path*, read whole into the :class:`Trace` *trace*,
    copied to *out*: as it is when complete; when cut off, its complete
    sections (the bytes before the offset of the cut, every one checked
    by the reader) closed as a writer closes a file: a THREADS section of
    the threads the reader gave (those past the file's table, unlisted,
    included: their events need one) and the END section.
    """
    import re
    import shutil
    import struct
    if trace.truncated is None:
        shutil.copyfile(path, out)
        return
    at = int(re.search(r'truncated at offset (\d+)',
                       trace.truncated).group(1))
    sections = 0
    with open(path, 'rb') as src, open(out, 'wb') as dst:
        head = src.read(16)
        pos = struct.unpack_from('<I', head, 12)[0]
        while pos < at:
            src.seek(pos + 8)
            pos += 24 + struct.unpack('<Q', src.read(8))[0]
            sections += 1
        src.seek(0)
        left = at
        while left > 0:
            block = src.read(min(left, 1 << 20))
            if not block:
                raise OSError('%s: changed while copied' % path)
            dst.write(block)
            left -= len(block)
        if trace.threads:
            payload = struct.pack('<II', len(trace.threads), 0) + b''.join(
                struct.pack('<IIQqq', i, 0, ident, native, pid)
                for i, (ident, native, pid) in enumerate(trace.threads))
            dst.write(_section(2, 0, payload) + payload)
            sections += 1
        end = struct.pack('<QQQ', trace.events.shape[0], sections, 0)
        dst.write(_section(0xFFFF, 1, end) + end)
