"""
The memory panel of :func:`evprof.plot.plot_timeline`: the bytes in use
over time, the total and, when the DataFrame has a ``domain`` column, each
allocation domain stacked.  The events are reduced to one value a pixel
column (the peak of the total in that column, with what each domain held
at that moment), so that the drawing costs the same for a thousand events
or for twenty million.
"""
import numpy
import pandas

from ._names import DOMAINS
from .timeline import MEMORY, check_frame, event_kinds

#: what each domain is, for the legend
DOMAIN_LABELS = {
    'raw': 'raw: PyMem_RawMalloc',
    'mem': 'mem: PyMem_Malloc',
    'obj': 'obj: Python objects',
    'numpy': 'numpy: array data',
    'native': 'native: malloc',
    'mmap': 'mmap: anonymous mmap',
}
DOMAIN_COLORS = {
    'raw': '#9467bd', 'mem': '#ff7f0e', 'obj': '#1f77b4',
    'numpy': '#2ca02c', 'native': '#d62728', 'mmap': '#8c564b',
}
_UNITS = ((1 << 30, 'GiB'), (1 << 20, 'MiB'), (1 << 10, 'KiB'), (1, 'B'))
_STEPS = (0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 20, 25, 50, 100, 200, 250,
          500, 1000)


def byte_unit(top):
    """(bytes, name) of the binary unit to show values up to *top* in."""
    for size, name in _UNITS:
        if top >= size:
            return size, name
    return 1, 'B'


def byte_ticks(top, n=5):
    """Ticks from 0 to at least *top*, at a round number of a unit."""
    size, _ = byte_unit(top)
    want = max(top, 1) / size / n
    step = next((s for s in _STEPS if s >= want), _STEPS[-1])
    step *= size
    if step < 1:
        step = 1
    count = int(numpy.ceil(max(top, 1) / step))
    return numpy.arange(count + 1) * step


def format_bytes(value, unit=None):
    """'1.5 MiB': *value* bytes in *unit* (a (bytes, name) pair) or its own."""
    size, name = unit or byte_unit(abs(value))
    text = '%.2f' % (value / size)
    text = text.rstrip('0').rstrip('.') if '.' in text else text
    return '%s %s' % (text, name)


class BytesFormatter:
    """A matplotlib tick formatter: bytes in one binary unit (KiB, MiB)."""

    def __init__(self, top):
        self.unit = byte_unit(top)

    def __call__(self, value, pos=None):
        return format_bytes(value, self.unit)


def memory_events(df):
    """
    (times, sizes, domains) of the memory events of *df* in time order:
    ``sizes`` positive for allocations, negative for frees; ``domains``
    an array of domain names, or None without a ``domain`` column.
    """
    check_frame(df)
    mem, = event_kinds(df['event'].to_numpy(object), MEMORY)
    mem = numpy.flatnonzero(mem)
    t = df['time'].to_numpy(numpy.int64)[mem]
    v = df['value2'].to_numpy(numpy.int64)[mem]
    d = (df['domain'].to_numpy(object)[mem] if 'domain' in df.columns
         else None)
    if t.size and (t[1:] < t[:-1]).any():  # a trace of per-thread sections
        order = numpy.argsort(t, kind='stable')
        t, v = t[order], v[order]
        d = None if d is None else d[order]
    return t, v, d


def per_column(t, v, d, t0, span, columns):
    """
    The bytes in use reduced to *columns* pixel columns over
    [t0, t0 + span], as steps: (x in ns since *t0*, the highest total of
    each step, the lowest, {domain: bytes it held}).  A column with events
    is a step holding their range (the domains at the peak), followed by
    a step holding the total after its last event until the next column.
    """
    total = numpy.cumsum(v)
    col = ((t - t0) * columns // max(span, 1)).clip(0, columns - 1)
    starts = numpy.flatnonzero(numpy.r_[True, col[1:] != col[:-1]])
    last = numpy.r_[starts[1:], t.size] - 1
    peak = numpy.maximum.reduceat(total, starts)
    low = numpy.minimum.reduceat(total, starts)
    edge = col[starts] * (span / columns)
    x = numpy.r_[0.0, numpy.stack([edge, edge + span / columns],
                                  1).reshape(-1)]

    def steps(inside, after):
        return numpy.r_[0, numpy.stack([inside, after], 1).reshape(-1)]

    stacks = {}
    if d is not None and t.size:
        # The first event of each column where the total is at its peak.
        counts = numpy.diff(numpy.r_[starts, t.size])
        at = numpy.flatnonzero(total == numpy.repeat(peak, counts))
        group = numpy.searchsorted(starts, at, side='right') - 1
        _, first = numpy.unique(group, return_index=True)
        at = at[first]
        codes, names = pandas.factorize(d)
        for k, name in enumerate(names):
            sel = numpy.flatnonzero(codes == k)
            held = numpy.cumsum(v[sel])

            def held_at(i):
                j = numpy.searchsorted(sel, i, side='right') - 1
                return numpy.where(j >= 0, held[j.clip(0)], 0)
            stacks[name] = steps(held_at(at), held_at(last))
    return (x, steps(peak, total[last]), steps(low, total[last]),
            stacks)


def domain_order(names):
    """The domains of *names* in the order of the library's map."""
    known = [n for n in DOMAINS if n in names]
    return known + sorted(str(n) for n in names if n not in DOMAINS)


def draw_memory(ax, df, t0, span, scale, columns, domains=True):
    """
    Draws the bytes in use of *df* into *ax* (x in units of *scale* ns
    since *t0*); returns the legend entries drawn, by label.
    """
    t, v, d = memory_events(df)
    if not domains:
        d = None
    if t.size == 0:
        ax.text(0.5, 0.5, 'no allocation events', transform=ax.transAxes,
                ha='center', va='center', color='#555555')
        ax.set_yticks([])
        return []
    x, peak, low, stacks = per_column(t, v, d, t0, span, columns)
    x = x / scale
    step = 'post'
    entries = []
    if stacks:
        order = domain_order(list(stacks))
        polys = ax.stackplot(x, [stacks[n].clip(0) for n in order],
                             step=step, alpha=0.55,
                             colors=[DOMAIN_COLORS.get(n, '#7f7f7f')
                                     for n in order],
                             labels=[DOMAIN_LABELS.get(n, str(n) or '?')
                                     for n in order])
        entries += [p.get_label() for p in polys]
    if numpy.any(low < peak):
        ax.fill_between(x, low, peak, step=step, color='#000000',
                        alpha=0.15, linewidth=0,
                        label='range within a pixel')
        entries.append('range within a pixel')
    label = 'total in use (peak a pixel)'
    ax.step(x, peak, where=step, color='#000000', linewidth=1.0,
            label=label)
    entries.append(label)
    top = max(int(peak.max()), 1)
    ticks = byte_ticks(top)
    ax.set_yticks(ticks)
    ax.set_ylim(min(0, int(low.min())), ticks[-1])
    ax.yaxis.set_major_formatter(BytesFormatter(top))
    ax.legend(loc='upper left', bbox_to_anchor=(1.01, 1.0), fontsize=8,
              frameon=False, title='bytes in use', title_fontsize=8,
              alignment='left')
    return entries
