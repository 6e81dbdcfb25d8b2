"""
A picture of a timeline: the calls as a flame chart over time (one band
per thread, depth growing downwards, one colour per function) and, below
it on the same time axis, the bytes in use.  Drawn with matplotlib's Agg
backend: no display needed.
"""
import zlib

import numpy

from .timeline import bytes_in_use, check_frame, function_ids, slices

MAX_LABELS = 200


def plot_timeline(df, path, title=None, width=14.0, height=8.0, dpi=100,
                  max_slices=200000, thread_names=None):
    """
    Draws the timeline *df* (the DataFrame of
    :meth:`EventProfiler.retrieve_results`) into the image *path* (PNG, or
    any format matplotlib knows by the suffix).  At most *max_slices*
    slices are drawn, the longest first (the others are narrower than a
    pixel).  *thread_names* maps thread idents to the names shown.
    Returns the matplotlib figure (closed).
    """
    check_frame(df)
    import matplotlib
    if matplotlib.get_backend().lower() not in ('agg', 'pdf', 'svg', 'ps',
                                                'cairo'):
        matplotlib.use('Agg', force=True)
    from matplotlib import pyplot
    from matplotlib.collections import PolyCollection

    times = df['time'].to_numpy(numpy.int64)
    t0 = int(times.min()) if times.size else 0
    span = max(int(times.max()) - t0, 1) if times.size else 1
    unit, scale = ('s', 1e9) if span > 5e9 else ('ms', 1e6)

    sl = slices(df)
    if len(sl) > max_slices:
        keep = numpy.argsort(-(sl['end'] - sl['start']).to_numpy(),
                             kind='stable')[:max_slices]
        sl = sl.iloc[numpy.sort(keep)]
    fig, (top, bottom) = pyplot.subplots(
        2, 1, sharex=True, figsize=(width, height),
        gridspec_kw={'height_ratios': [3, 1]})
    try:
        threads = sl['thread'].unique() if len(sl) else []
        depth = sl.groupby('thread')['level'].max() if len(sl) else {}
        offset, y = {}, 0
        ticks, labels = [], []
        for t in threads:
            offset[t] = y
            ticks.append(y + 0.5)
            name = (thread_names or {}).get(int(t))
            if name is None:
                name = ('thread %d' % t if len(threads) > 1 or t
                        else 'main')
            labels.append(name)
            y += int(depth[t]) + 1
        if len(sl):
            x0 = (sl['start'].to_numpy(numpy.int64) - t0) / scale
            x1 = (sl['end'].to_numpy(numpy.int64) - t0) / scale
            y0 = (numpy.array([offset[t] for t in sl['thread']])
                  + sl['level'].to_numpy() - 1)
            verts = numpy.stack([numpy.stack([x0, y0], 1),
                                 numpy.stack([x1, y0], 1),
                                 numpy.stack([x1, y0 + 0.9], 1),
                                 numpy.stack([x0, y0 + 0.9], 1)], 1)
            fid, table = function_ids(sl['name'], sl['mod'], sl['lineno'])
            cmap = matplotlib.colormaps['tab20']
            # surrogateescape: names that were not UTF-8 in a trace.
            hues = numpy.array([
                zlib.crc32(('%s %s' % (n, m)).encode('utf-8',
                                                     'surrogateescape')) % 20
                for n, m in zip(table['name'], table['mod'])])
            colors = cmap(hues[fid] / 19.0)
            top.add_collection(PolyCollection(verts, facecolors=colors,
                                              edgecolors='none'))
            widths = x1 - x0
            wide = numpy.flatnonzero(widths > span / scale / 25)
            wide = wide[numpy.argsort(-widths[wide])][:MAX_LABELS]
            names = sl['name'].to_numpy(object)
            for i in wide:
                top.text(x0[i] + widths[i] / 2, y0[i] + 0.45, str(names[i]),
                         ha='center', va='center', fontsize=7,
                         clip_on=True)
        top.set_ylim(max(y, 1), 0)
        top.set_yticks(ticks)
        top.set_yticklabels(labels)
        top.set_ylabel('calls (depth downwards)')
        top.set_title(title or 'evprof timeline: %d calls' % len(sl))

        mt, mb = bytes_in_use(df)
        if mt.size:
            bottom.step(numpy.r_[0, (mt - t0) / scale],
                        numpy.r_[0, mb], where='post', color='tab:red')
            bottom.fill_between(numpy.r_[0, (mt - t0) / scale],
                                numpy.r_[0, mb], step='post',
                                color='tab:red', alpha=0.2)
        else:
            bottom.text(0.5, 0.5, 'no allocation events',
                        transform=bottom.transAxes, ha='center')
        bottom.set_ylabel('bytes in use')
        bottom.set_xlabel('time since the first event (%s)' % unit)
        bottom.set_xlim(0, span / scale)
        fig.tight_layout()
        fig.savefig(path, dpi=dpi)
    finally:
        pyplot.close(fig)
    return fig
