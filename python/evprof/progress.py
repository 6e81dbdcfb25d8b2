"""
A tiny progress bar on stderr, shown only when stderr is a terminal (so
logs, pipes and tests never see it)::

    bar = Progress('writing trace.json')
    for done in ...:
        bar(done, total)
    bar.close()
"""
import sys
import time


class Progress:
    """
    Callable ``bar(done, total)``; draws at most ten times a second, and
    only after *delay* seconds (short writes show nothing).
    """

    def __init__(self, label, stream=None, width=30, delay=0.5):
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.width = width
        try:
            self.enabled = self.stream.isatty()
        except (AttributeError, ValueError):
            self.enabled = False
        self.begin = time.monotonic()
        self.delay = delay
        self.last = 0.0
        self.drawn = False
        self.total = None

    def __call__(self, done, total=None):
        if total is not None:
            self.total = total
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.begin < self.delay or now - self.last < 0.1:
            return
        self.last = now
        if self.total:
            frac = min(1.0, done / float(self.total))
            fill = int(frac * self.width)
            text = '\r%s [%s%s] %3d%%' % (self.label, '#' * fill,
                                          '.' * (self.width - fill),
                                          int(frac * 100))
        else:
            text = '\r%s: %d' % (self.label, done)
        self.stream.write(text)
        self.stream.flush()
        self.drawn = True

    def close(self):
        """Erases the bar (if it was drawn)."""
        if self.drawn:
            self.stream.write('\r\x1b[K')
            self.stream.flush()
            self.drawn = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
