"""
The module-level functions of cpyquickhelper's ``_event_profiler_c``
(``_profiling_start``, ``_profiling_log_event``, ``_profiling_delete``,
``_profiling_stop``, ...), on evprof's C core, so that code written against
the seed's documented example (measuring the cost of logging with the C
API) keeps working::

    from evprof._event_profiler_c import (
        _profiling_start, _profiling_stop, _profiling_log_event,
        _profiling_delete)

    _profiling_start(10000000, True)
    _profiling_log_event(inspect.currentframe(), 'call', None)
    _profiling_delete()
    _profiling_stop()

One profiler at a time lives in this module, as in the seed.  Unlike the
seed, no frame or argument is kept alive (only code objects and builtins),
and the buffer never fills: it grows by chunks of *size* events, so no
callback is ever needed to empty it.
"""
import array
import ctypes
import operator

from . import _core

__all__ = ['_profiling_start', '_profiling_stop', '_profiling_n_columns',
           '_profiling_log_event', '_profiling_delete',
           '_profiling_get_saved_maps', '_profiling_dump_and_clear',
           '_profiling_register_pyinstance']

# [profiler, registered instance]; the profiler is None when not started.
_state = [None, None]


def _running():
    prof = _state[0]
    if prof is None:
        raise RuntimeError("CEventProfiler not started.")
    return prof


def _profiling_start(size, debug):
    """
    Starts the module's profiler: a buffer of chunks of *size* events
    (at least 20, as in the seed) and the memory hooks.  It installs no
    profile function: events come from :func:`_profiling_log_event`.

    :param size: events a chunk (int >= 20)
    :param debug: unused (the seed's second argument)
    """
    try:
        size = operator.index(size)
        operator.index(debug)
    except TypeError:
        raise TypeError("Unable to decode the parameters. (int, bool) are "
                        "expected.") from None
    if _state[0] is not None:
        raise RuntimeError("CEventProfiler already started.")
    if size < 20:
        raise RuntimeError("CEventProfiler cannot start, size must >= 20.")
    prof = _core.Profiler(size)
    prof.set_active(True)
    try:
        prof.memory_start()
    except BaseException:
        prof.set_active(False)
        raise
    _state[0] = prof


def _profiling_stop():
    """
    Stops the module's profiler, removes the memory hooks and drops the
    events still held.  The seed refused to stop while events were held;
    here the allocations logged between :func:`_profiling_delete` and this
    call (every PyMem domain is hooked) would make that check fail at
    random, so what remains is dropped instead.
    """
    prof = _running()
    prof.memory_stop()
    prof.set_active(False)
    _state[0] = None
    _state[1] = None


def _profiling_n_columns():
    """Number of int64 stored per event (6)."""
    return _core.N_COLUMNS


def _profiling_log_event(frame, event, arg):
    """
    Logs an event (the signature of a :func:`sys.setprofile` function).

    :param frame: the frame of the event
    :param event: ``'call'``, ``'return'``, ``'c_call'``, ...
    :param arg: the builtin for ``c_*`` events
    """
    prof = _state[0]
    if prof is None:
        raise RuntimeError("CEventProfiler not started.")
    prof.c_log_event(frame, event, arg)


def _profiling_delete():
    """
    Drops the events held and the references to Python objects (code
    objects, builtins) the profiler holds.
    """
    prof = _running()
    prof.memory_stop()
    try:
        prof.set_active(False)
        prof.reset()
        prof.set_active(True)
    finally:
        prof.memory_start()
    _state[1] = None


def _profiling_get_saved_maps():
    """
    Two dictionaries from the keys stored in the raw events (``id_frame``,
    ``id_arg``) to the Python objects they stand for: code objects and
    builtins (never frames).
    """
    prof = _running()
    base = prof.key_base()
    keys = {base + i: obj for i, obj in enumerate(prof.registry(), 1)}
    return keys, dict(keys)


def _profiling_dump_and_clear(ptr, size, lock):
    """
    Moves the events held into the int64 buffer at address *ptr*
    (``array.__array_interface__['data'][0]``) of *size* int64 items,
    oldest first, and returns how many events were moved (at most
    ``size // 6``; the others stay for the next call).

    :param ptr: address of a writable C-contiguous int64 buffer
    :param size: its number of int64 items
    :param lock: unused (the buffer is always safe to dump)
    """
    prof = _running()
    try:
        ptr = operator.index(ptr)
        size = operator.index(size)
    except TypeError:
        raise TypeError("Unable to decode the parameters. "
                        "(void*, int64_t, bool) are expected.") from None
    rows = max(size, 0) // _core.N_COLUMNS
    if rows == 0:
        return 0
    if ptr == 0:
        raise ValueError("null buffer")
    raw = (ctypes.c_int64 * (rows * _core.N_COLUMNS)).from_address(ptr)
    # No numpy: the ctypes array is the int64 buffer dump() fills.
    index = array.array('I', bytes(4 * rows))
    return prof.dump(raw, index)


def _profiling_register_pyinstance(obj):
    """
    Registers the object the seed called back (``obj._empty_cache()``)
    when its buffer was full.  Kept for compatibility: evprof's buffer
    grows and never needs it.
    """
    _running()
    _state[1] = obj
