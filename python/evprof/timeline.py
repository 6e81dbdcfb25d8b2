"""
From the events of a timeline (the DataFrame of
:meth:`EventProfiler.retrieve_results`) to slices: one slice per function
or builtin call, with its thread, start, end, depth and parent, computed
with a few vectorised numpy passes (no Python call per event).

A ``call`` or ``c_call`` opens a frame, a ``return``, ``c_return`` or
``c_exception`` closes the latest open frame of its thread (``exception``
events close nothing: a Python function that raises still gets its
``return``).  Unbalanced timelines still give well-formed slices: a close
without its open (profiling started inside a call) opens at the first
event of its thread, a frame never closed (profiling stopped inside a
call) ends at the last event of its thread: a thread that started after
the profiler is not drawn as running before it existed.  Slices of one
thread always nest.
"""
import numpy
import pandas

OPENS = ('call', 'c_call')
CLOSES = ('return', 'c_return', 'c_exception')
MEMORY = ('malloc', 'calloc', 'realloc', 'free', 'realloc_free')
BUILTIN_EVENTS = ('c_call', 'c_return', 'c_exception')


def check_frame(df):
    """Raises ValueError unless *df* has the columns of a timeline."""
    if not isinstance(df, pandas.DataFrame):
        raise TypeError("expected a pandas DataFrame of events, not %s"
                        % type(df).__name__)
    missing = [c for c in ('time', 'value2', 'event', 'name', 'mod',
                           'lineno') if c not in df.columns]
    if missing:
        raise ValueError("not a timeline: the DataFrame lacks the column(s) "
                         "%s" % ', '.join(missing))


def event_kinds(event, *kinds):
    """
    For each tuple of event names of *kinds*, whether each event of the
    object array *event* is one of them.
    """
    series = pandas.Series(event, copy=False)
    return [series.isin(kind).to_numpy() for kind in kinds]


def thread_column(df):
    """The thread of each event (0 when the DataFrame has no thread)."""
    if 'thread' in df.columns:
        return df['thread'].to_numpy(numpy.int64)
    return numpy.zeros(len(df), dtype=numpy.int64)


def slices(df):
    """
    The slices of a timeline, as a DataFrame sorted by thread, start and
    depth, with the columns:

    * ``thread``: the thread (as the ``thread`` column, 0 without it)
    * ``start``, ``end``: ns, in the clock of ``time``
    * ``level``: 1 for the outermost frame of its thread
    * ``parent``: the row of the enclosing slice, -1 at level 1
    * ``name``, ``mod``, ``lineno``: of the function (builtins: lineno -1)
    * ``builtin``: True for builtin calls (``c_call``)
    * ``open_row``, ``close_row``: the rows of *df* (positions) that opened
      and closed it, -1 when it was opened or closed by the timeline's ends
    """
    check_frame(df)
    event = df['event'].to_numpy(object)
    is_open, is_close = event_kinds(event, OPENS, CLOSES)
    rows = numpy.flatnonzero(is_open | is_close)
    cols = ['thread', 'start', 'end', 'level', 'parent', 'name', 'mod',
            'lineno', 'builtin', 'open_row', 'close_row']
    if rows.size == 0:
        return pandas.DataFrame({c: [] for c in cols}).astype(
            {'thread': numpy.int64, 'start': numpy.int64,
             'end': numpy.int64, 'level': numpy.int64,
             'parent': numpy.int64, 'lineno': numpy.int64,
             'builtin': bool, 'open_row': numpy.int64,
             'close_row': numpy.int64})
    times = df['time'].to_numpy(numpy.int64)
    thread = thread_column(df)

    # Frame events of each thread, in their order.
    order = rows[numpy.argsort(thread[rows], kind='stable')]
    th = thread[order]
    opens = is_open[order]
    delta = numpy.where(opens, 1, -1)
    cum = numpy.cumsum(delta)
    first_of = numpy.r_[True, th[1:] != th[:-1]]
    group = numpy.cumsum(first_of) - 1
    starts = numpy.flatnonzero(first_of)
    base = (cum - delta)[starts]          # depth before each thread
    depth = cum - base[group]             # depth after each event
    lows = numpy.minimum.reduceat(depth, starts)
    shift = -numpy.minimum(lows, 0)       # missing opens per thread
    ends = numpy.r_[starts[1:], order.size] - 1
    final = depth[ends] + shift           # frames left open per thread
    level = numpy.where(opens, depth, depth + 1) + shift[group]
    seq = numpy.arange(order.size) - starts[group]
    nthreads = starts.size
    uthreads = th[starts]
    t_first, t_last = thread_spans(times, thread, uthreads)

    # Virtual opens (levels 1..shift) and closes (levels final..1).
    vo_group = numpy.repeat(numpy.arange(nthreads), shift)
    vo_level = numpy.arange(vo_group.size) - numpy.repeat(
        numpy.cumsum(shift) - shift, shift) + 1
    vc_group = numpy.repeat(numpy.arange(nthreads), final)
    vc_level = numpy.arange(vc_group.size) - numpy.repeat(
        numpy.cumsum(final) - final, final) + 1

    all_group = numpy.concatenate([group, vo_group, vc_group])
    all_level = numpy.concatenate([level, vo_level, vc_level])
    all_seq = numpy.concatenate([seq, numpy.full(vo_group.size, -1),
                                 numpy.full(vc_group.size, order.size)])
    all_open = numpy.concatenate([opens, numpy.ones(vo_group.size, bool),
                                  numpy.zeros(vc_group.size, bool)])
    all_row = numpy.concatenate([order, numpy.full(vo_group.size, -1),
                                 numpy.full(vc_group.size, -1)])
    all_time = numpy.concatenate([times[order], t_first[vo_group],
                                  t_last[vc_group]])
    srt = numpy.lexsort((all_seq, all_level, all_group))
    o, c = srt[0::2], srt[1::2]
    # Within each (thread, level) the frame events alternate open, close.
    assert all_open[o].all() and not all_open[c].any()

    s_group = all_group[o]
    s_level = all_level[o]
    s_seq = all_seq[o]
    open_row = all_row[o]
    close_row = all_row[c]
    name_row = numpy.where(open_row >= 0, open_row, close_row)

    # Sorted by thread, start, level: the order of output and plots.
    s_start = all_time[o]
    out = numpy.lexsort((s_level, s_seq, s_group))
    s_group, s_level, s_seq = s_group[out], s_level[out], s_seq[out]
    open_row, close_row, name_row = open_row[out], close_row[out], \
        name_row[out]
    s_start, s_end = s_start[out], all_time[c][out]

    # Parent: the latest slice one level up in the same thread that
    # opened before this one.
    span_seq = order.size + 2
    span_level = int(s_level.max()) + 2
    key = ((s_group * span_level + s_level) * span_seq) + (s_seq + 1)
    ksort = numpy.argsort(key, kind='stable')
    skey = key[ksort]
    want = ((s_group * span_level + s_level - 1) * span_seq) + (s_seq + 1)
    pos = numpy.searchsorted(skey, want, side='right') - 1
    posc = numpy.clip(pos, 0, None)
    found = (pos >= 0) & (skey[posc] // span_seq
                          == s_group * span_level + s_level - 1)
    parent = numpy.where(found & (s_level > 1), ksort[posc], -1)

    ev_names = event[name_row]
    builtin = pandas.Series(ev_names).isin(BUILTIN_EVENTS).to_numpy()
    lineno = df['lineno'].to_numpy(numpy.int64)[name_row]
    return pandas.DataFrame({
        'thread': uthreads[s_group],
        'start': s_start,
        'end': s_end,
        'level': s_level,
        'parent': parent,
        'name': df['name'].to_numpy(object)[name_row],
        'mod': df['mod'].to_numpy(object)[name_row],
        'lineno': numpy.where(builtin, -1, lineno),
        'builtin': builtin,
        'open_row': open_row,
        'close_row': close_row,
    }, columns=cols)


def thread_spans(times, thread, threads):
    """
    (first, last): the time of the first and of the last event (of any
    kind) of each of *threads*, from the *times* and *thread* of every
    event.
    """
    if numpy.all(thread == thread[0]):
        # One thread (or no thread column): no grouping needed.
        return (numpy.full(threads.size, times.min()),
                numpy.full(threads.size, times.max()))
    spans = pandas.Series(times).groupby(thread, sort=False).agg(
        ['min', 'max'])
    return (spans['min'].reindex(threads).to_numpy(numpy.int64),
            spans['max'].reindex(threads).to_numpy(numpy.int64))


def function_ids(name, mod, lineno):
    """
    One integer per distinct (name, mod, lineno) and the table of them:
    (ids, DataFrame name, mod, lineno).
    """
    keys = pandas.DataFrame({'name': name, 'mod': mod, 'lineno': lineno})
    keys['mod'] = keys['mod'].where(keys['mod'].notna(), '')
    ids = keys.groupby(['name', 'mod', 'lineno'], sort=False,
                       dropna=False).ngroup().to_numpy()
    table = keys.drop_duplicates().reset_index(drop=True)
    # ngroup numbers groups in order of first appearance with sort=False.
    return ids, table


def bytes_in_use(df):
    """
    (times, bytes) of the memory events in time order: the bytes allocated
    and not freed since the timeline started (blocks older than it are not
    counted when freed).
    """
    check_frame(df)
    mem = df['event'].isin(MEMORY).to_numpy()
    t = df['time'].to_numpy(numpy.int64)[mem]
    v = df['value2'].to_numpy(numpy.int64)[mem]
    order = numpy.argsort(t, kind='stable')
    return t[order], numpy.cumsum(v[order])
