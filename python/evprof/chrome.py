"""
The timeline as Chrome Trace Event JSON, for Perfetto (ui.perfetto.dev:
Open trace file) and chrome://tracing (Load).

* one track per thread (``ph: M`` ``thread_name`` metadata);
* one complete event (``ph: X``, ``ts`` and ``dur`` in microseconds,
  ``ts`` from the first event, whose time in ns is ``otherData.t0_ns``, as
  the library's sink writes it from its own origin) per Python or builtin
  call, nested by time on its thread's track (slices of
  :func:`evprof.timeline.slices`, so unbalanced timelines still nest),
  named by the function's name, its category saying where it is
  (``file.py:LINE``, or the module of a builtin);
* a counter track ``memory`` (``ph: C``) with the bytes in use over time,
  from the allocation events;
* instant markers (``ph: i``) where the profiler started and stopped.

The text is written as it is made, a few thousand events at a time: the
events are never held as one dict each.
"""
import json
import os

import numpy

from .timeline import bytes_in_use, check_frame, function_ids, slices

CHUNK = 20000
_MARKERS = {'profiler_start': 'profiler start',
            'profiler_sort': 'profiler stop'}


def _us(ns):
    """ns (int) as a JSON number of microseconds, exact to the ns."""
    ns = int(ns)
    sign = '-' if ns < 0 else ''
    ns = abs(ns)
    return '%s%d.%03d' % (sign, ns // 1000, ns % 1000)


def _where(mod, line, builtin):
    """
    The category of a function's slices: FILE:LINE, the module of a
    builtin, else "builtin".  Slices carry no args, so that viewers keying
    frames by name and args (speedscope) label them with the name alone.
    """
    if not mod:
        return 'builtin' if builtin else 'python'
    return '%s:%d' % (mod, line) if line >= 0 else str(mod)


def _dumps(value):
    return json.dumps(value, ensure_ascii=False)


def write_chrome_trace(df, path, pid=None, thread_names=None,
                       process_name='evprof', progress=None):
    """
    Writes the timeline *df* (the DataFrame of
    :meth:`EventProfiler.retrieve_results`, with or without its ``thread``
    column) to *path* as Trace Event JSON.  Times are relative to the first
    event (its absolute time in ns is ``otherData.t0_ns``).

    :param df: the events
    :param path: the JSON file to write
    :param pid: the process id shown (default: this process)
    :param thread_names: dict thread ident -> name, for the track names
    :param process_name: the name of the process track
    :param progress: called with (done, total) while writing, or None
    :returns: the number of trace events written
    """
    check_frame(df)
    pid = os.getpid() if pid is None else int(pid)
    thread_names = thread_names or {}
    sl = slices(df)
    times = df['time'].to_numpy(numpy.int64)
    t0 = int(times.min()) if times.size else 0
    if 'thread' in df.columns:
        ev_threads = df['thread'].to_numpy(numpy.int64)
    else:
        ev_threads = numpy.zeros(len(df), dtype=numpy.int64)
    # Tracks: threads in order of first event, numbered from 1.
    uniq, first = numpy.unique(ev_threads, return_index=True)
    idents = uniq[numpy.argsort(first)]
    tids = {int(t): i + 1 for i, t in enumerate(idents)}
    mem_t, mem_bytes = bytes_in_use(df)
    events = df['event'].to_numpy(object)
    marks = numpy.flatnonzero(numpy.isin(events, list(_MARKERS)))
    total = len(sl) + mem_t.size + marks.size
    written = 0
    n_counters = 0

    # Names that were not UTF-8 hold lone surrogates: backslashreplace
    # writes them as the JSON escape \udcNN, so the file stays valid JSON
    # and json.load gives the same strings back.
    with open(path, 'w', encoding='utf-8', errors='backslashreplace') as f:
        f.write('{"displayTimeUnit":"ns","otherData":%s,"traceEvents":[\n'
                % _dumps({'producer': 'evprof', 't0_ns': t0,
                          'version': 1}))
        meta = [{'ph': 'M', 'name': 'process_name', 'pid': pid, 'tid': 0,
                 'args': {'name': process_name}}]
        for ident, tid in tids.items():
            name = thread_names.get(ident)
            if name is None:
                name = ('thread %d' % ident if len(tids) > 1 or ident
                        else 'main')
            meta.append({'ph': 'M', 'name': 'thread_name', 'pid': pid,
                         'tid': tid, 'args': {'name': '%s' % name}})
            meta.append({'ph': 'M', 'name': 'thread_sort_index', 'pid': pid,
                         'tid': tid, 'args': {'sort_index': tid}})
        f.write(',\n'.join(_dumps(m) for m in meta))

        # Calls: one prefix string per function, then ts/dur per slice.
        if len(sl):
            fid, table = function_ids(sl['name'], sl['mod'], sl['lineno'])
            builtin = sl['builtin'].to_numpy()
            kind = numpy.zeros(len(table), dtype=bool)
            kind[fid] = builtin
            prefix = ['{"ph":"X","cat":%s,"name":%s,'
                      % (_dumps(_where(mod, line, kind[i])),
                         _dumps(str(name)))
                      for i, (name, mod, line) in enumerate(zip(
                          table['name'], table['mod'], table['lineno']))]
            start = sl['start'].to_numpy(numpy.int64) - t0
            dur = (sl['end'].to_numpy(numpy.int64)
                   - sl['start'].to_numpy(numpy.int64))
            tid_of = {int(t): tids[int(t)] for t in sl['thread'].unique()}
            thr = sl['thread'].to_numpy(numpy.int64)
            for lo in range(0, len(sl), CHUNK):
                hi = min(len(sl), lo + CHUNK)
                tail = '"pid":%d,"tid":%%d,"ts":%%s,"dur":%%s}' % pid
                f.write(',\n')
                f.write(',\n'.join(
                    prefix[k] + tail % (tid_of[t], _us(s), _us(d))
                    for k, t, s, d in zip(fid[lo:hi].tolist(),
                                          thr[lo:hi].tolist(),
                                          start[lo:hi].tolist(),
                                          dur[lo:hi].tolist())))
                written += hi - lo
                if progress is not None:
                    progress(written, total)

        # Bytes in use: the last value at each timestamp.
        if mem_t.size:
            last = numpy.r_[mem_t[1:] != mem_t[:-1], True]
            mt, mb = mem_t[last] - t0, mem_bytes[last]
            head = '{"ph":"C","name":"memory","pid":%d,"tid":0,"ts":' % pid
            for lo in range(0, mt.size, CHUNK):
                f.write(',\n')
                f.write(',\n'.join(
                    '%s%s,"args":{"bytes in use":%d}}' % (head, _us(t), b)
                    for t, b in zip(mt[lo:lo + CHUNK].tolist(),
                                    mb[lo:lo + CHUNK].tolist())))
            written += mem_t.size
            n_counters = mt.size
            if progress is not None:
                progress(written, total)

        for r in marks.tolist():
            f.write(',\n')
            f.write(_dumps({'ph': 'i', 's': 't', 'name': _MARKERS[events[r]],
                            'cat': 'evprof', 'pid': pid,
                            'tid': tids[int(ev_threads[r])]})[:-1]
                    + ',"ts":%s}' % _us(times[r] - t0))
        written += marks.size
        f.write('\n]}\n')
    if progress is not None:
        progress(total, total)
    return len(meta) + len(sl) + n_counters + marks.size
