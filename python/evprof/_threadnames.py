"""
The names of the threads a profile saw, those that have ended included:
a thread's ident is reused by the next thread and its name is gone from
:mod:`threading` once it ended, so the :class:`threading.Thread` objects
started while a profiler runs are noted as they start.  ``Thread.start``
stores each thread into ``threading._limbo``, which is made (once) a
``_core.ThreadNotes``, a dict that notes what is stored into it: a store
is no call, so nothing of this enters a timeline.
"""
import threading

from . import _core

# Threads started while a profiler ran: Thread objects, then, once they
# ended, (ident, native_id, name).
_started = []


def install(gate):
    """
    Notes the threads started while the set *gate* is not empty (the
    ``data`` of the WeakSet of the profilers running).  Once a process.
    """
    limbo = getattr(threading, '_limbo', None)
    if type(limbo) is dict:
        with threading._active_limbo_lock:
            threading._limbo = _core.ThreadNotes(_started, gate, limbo)


def _entry(thread):
    return (thread.ident, getattr(thread, 'native_id', None), thread.name)


def known():
    """
    [(ident, native_id, name)] of the threads noted, oldest first, then
    of those alive now (whose names may have changed since).
    """
    out = []
    for i, t in enumerate(list(_started)):
        if isinstance(t, threading.Thread):
            if t.ident is None:
                continue  # not started after all (start() failed)
            if not t.is_alive():
                _started[i] = t = _entry(t)
            else:
                t = _entry(t)
        out.append(t)
    alive = list(threading.enumerate())
    alive.append(threading.main_thread())
    out.extend(_entry(t) for t in alive if t.ident is not None)
    return out


def names_of(threads):
    """
    The name of each thread of *threads* ((ident, native_id, ...) by
    index), None when unknown: matched on ident and native id (the ident
    alone where the native id is unknown: a reused ident would give
    another thread's name).
    """
    both, by_ident = {}, {}
    for ident, native, name in known():
        both[(ident, native or 0)] = name
        by_ident[ident] = name
    out = []
    for entry in threads:
        ident = int(entry[0])
        native = int(entry[1]) if len(entry) > 1 else 0
        name = both.get((ident, native))
        if name is None and not native:
            name = by_ident.get(ident)
        out.append(name)
    return out
