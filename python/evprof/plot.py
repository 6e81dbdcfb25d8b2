"""
A picture of a timeline: the calls as a flame chart over time (a band of
rows per thread, in the order the threads started, depth growing
downwards, one colour per source file) and, below it on the same time
axis, the bytes in use (the total, and each allocation domain when the
DataFrame has a ``domain`` column).  Drawn with matplotlib's Agg backend:
no display needed.

The figure grows with what it shows (rows of a readable height, up to
:data:`MAX_ROWS` of them), and what is drawn is bounded by its pixels,
not by the events (see :mod:`evprof._plot_calls`,
:mod:`evprof._plot_memory`): twenty million events make a picture as
quickly as the slices are computed.
"""
import numpy

from ._plot_calls import color_classes, draw_calls, layout
from ._plot_memory import draw_memory
from .timeline import check_frame, slices

#: rows of calls at most (deeper calls are cut, the threads sharing them)
MAX_ROWS = 150
#: height of a row of calls, pixels
ROW_PX = 14
# Fixed parts of the figure, inches.
_LEFT, _RIGHT, _TOP, _GAP, _MEMORY, _BOTTOM = 1.8, 2.9, 0.95, 0.3, 1.9, 0.6
# Events of the profiler's own: the start and stop of a run.
_MARKERS = ('profiler_start', 'profiler_sort')


def time_unit(span_ns):
    """(name, ns) of the unit of the time axis for a span of *span_ns*."""
    if span_ns >= 5e9:
        return 's', 1e9
    if span_ns >= 5e6:
        return 'ms', 1e6
    return '\u00b5s', 1e3


def _duration(ns):
    """*ns* nanoseconds in s, ms, \u00b5s or ns, three digits or more."""
    for unit, size in (('s', 1e9), ('ms', 1e6), ('\u00b5s', 1e3)):
        if ns >= size:
            value = ns / size
            return ('%.3g %s' % (value, unit) if value < 1000
                    else '{:,.0f} {}'.format(value, unit))
    return '%d ns' % ns


def _count(n):
    return '{:,}'.format(int(n))


def plot_timeline(df, path, title=None, width=14.0, height=None, dpi=100,
                  max_slices=200000, thread_names=None, domains=True,
                  max_rows=MAX_ROWS):
    """
    Draws the timeline *df* (the DataFrame of
    :meth:`EventProfiler.retrieve_results`, with ``thread=True`` for a
    band per thread and ``domain=True`` for the memory of each domain)
    into the image *path* (PNG, or any format matplotlib knows by the
    suffix).

    :param title: the first line of the title (default: "evprof timeline")
    :param width: inches; the height follows the rows drawn unless
        *height* (inches) is given
    :param max_slices: calls drawn as rectangles at most (the widest); the
        others, and every call under a pixel wide, are counted into a
        raster of their row
    :param thread_names: dict thread ident -> name shown, for the threads
        that ``df.attrs['thread_names']`` (filled by retrieve_results and
        load) does not name
    :param domains: stack the bytes in use of each allocation domain
        (when *df* has a ``domain`` column)
    :param max_rows: rows of calls at most: deeper levels are not drawn
        (the title says so)
    :returns: the matplotlib figure (closed): its axes labelled
        ``'calls'`` and ``'memory'``, and ``fig.evprof``, a dict of what
        was drawn (``rows``, ``row_px``, ``rectangles``, ``labels``,
        ``threads``)
    """
    check_frame(df)
    import matplotlib
    if matplotlib.get_backend().lower() not in ('agg', 'pdf', 'svg', 'ps',
                                                'cairo'):
        matplotlib.use('Agg', force=True)
    from matplotlib import pyplot
    from matplotlib.patches import Patch

    # The names the DataFrame carries are of its threads; those given
    # (by ident) name the others, but not a thread known to have shared
    # its ident (None): that name would be another thread's.
    names = dict(thread_names or {})
    for key, name in (getattr(df, 'attrs', {}).get('thread_names')
                      or {}).items():
        if name is None:
            names.pop(key, None)
        else:
            names[key] = name
    # The time axis spans the program's events: the markers of a run's
    # start and stop are left out, as the start is followed by a few
    # milliseconds of the profiler's own (its allocator hooks going in)
    # that would open the picture with an empty stretch.
    times = df['time'].to_numpy(numpy.int64)
    program = ~df['event'].isin(_MARKERS).to_numpy()
    if program.any():
        times = times[program]
    t0 = int(times.min()) if times.size else 0
    span = max(int(times.max()) - t0, 1) if times.size else 1
    unit, scale = time_unit(span)
    sl = slices(df)
    lay = layout(df, sl, names, max_rows)
    classes = color_classes(sl) if len(sl) else (None, [], [])

    axes_w = max(width - _LEFT - _RIGHT, 2.0)
    columns = max(int(axes_w * dpi), 16)
    fixed = _TOP + _GAP + _MEMORY + _BOTTOM
    if height is None:
        # Tall enough for its legend (a line an entry, and the title).
        calls_h = max(lay.rows * ROW_PX / dpi,
                      0.155 * (len(classes[2]) + 3.5), 0.8)
        height = fixed + calls_h
    else:
        calls_h = max(height - fixed, 0.5)
    row_px = calls_h * dpi / lay.rows
    fig = pyplot.figure(figsize=(width, height), dpi=dpi)
    try:
        def box(bottom, h):
            return [_LEFT / width, bottom / height, axes_w / width,
                    h / height]
        mem = fig.add_axes(box(_BOTTOM, _MEMORY), label='memory')
        top = fig.add_axes(box(_BOTTOM + _MEMORY + _GAP, calls_h),
                           label='calls', sharex=mem)
        entries, drawn, written = draw_calls(
            top, sl, lay, classes, t0, span, scale, columns, row_px,
            max_slices)
        top.set_ylim(lay.rows - 0.5, -0.5)
        top.set_yticks([lay.offset[t] + (lay.shown[t] - 1) / 2
                        for t in lay.threads])
        top.set_yticklabels(lay.labels, fontsize=9)
        top.tick_params(axis='y', length=0)
        top.tick_params(axis='x', labelbottom=False)
        top.set_ylabel('calls by thread (deeper lower)', fontsize=9)
        if entries:
            top.legend(handles=[Patch(facecolor=c, label=lab)
                                for lab, c in entries],
                       loc='upper left', bbox_to_anchor=(1.01, 1.0),
                       fontsize=8, frameon=False, title='time by file',
                       title_fontsize=8, alignment='left')
        draw_memory(mem, df, t0, span, scale, columns, domains)
        mem.set_xlim(0, span / scale)
        mem.set_xlabel("time since the program's first event (%s), "
                       "profiling overhead included" % unit, fontsize=9)
        mem.tick_params(labelsize=8)

        ncalls = len(sl)
        notes = ['%s events' % _count(len(df)), '%s calls' % _count(ncalls),
                 '%d thread%s' % (len(lay.threads),
                                  '' if len(lay.threads) == 1 else 's'),
                 _duration(span)]
        cut = [t for t in lay.threads if lay.shown[t] < lay.depth[t]]
        if cut:
            notes.append('calls deeper than %d levels not drawn'
                         % min(lay.shown[t] for t in cut))
        if lay.hidden:
            notes.append('%d more threads not drawn' % lay.hidden)
        if lay.no_calls:
            notes.append('%d thread%s with no call (allocations only)'
                         % (lay.no_calls, '' if lay.no_calls == 1 else 's'))
        fig.text(_LEFT / width, 1 - 0.12 / height,
                 title or 'evprof timeline', fontsize=12,
                 fontweight='bold', va='top')
        fig.text(_LEFT / width, 1 - 0.42 / height,
                 'Every call on a wall-clock axis, a band of rows a thread '
                 '(in start order); below, the bytes in use. Times include '
                 'the profiler\'s overhead.', fontsize=8.5, va='top')
        fig.text(_LEFT / width, 1 - 0.62 / height, '; '.join(notes),
                 fontsize=8.5, va='top', color='#444444')
        fig.savefig(path, dpi=dpi)
    finally:
        pyplot.close(fig)
    fig.evprof = {'rows': lay.rows, 'row_px': row_px, 'rectangles': drawn,
                  'labels': written, 'threads': list(lay.labels)}
    return fig
