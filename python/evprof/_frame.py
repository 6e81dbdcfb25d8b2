"""
The DataFrame of a profile, built a block of events at a time.

Its columns are allocated once, at the frame's length, and each block of
events (read from a trace file by the C reader, or from a profiler's
buffer) is named, spread and written into them in place: what is held
beyond the frame is one block and its temporaries, and one byte an event
(the kind of each memory event, for the sizes freed).  pandas takes the
columns as they are (``copy=False``): the str columns are object arrays
of the few distinct names, shared by every row.

Names are looked up per distinct key (a code object, a builtin) and per
distinct (code, offset) pair, then spread with numpy indexing.
"""
import numpy

from ._report import EVENT_NAMES, domain_names

#: events of a block
BLOCK = 1 << 16
NO_THREAD = 0xFFFFFFFF
KIND_CODE, KIND_BUILTIN, KIND_NATIVE = 1, 2, 3
COLUMNS = ['time', 'value1', 'value2', 'event', 'name', 'mod', 'lineno',
           'from_name', 'from_mod', 'from_line']
_INT_COLUMNS = ('time', 'value1', 'value2', 'lineno', 'from_line',
                'thread')


class NameTable:
    """
    Names of the keys of a trace (its NAMES and LINES tables), looked up
    vectorised (index 0: none).
    """

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
        self._lines_table(trace.lines)

    def _lines_table(self, lines):
        """
        The LINES table as sorted packed (entry << 32 | offset) pairs and
        their lines, the last line of a pair given twice winning; pairs
        whose offset is not an int32 stay in a dict.
        """
        keys = numpy.asarray(lines['key'], dtype=numpy.int64)
        off = numpy.asarray(lines['offset'], dtype=numpy.int64)
        line = numpy.asarray(lines['line'], dtype=numpy.int64)
        small = (off >= -(1 << 31)) & (off < (1 << 31))
        self.line_of = {
            (k, o): v for k, o, v in zip(keys[~small].tolist(),
                                         off[~small].tolist(),
                                         line[~small].tolist())}
        idx = self.index(keys[small])
        known = idx > 0
        packed = (idx[known] << 32) | (off[small][known] & 0xFFFFFFFF)
        line = line[small][known]
        order = numpy.argsort(packed, kind='stable')
        packed, line = packed[order], line[order]
        last = numpy.ones(packed.size, dtype=bool)
        last[:-1] = packed[1:] != packed[:-1]
        self.packed, self.packed_line = packed[last], line[last]

    def index(self, keys):
        """Indexes of *keys* into the tables, 0 for unknown keys."""
        if self.keys.size == 0:
            return numpy.zeros(keys.shape[0], dtype=numpy.int64)
        pos = numpy.searchsorted(self.keys, keys)
        numpy.clip(pos, 0, self.keys.size - 1, out=pos)
        return numpy.where(self.keys[pos] == keys, pos + 1, 0)

    def lines(self, idx, offsets):
        """
        The line of each (entry *idx*, instruction offset); -1 when none
        is known (and for entry 0).
        """
        out = numpy.full(idx.shape[0], -1, dtype=numpy.int64)
        sel = numpy.flatnonzero(idx > 0)
        if sel.size == 0:
            return out
        off = offsets[sel]
        small = (off >= -(1 << 31)) & (off < (1 << 31))
        if self.packed.size:
            s = sel[small]
            packed = (idx[s] << 32) | (off[small] & 0xFFFFFFFF)
            pos = numpy.searchsorted(self.packed, packed)
            numpy.clip(pos, 0, self.packed.size - 1, out=pos)
            hit = self.packed[pos] == packed
            out[s[hit]] = self.packed_line[pos[hit]]
        if self.line_of and not small.all():
            # One dictionary look-up a distinct pair, not an event.
            big = sel[~small]
            pairs = numpy.stack([self.keys[idx[big] - 1], offsets[big]], 1)
            upairs, inverse = numpy.unique(pairs, axis=0,
                                           return_inverse=True)
            get = self.line_of.get
            ulines = numpy.array([get(pair, -1) for pair in zip(
                upairs[:, 0].tolist(), upairs[:, 1].tolist())],
                dtype=numpy.int64)
            out[big] = ulines[inverse.reshape(-1)]
        return out


def fill_freed(value1, value2, memclass):
    """
    Writes into *value2* of every free (*memclass* 2; 1 for allocations)
    minus the size of the block it frees, or 0 when the block was not
    allocated by the memory event before it of the same pointer
    (*value1*): :func:`evprof._report.fill_freed_sizes` on the frame's
    columns, a few arrays of the memory events long.
    """
    rows = numpy.flatnonzero(memclass)
    if rows.size == 0:
        return
    # Stable: the events of one block stay in time order.
    rows = rows[numpy.argsort(value1[rows], kind='stable')]
    ptr = value1[rows]
    cls = memclass[rows]
    paired = (ptr[1:] == ptr[:-1]) & (cls[:-1] == 1)
    del ptr
    freed = numpy.zeros(rows.size, dtype=numpy.int64)
    freed[1:][paired] = -value2[rows[:-1][paired]]
    del paired
    is_free = cls == 2
    value2[rows[is_free]] = freed[is_free]


class FrameBuilder:
    """
    The columns of a frame of *n* events, filled a block at a time by
    :meth:`add` from int64 rows (id_frame, id_arg, event, time, value1,
    value2).  *table* names the keys (``index``, ``name``, ``mod``,
    ``first``, ``lines``: :class:`NameTable` or
    :class:`evprof._report.KeyTable`); *idents* (int64, by thread index)
    gives the ``thread`` column when not None; *domain* adds that column.
    *freed*: None leaves value2 as given, True pairs every free with its
    allocation (:func:`fill_freed`), 'zero' does so when a free holds 0
    (a file whose writer did not know the sizes).
    """

    def __init__(self, n, table, idents=None, domain=False, freed=None):
        self.n = n
        self.pos = 0
        self.table = table
        self.idents = idents
        self.freed = freed
        self.zero_free = False
        names = list(COLUMNS)
        if domain:
            names.append('domain')
        if idents is not None:
            names.append('thread')
        self.cols = {name: numpy.empty(n, dtype=numpy.int64
                                       if name in _INT_COLUMNS else object)
                     for name in names}
        self.memclass = (numpy.zeros(n, dtype=numpy.uint8)
                         if freed else None)

    def _grow(self, need):
        """Room for *need* events (more than the count announced)."""
        n = max(need, 2 * self.n)
        for name, col in self.cols.items():
            new = numpy.empty(n, dtype=col.dtype)
            new[:self.pos] = col[:self.pos]
            self.cols[name] = new
        if self.memclass is not None:
            new = numpy.zeros(n, dtype=numpy.uint8)
            new[:self.pos] = self.memclass[:self.pos]
            self.memclass = new
        self.n = n

    def add(self, block, thread=None):
        """The events *block* (int64 (k, 6)), of thread indices *thread*."""
        k = block.shape[0]
        lo, hi = self.pos, self.pos + k
        if hi > self.n:
            self._grow(hi)
        c, table = self.cols, self.table
        ev = block[:, 2]
        mem = ev >= 1000
        c['time'][lo:hi] = block[:, 3]
        numpy.multiply(block[:, 4], mem, out=c['value1'][lo:hi])
        numpy.multiply(block[:, 5], mem, out=c['value2'][lo:hi])
        if self.memclass is not None:
            free = ev >= 1003
            numpy.add(mem, free, out=self.memclass[lo:hi], dtype=numpy.uint8)
            if not self.zero_free:
                self.zero_free = bool((free & (block[:, 5] == 0)).any())
        fidx = table.index(block[:, 0])
        aidx = table.index(block[:, 1])
        is_c = ((ev >= 3) & (ev <= 4)) | (ev == 6)
        # The caller: for Python events the calling code, for builtins
        # the Python function that called them; nothing for the others.
        from_idx = numpy.where((ev >= 1) & (ev <= 6), aidx, 0)
        codes = numpy.clip(ev, 0, EVENT_NAMES.shape[0] - 1)
        numpy.take(EVENT_NAMES, codes, out=c['event'][lo:hi], mode='clip')
        numpy.take(table.name, fidx, out=c['name'][lo:hi], mode='clip')
        numpy.take(table.mod, fidx, out=c['mod'][lo:hi], mode='clip')
        numpy.copyto(c['lineno'][lo:hi], table.first[fidx])
        numpy.copyto(c['lineno'][lo:hi], table.first[aidx], where=is_c)
        numpy.take(table.name, from_idx, out=c['from_name'][lo:hi],
                   mode='clip')
        numpy.take(table.mod, from_idx, out=c['from_mod'][lo:hi],
                   mode='clip')
        c['from_line'][lo:hi] = table.lines(from_idx, block[:, 4])
        if 'domain' in c:
            c['domain'][lo:hi] = domain_names(ev, block[:, 1])
        if self.idents is not None:
            c['thread'][lo:hi] = self._threads(thread, k)
        self.pos = hi

    def _threads(self, thread, k):
        """
        The ``thread`` column of a block: events of no thread index get
        the first thread, indices past the threads table (a file cut
        before it was complete) ident 0.
        """
        idents = self.idents
        if thread is None:
            return numpy.full(k, idents[0], dtype=numpy.int64)
        index = numpy.where(thread == NO_THREAD, 0, thread)
        known = index < idents.size
        out = idents[numpy.where(known, index, 0)]
        out[~known] = 0
        return out

    def finish(self):
        """The columns, as a dict in the frame's order."""
        n = self.pos
        cols = self.cols
        if n < self.n:
            cols = {name: col[:n] for name, col in cols.items()}
        if self.freed is True or (self.freed == 'zero' and self.zero_free):
            fill_freed(cols['value1'], cols['value2'], self.memclass[:n])
        self.memclass = None
        return cols
