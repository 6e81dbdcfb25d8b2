"""
Turning raw events into a report: freed sizes, names, modules and lines.

Everything here works per distinct key (a code object, a builtin) or per
distinct (code, offset) pair, and spreads the answers over the events with
numpy indexing: a million events cost a few array operations, not a
million Python calls.
"""
import numpy

from ._names import CODE_TYPE as _CODE_TYPE
from ._names import DOMAINS, EVENT_MAPPING, describe as _describe, line_starts

EVENT_NAMES = numpy.empty(1005, dtype=object)
for _name, _code in EVENT_MAPPING.items():
    EVENT_NAMES[_code] = _name
del _name, _code

# Domain names by id_arg, then '?' for a value the map does not know.
_DOMAIN_NAMES = numpy.array(list(DOMAINS) + ['?'], dtype=object)


def domain_names(event, id_arg):
    """
    The ``domain`` column: the allocator of each memory event (its
    id_arg), '' for the other events.
    """
    mem = event >= EVENT_MAPPING['malloc']
    known = (id_arg >= 0) & (id_arg < len(DOMAINS))
    out = _DOMAIN_NAMES[numpy.where(known, id_arg, len(DOMAINS))]
    out[~mem] = ''
    return out


def fill_freed_sizes(res):
    """
    Writes into column 5 (value2) of every ``free``/``realloc_free`` row of
    *res* minus the size of the block it frees, or 0 when the block was
    allocated before profiling started. *res* is modified in place.
    """
    event = res[:, 2]
    rows = numpy.flatnonzero(event >= 1000)
    if rows.size == 0:
        return res
    ptr = res[rows, 4]
    # Stable: the events of one block stay in time order.
    order = numpy.argsort(ptr, kind='stable')
    srows = rows[order]
    sptr = ptr[order]
    sev = event[srows]
    is_free = sev >= 1003
    prev_same = numpy.zeros(srows.size, dtype=bool)
    prev_same[1:] = sptr[1:] == sptr[:-1]
    prev_alloc = numpy.zeros(srows.size, dtype=bool)
    prev_alloc[1:] = sev[:-1] < 1003
    prev_size = numpy.zeros(srows.size, dtype=numpy.int64)
    prev_size[1:] = res[srows[:-1], 5]
    freed = numpy.where(prev_same & prev_alloc, -prev_size, 0)
    res[srows[is_free], 5] = freed[is_free]
    return res


def _line_table(code):
    """Sorted instruction offsets where lines start, and their lines."""
    starts, lines = line_starts(code)
    return (numpy.array(starts, dtype=numpy.int64),
            numpy.array(lines, dtype=numpy.int64))


def checked_clean(clean):
    """
    *clean* (a clean_file_name function) checked on each answer: a file
    name it turns into anything but a str is a TypeError naming it.
    """
    def clean_checked(name):
        got = clean(name)
        if not isinstance(got, str):
            raise TypeError(
                "clean_file_name must return a str: %s returned %s for %r"
                % (getattr(clean, '__qualname__', clean),
                   type(got).__name__, name))
        return got
    return clean_checked


class KeyTable:
    """Names, modules and first lines of every registry key (0: none)."""

    def __init__(self, registry, base, clean):
        n = len(registry) + 1
        self.size = n
        self.base = base
        self.entries = [None] + list(registry)
        self.name = numpy.empty(n, dtype=object)
        self.mod = numpy.empty(n, dtype=object)
        self.first = numpy.full(n, -1, dtype=numpy.int64)
        self.name[0] = ''
        self.mod[0] = ''
        self._line_tables = {}
        cleaned = {}

        clean = checked_clean(clean)

        def clean_once(value):
            if value not in cleaned:
                cleaned[value] = clean(value)
            return cleaned[value]

        for k, obj in enumerate(registry, 1):
            name, mod, first, _ = _describe(obj, clean_once)
            self.name[k] = name
            self.mod[k] = mod
            self.first[k] = first

    def valid(self, keys):
        """
        Indexes into the tables: keys outside the registry (of an earlier
        run, tags, markers) become 0.
        """
        keys = keys - self.base
        return numpy.where((keys > 0) & (keys < self.size), keys, 0)

    index = valid

    def lines(self, keys, offsets):
        """The line of each (code key, instruction offset); -1 for key 0."""
        out = numpy.full(keys.shape[0], -1, dtype=numpy.int64)
        sel = numpy.flatnonzero(keys > 0)
        if sel.size == 0:
            return out
        pair = (keys[sel] << 32) | (offsets[sel] & 0xFFFFFFFF)
        upair, inverse = numpy.unique(pair, return_inverse=True)
        ukey = upair >> 32
        uoff = (upair & 0xFFFFFFFF).astype(numpy.int64)
        uoff[uoff >= 0x80000000] -= 1 << 32
        uline = numpy.full(upair.shape[0], -1, dtype=numpy.int64)
        # upair is sorted, so each key's offsets are one slice.
        bounds = numpy.flatnonzero(numpy.diff(ukey)) + 1
        for lo, hi in zip(numpy.r_[0, bounds], numpy.r_[bounds, ukey.size]):
            code = self.entries[int(ukey[lo])]
            if not isinstance(code, _CODE_TYPE):
                continue
            table = self._line_tables.get(code)
            if table is None:
                table = self._line_tables[code] = _line_table(code)
            starts, lines = table
            off = uoff[lo:hi]
            pos = numpy.searchsorted(starts, off, side='right') - 1
            got = lines[numpy.clip(pos, 0, None)]
            got[(pos < 0) | (off < 0)] = code.co_firstlineno
            uline[lo:hi] = got
        out[sel] = uline[inverse.reshape(-1)]
        return out


def build_columns(res, registry, base, clean):
    """
    The columns of :meth:`EventProfiler.retrieve_results` after the first
    three, as a dict of arrays: event, name, mod, lineno, from_name,
    from_mod, from_line.
    """
    table = KeyTable(registry, base, clean)
    return assemble_columns(
        res[:, 2], table, table.valid(res[:, 0]), table.valid(res[:, 1]),
        lambda from_idx: table.lines(from_idx, res[:, 4]))


def assemble_columns(event, table, fidx, aidx, lines_of):
    """
    The columns event, name, mod, lineno, from_name, from_mod, from_line
    from the event codes, a name table (arrays ``name``, ``mod``,
    ``first`` indexed by entry, entry 0 empty), the entries of the
    function (*fidx*) and of the caller or builtin (*aidx*) of each event,
    and *lines_of*, giving the call-site lines of the caller entries.
    """
    is_c = (event >= 3) & (event <= 4) | (event == 6)
    is_py = (event == 1) | (event == 2) | (event == 5)
    # The caller: for Python events the calling code, for builtins the
    # Python function that called them; nothing for memory and markers.
    from_idx = numpy.where(is_py | is_c, aidx, 0)
    lineno = numpy.where(is_c, table.first[aidx], table.first[fidx])
    codes = numpy.clip(event, 0, EVENT_NAMES.shape[0] - 1)
    return {
        'event': EVENT_NAMES[codes],
        'name': table.name[fidx],
        'mod': table.mod[fidx],
        'lineno': lineno,
        'from_name': table.name[from_idx],
        'from_mod': table.mod[from_idx],
        'from_line': lines_of(from_idx),
    }
