"""
The calls panel of :func:`evprof.plot.plot_timeline`: a flame chart over
time, one band of rows per thread (in the order the threads started, the
main thread first), depth growing downwards, one colour per source file.

What is drawn is bounded by the pixels, not by the events: a call at
least a pixel wide is a rectangle (a row holds at most one such call a
pixel), the shorter ones of a row are counted into a raster of the
row's pixels, and a name is written only where it fits.
"""
import numpy
import pandas

from .timeline import thread_column, thread_spans

#: colours of the source files that took the most time, then of the rest
FILE_COLORS = ('#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd',
               '#8c564b', '#e377c2', '#bcbd22', '#17becf', '#aec7e8',
               '#ffbb78', '#98df8a')
BUILTIN_COLOR = '#a0a0a0'
OTHER_COLOR = '#d8d8d8'
SHORT_COLOR = '#c9d9ea'
MAX_LABELS = 600
#: the width of a character of the labels, in points a point of size
CHAR_WIDTH = 0.62


class Layout:
    """
    The rows of the calls panel.

    :ivar threads: thread values (of the ``thread`` column) drawn, in order
    :ivar labels: their names
    :ivar offset: dict thread -> its first row
    :ivar shown: dict thread -> levels drawn
    :ivar depth: dict thread -> levels it has
    :ivar rows: rows in all (a blank row between two threads)
    :ivar hidden: threads with calls that could not be drawn
    :ivar no_calls: threads with events but no call
    """


def thread_label(ident, names, nthreads):
    """The name shown for thread *ident*."""
    name = (names or {}).get(int(ident))
    if name is None:
        name = 'thread %d' % ident if nthreads > 1 or ident else 'main'
    name = str(name)
    return name if len(name) <= 24 else name[:23] + '\u2026'


def layout(df, sl, names, max_rows, max_threads=64):
    """The :class:`Layout` of the slices *sl* of *df*."""
    lay = Layout()
    times = df['time'].to_numpy(numpy.int64)
    thread = thread_column(df)
    every = pandas.unique(thread) if thread.size else numpy.empty(0, int)
    with_calls = (pandas.unique(sl['thread'].to_numpy(numpy.int64))
                  if len(sl) else numpy.empty(0, numpy.int64))
    lay.no_calls = len(every) - len(with_calls)
    first, _ = (thread_spans(times, thread, with_calls) if len(with_calls)
                else (numpy.empty(0, numpy.int64), None))
    label = {int(t): thread_label(t, names, len(every)) for t in with_calls}
    # Start order, the main thread first.
    order = sorted(range(len(with_calls)), key=lambda i: (
        label[int(with_calls[i])] != 'MainThread', int(first[i]),
        int(with_calls[i])))
    threads = [int(with_calls[i]) for i in order]
    lay.hidden = max(0, len(threads) - max_threads)
    threads = threads[:max_threads]
    depth = (sl.groupby('thread')['level'].max().to_dict() if len(sl)
             else {})
    lay.depth = {t: int(depth[t]) for t in threads}
    lay.shown = _allot(lay.depth, threads, max_rows)
    lay.offset, y = {}, 0
    for t in threads:
        lay.offset[t] = y
        y += lay.shown[t] + 1
    lay.rows = max(y - 1, 1)
    lay.threads = threads
    lay.labels = [label[t] for t in threads]
    return lay


def _allot(depth, threads, max_rows):
    """Levels drawn a thread: all, or a common cap so that all fit."""
    if sum(depth[t] for t in threads) + len(threads) - 1 <= max_rows:
        return dict(depth)
    room = max(max_rows - (len(threads) - 1), len(threads) * 3)
    lo, hi = 3, max(depth.values())
    while lo < hi:  # the largest cap that fits
        mid = (lo + hi + 1) // 2
        if sum(min(depth[t], mid) for t in threads) <= room:
            lo = mid
        else:
            hi = mid - 1
    return {t: min(depth[t], lo) for t in threads}


def short_path(path):
    """A file name short enough for a legend: its last components."""
    path = str(path)
    for mark in ('site-packages/', 'dist-packages/', 'lib/python3'):
        i = path.rfind(mark)
        if i >= 0:
            path = path[i + len(mark):]
            if mark == 'lib/python3':
                path = path.split('/', 1)[-1]
            break
    # Whole components from the right, as many as fit.
    parts = [p for p in path.split('/') if p]
    out = parts[-1] if parts else path
    for part in reversed(parts[:-1][-2:]):
        if len(part) + 1 + len(out) > 30:
            break
        out = part + '/' + out
    return out if len(out) <= 30 else '\u2026' + out[-29:]


def color_classes(sl, top=len(FILE_COLORS)):
    """
    (colour of each slice as an index into the palette, the palette,
    legend entries [(label, colour)]): the source files that took the
    most exclusive time get a colour each, builtins one, the other files
    another.
    """
    n = len(sl)
    dur = (sl['end'].to_numpy(numpy.int64)
           - sl['start'].to_numpy(numpy.int64)).astype(numpy.float64)
    parent = sl['parent'].to_numpy(numpy.int64)
    has = parent >= 0
    child = numpy.bincount(parent[has], weights=dur[has], minlength=n)
    own = (dur - child).clip(0)
    builtin = sl['builtin'].to_numpy(bool)
    mods = sl['mod'].to_numpy(object).copy()
    mods[builtin] = None
    codes, uniq = pandas.factorize(mods)  # builtins: -1
    weight = numpy.bincount(codes[codes >= 0], weights=own[codes >= 0],
                            minlength=len(uniq))
    total = own.sum() or 1.0
    best = numpy.argsort(-weight, kind='stable')[:top]
    best = best[weight[best] > 0]
    palette = numpy.array([OTHER_COLOR] * (len(uniq) + 1), dtype=object)
    entries = []
    # A file of less than half a percent is not worth a colour.
    best = best[weight[best] >= total / 200]
    for k, u in enumerate(best):
        palette[u] = FILE_COLORS[k]
        entries.append((_share(weight[u], total) + short_path(uniq[u]),
                        FILE_COLORS[k]))
    if len(uniq) > len(best):
        rest = weight.sum() - weight[best].sum()
        entries.append((_share(rest, total) + 'other files', OTHER_COLOR))
    palette[-1] = BUILTIN_COLOR  # codes -1: the last
    if builtin.any():
        entries.append((_share(own[builtin].sum(), total) + 'builtins (C)',
                        BUILTIN_COLOR))
    return numpy.where(codes < 0, len(uniq), codes), list(palette), entries


def _share(part, total):
    """'12%  ': the share of *part*, the start of a legend entry."""
    pct = 100.0 * part / total
    return ('%3.0f%%  ' % pct) if pct >= 1 else ' <1%  '


def draw_calls(ax, sl, lay, classes, t0, span, scale, columns, row_px,
               max_slices):
    """
    Draws the slices *sl* laid out by *lay* into *ax* (x in units of
    *scale* ns since *t0*, *columns* pixels wide, rows *row_px* pixels
    high), coloured by *classes* (of :func:`color_classes`).  Returns
    (legend entries, rectangles drawn, labels written).
    """
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import to_rgba_array

    for k, t in enumerate(lay.threads):
        if k % 2:
            ax.axhspan(lay.offset[t] - 0.5, lay.offset[t] + lay.shown[t]
                       - 0.5, color='#f2f2f2', zorder=0, linewidth=0)
    if not len(sl) or not lay.threads:
        ax.text(0.5, 0.5, 'no call events', transform=ax.transAxes,
                ha='center', va='center', color='#555555')
        return [], 0, 0
    colors, palette, entries = classes
    entries = list(entries)
    thread = sl['thread'].to_numpy(numpy.int64)
    level = sl['level'].to_numpy(numpy.int64)
    which = pandas.Index(lay.threads).get_indexer(thread)  # -1: hidden
    known = which >= 0
    offs = numpy.array([lay.offset[t] for t in lay.threads])[which]
    caps = numpy.array([lay.shown[t] for t in lay.threads])[which]
    keep = numpy.flatnonzero(known & (level <= caps))
    per_px = columns / max(span, 1)
    start = sl['start'].to_numpy(numpy.int64)[keep] - t0
    end = sl['end'].to_numpy(numpy.int64)[keep] - t0
    width_px = (end - start) * per_px
    row = offs[keep] + level[keep] - 1
    wide = numpy.flatnonzero(width_px >= 1.0)
    if wide.size > max_slices:
        wide = wide[numpy.argpartition(-width_px[wide], max_slices)
                    [:max_slices]]
    narrow = numpy.ones(keep.size, dtype=bool)
    narrow[wide] = False
    narrow = numpy.flatnonzero(narrow)

    # Calls shorter than a pixel: each pixel of a row they touch takes
    # the colour of the longest of them.
    if narrow.size:
        px = (start[narrow] * per_px).astype(numpy.int64).clip(0,
                                                               columns - 1)
        cell = row[narrow] * columns + px
        by_width = numpy.argsort(width_px[narrow], kind='stable')
        owner = numpy.full(lay.rows * columns, -1, dtype=numpy.int64)
        owner[cell[by_width]] = colors[keep[narrow]][by_width]
        rgba = numpy.zeros((lay.rows * columns, 4))
        drawn = owner >= 0
        rgba[drawn] = to_rgba_array(palette)[owner[drawn]]
        rgba[drawn, 3] = 0.7
        ax.imshow(rgba.reshape(lay.rows, columns, 4), aspect='auto',
                  interpolation='nearest',
                  extent=(0, span / scale, lay.rows - 0.5, -0.5), zorder=1)
        entries.append(('calls under a pixel wide: paler', SHORT_COLOR))

    x0 = start[wide] / scale
    x1 = end[wide] / scale
    y0 = row[wide] - 0.45
    y1 = row[wide] + 0.45
    verts = numpy.stack([numpy.stack([x0, y0], 1), numpy.stack([x1, y0], 1),
                         numpy.stack([x1, y1], 1), numpy.stack([x0, y1], 1)],
                        1)
    fc = to_rgba_array(palette)[colors[keep[wide]]]
    ax.add_collection(PolyCollection(
        verts, facecolors=fc, edgecolors='#ffffff',
        linewidths=numpy.where(width_px[wide] > 4, 0.4, 0.0), zorder=2))
    written = _labels(ax, sl['name'].to_numpy(object)[keep[wide]], x0, x1,
                      row[wide], width_px[wide], row_px)
    return entries, int(wide.size), written


def _labels(ax, names, x0, x1, row, width_px, row_px, fontsize=7):
    """Writes the names that fit in their rectangles, widest first."""
    if row_px < fontsize * 1.25 or not names.size:
        return 0
    dpi = ax.figure.dpi
    char_px = CHAR_WIDTH * fontsize * dpi / 72.0
    fits = ((width_px - 4) / char_px).astype(numpy.int64)
    cand = numpy.flatnonzero(fits >= 3)
    cand = cand[numpy.argsort(-width_px[cand], kind='stable')][:MAX_LABELS]
    n = 0
    for i in cand:
        name = str(names[i])
        if not name:
            continue
        k = int(fits[i])
        if len(name) > k:
            name = name[:k - 1] + '\u2026'
        ax.text((x0[i] + x1[i]) / 2, row[i], name, ha='center',
                va='center', fontsize=fontsize, clip_on=True, zorder=3)
        n += 1
    return n
