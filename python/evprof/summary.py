"""
Per-function summary of a timeline: calls, inclusive and exclusive time,
bytes allocated and net bytes, as a DataFrame and as a readable table.

Inclusive time counts a recursive function once (the time of its outermost
frames on each thread), as cProfile's cumulative time does; exclusive time
is a frame's time minus its direct children's.  Allocations are charged to
the Python function running when they happened.
"""
import numpy
import pandas

from .timeline import MEMORY, check_frame, slices

SUMMARY_COLUMNS = ['name', 'mod', 'lineno', 'builtin', 'calls',
                   'inclusive_ns', 'exclusive_ns', 'allocations',
                   'bytes_allocated', 'bytes_net']
#: the allocator domains (lib/evprof/domain.h), then bytes of none known:
#: the library's summary gives a column ``bytes_DOMAIN`` of each
DOMAINS = ('raw', 'mem', 'obj', 'numpy', 'native', 'mmap', 'other')
DOMAIN_COLUMNS = ['bytes_' + d for d in DOMAINS]
_SORT_KEYS = {'inclusive': 'inclusive_ns', 'exclusive': 'exclusive_ns',
              'calls': 'calls', 'bytes': 'bytes_allocated',
              'net': 'bytes_net', 'name': 'name'}
_KEYS = ['name', 'mod', 'lineno']


def summary(df, sort='inclusive'):
    """
    The summary of the timeline *df* (the DataFrame of
    :meth:`EventProfiler.retrieve_results`), one row per function or
    builtin, columns ``name, mod, lineno, builtin, calls, inclusive_ns,
    exclusive_ns, allocations, bytes_allocated, bytes_net`` (builtins have
    lineno -1), sorted by *sort*: ``'inclusive'``, ``'exclusive'``,
    ``'calls'``, ``'bytes'``, ``'net'`` or ``'name'``.
    """
    check_frame(df)
    if sort not in _SORT_KEYS:
        raise ValueError("unknown sort key %r (expected one of %s)"
                         % (sort, ', '.join(sorted(_SORT_KEYS))))
    sl = slices(df)
    dur = (sl['end'] - sl['start']).to_numpy(numpy.int64)
    parent = sl['parent'].to_numpy(numpy.int64)
    child_time = numpy.zeros(len(sl), dtype=numpy.int64)
    has_parent = parent >= 0
    numpy.add.at(child_time, parent[has_parent], dur[has_parent])
    keys = sl[_KEYS].copy()
    keys['mod'] = keys['mod'].where(keys['mod'].notna(), '')
    calls = pandas.DataFrame({
        'builtin': sl['builtin'].to_numpy(),
        'thread': sl['thread'].to_numpy(),
        'start': sl['start'].to_numpy(),
        'end': sl['end'].to_numpy(),
        'dur': dur,
        'excl': dur - child_time})
    calls = pandas.concat([keys.reset_index(drop=True), calls], axis=1)
    # A frame nested in a frame of the same function (recursion) does not
    # add to the inclusive time: sorted by start, a slice is nested when it
    # starts before the latest end seen in its (function, thread) group.
    calls = calls.sort_values(_KEYS + ['thread', 'start', 'dur'],
                              ascending=[True] * 5 + [False],
                              kind='stable')
    grp = calls.groupby(_KEYS + ['thread'], sort=False)
    prev_end = grp['end'].cummax().groupby(
        [calls[k] for k in _KEYS + ['thread']], sort=False).shift(1)
    nested = (prev_end.notna() & (calls['start'] < prev_end)).to_numpy()
    calls['incl'] = numpy.where(nested, 0, calls['dur'].to_numpy())
    per_call = calls.groupby(_KEYS, sort=False).agg(
        builtin=('builtin', 'first'), calls=('dur', 'size'),
        inclusive_ns=('incl', 'sum'), exclusive_ns=('excl', 'sum'))

    mem = df[df['event'].isin(MEMORY)]
    mem = pandas.DataFrame({
        'name': mem['name'].to_numpy(object),
        'mod': mem['mod'].where(mem['mod'].notna(), '').to_numpy(object),
        'lineno': mem['lineno'].to_numpy(numpy.int64),
        'size': mem['value2'].to_numpy(numpy.int64)})
    mem['alloc'] = numpy.where(mem['size'] > 0, mem['size'], 0)
    mem['n'] = (mem['size'] > 0).astype(numpy.int64)
    per_mem = mem.groupby(_KEYS, sort=False).agg(
        allocations=('n', 'sum'), bytes_allocated=('alloc', 'sum'),
        bytes_net=('size', 'sum'))

    out = per_call.join(per_mem, how='outer')
    out = out.reset_index()
    for col in ('calls', 'inclusive_ns', 'exclusive_ns', 'allocations',
                'bytes_allocated', 'bytes_net'):
        out[col] = out[col].fillna(0).astype(numpy.int64)
    out['builtin'] = out['builtin'].fillna(False).astype(bool)
    out['lineno'] = out['lineno'].astype(numpy.int64)
    key = _SORT_KEYS[sort]
    out = out.sort_values([key, 'name'],
                          ascending=[key == 'name', True], kind='stable')
    return out[SUMMARY_COLUMNS].reset_index(drop=True)


_UNESCAPE = {'t': '\t', 'n': '\n', 'r': '\r', '\\': '\\'}


def _tsv_field(text):
    """A field of the summary sink's TSV, its escapes undone."""
    if '\\' not in text:
        return text
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == '\\' and i + 1 < len(text):
            out.append(_UNESCAPE.get(text[i + 1], text[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def from_tsv(path):
    """
    The summary DataFrame (the columns of :func:`summary`, then the bytes
    allocated in each domain, :data:`DOMAIN_COLUMNS`) of the TSV the
    library's ``summary-tsv`` sink wrote into *path*.  Its
    ``attrs['bytes_by_domain']`` is a dict domain -> bytes allocated of
    every row, the domains that allocated something, largest first.
    """
    columns = SUMMARY_COLUMNS + DOMAIN_COLUMNS
    cols = {name: [] for name in columns}
    with open(path, encoding='utf-8', errors='surrogateescape',
              newline='\n') as f:
        header = f.readline().rstrip('\n').split('\t')
        if header != columns:
            raise ValueError("%s: not a summary table (%r)"
                             % (path, header[:3]))
        for line in f:
            fields = line.rstrip('\n').split('\t')
            cols['name'].append(_tsv_field(fields[0]))
            cols['mod'].append(_tsv_field(fields[1]))
            for name, value in zip(columns[2:], fields[2:]):
                cols[name].append(int(value))
    out = pandas.DataFrame({
        'name': numpy.array(cols['name'], dtype=object),
        'mod': numpy.array(cols['mod'], dtype=object),
        'lineno': numpy.array(cols['lineno'], dtype=numpy.int64),
        'builtin': numpy.array(cols['builtin'], dtype=bool)})
    for name in columns[4:]:
        out[name] = numpy.array(cols[name], dtype=numpy.int64)
    out = out[columns]
    totals = [(int(out[c].sum()), d) for c, d in zip(DOMAIN_COLUMNS,
                                                     DOMAINS)]
    out.attrs['bytes_by_domain'] = {
        d: n for n, d in sorted(totals, key=lambda x: -x[0]) if n > 0}
    return out


def _size(n):
    n = int(n)
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if abs(n) < 10240 or unit == 'GiB':
            return '%d %s' % (n, unit) if unit == 'B' else \
                '%.1f %s' % (n, unit)
        n /= 1024.0
    return str(n)  # pragma: no cover


def format_summary(table, limit=30, path_width=40):
    """
    The summary DataFrame *table* (of :func:`summary`) as a text table, its
    first *limit* rows (all when None), times in milliseconds, then the
    bytes allocated by domain when the table has them
    (``attrs['bytes_by_domain']``, from the library's summary).
    """
    rows = table if limit is None else table.head(limit)
    head = ('%8s %12s %12s %10s %11s %11s  %s'
            % ('calls', 'incl (ms)', 'excl (ms)', 'allocs', 'allocated',
               'net', 'function'))
    lines = [head]
    for r in rows.itertuples(index=False):
        mod = r.mod or ''
        if len(mod) > path_width:
            mod = '...' + mod[-(path_width - 3):]
        where = (('%s:%d' % (mod, r.lineno)) if r.lineno >= 0
                 else '%s' % (mod or 'builtin'))
        lines.append('%8d %12.3f %12.3f %10d %11s %11s  %s (%s)'
                     % (r.calls, r.inclusive_ns / 1e6,
                        r.exclusive_ns / 1e6, r.allocations,
                        _size(r.bytes_allocated), _size(r.bytes_net),
                        r.name, where))
    if limit is not None and len(table) > limit:
        lines.append('... %d more functions' % (len(table) - limit))
    by_domain = table.attrs.get('bytes_by_domain')
    if by_domain:
        lines.append('allocated by domain: ' + ', '.join(
            '%s %s' % (d, _size(n)) for d, n in by_domain.items()))
    return '\n'.join(lines)
