"""
Names of the keys a profiler recorded, without numpy: the event codes, what
a registry entry is called, and the line of a (code, instruction offset).
The recording path and the trace writer use these; :mod:`evprof._report`
spreads them over the events with numpy when a DataFrame is asked for.
"""
import bisect

#: seed-compatible mapping from event name to code
EVENT_MAPPING = {
    'call': 1,
    'return': 2,
    'c_call': 3,
    'c_return': 4,
    'exception': 5,
    'c_exception': 6,
    'profiler_call': 10,
    'profiler_return': 11,
    'profiler_start': 100,
    'profiler_sort': 101,
    'malloc': 1000,
    'calloc': 1001,
    'realloc': 1002,
    'free': 1003,
    'realloc_free': 1004,
}

#: allocation domains by value, as the library's EVPROF_DOMAIN_MAP
#: (lib/evprof/domain.h): id_arg of an allocation event indexes it
DOMAINS = ('raw', 'mem', 'obj', 'numpy', 'native', 'mmap')

CODE_TYPE = type(compile('0', '<evprof>', 'eval'))

#: kinds of the NAMES section (doc/trace-format.md)
KIND_OTHER, KIND_CODE, KIND_BUILTIN, KIND_NATIVE = 0, 1, 2, 3


def line_starts(code):
    """Sorted instruction offsets where lines start, and their lines."""
    starts, lines = [], []
    if hasattr(code, 'co_lines'):
        for start, _end, line in code.co_lines():
            starts.append(start)
            lines.append(code.co_firstlineno if line is None else line)
    else:  # Python < 3.10
        import dis
        for start, line in dis.findlinestarts(code):
            starts.append(start)
            lines.append(line)
    if not starts:
        return [0], [code.co_firstlineno]
    return starts, lines


def describe(obj, clean):
    """(name, module, first line, is code) of a registry entry."""
    if isinstance(obj, CODE_TYPE):
        return obj.co_name, clean(obj.co_filename), obj.co_firstlineno, True
    if isinstance(obj, tuple):  # (qualname, module) of a bound builtin
        return obj[0], obj[1], -1, False
    try:
        name = obj.__qualname__
    except AttributeError:
        name = obj.__class__.__name__
    try:
        mod = obj.__module__
    except AttributeError:
        mod = obj.__class__.__module__
    return name, mod, -1, False


def name_records(registry, base):
    """
    The NAMES records (key, kind, first line, name, module, file) of every
    entry of *registry*, key ``base + 1`` onwards.
    """
    out = []
    for k, obj in enumerate(registry, base + 1):
        name, mod, first, is_code = describe(obj, _same)
        out.append((k, KIND_CODE if is_code else KIND_BUILTIN,
                    first if is_code else 0, name, mod,
                    obj.co_filename if is_code else ''))
    return out


def _same(name):
    return name


def line_records(registry, base, pairs):
    """
    keys, offsets, lines of the (code key, instruction offset) *pairs*:
    the line each call site is on, -1 for a key that is not code.
    """
    tables = {}
    keys, offsets, lines = [], [], []
    for key, off in sorted(pairs):
        line = -1
        i = key - base - 1
        code = registry[i] if 0 <= i < len(registry) else None
        if isinstance(code, CODE_TYPE):
            table = tables.get(key)
            if table is None:
                table = tables[key] = line_starts(code)
            starts, by_start = table
            pos = bisect.bisect_right(starts, off) - 1
            line = (code.co_firstlineno if pos < 0 or off < 0
                    else by_start[pos])
        keys.append(key)
        offsets.append(off)
        lines.append(line)
    return keys, offsets, lines


def thread_keys(threads):
    """
    The value of the DataFrame's ``thread`` column for each thread of a
    profile, by thread index, from its (ident, native_id, ...) entries:
    the thread's ident (:func:`threading.get_ident`), unless an earlier
    thread of the profile had the same (CPython gives the ident of a
    thread that ended to the next one): then its native id
    (:func:`threading.get_native_id`), or, when that is unknown or taken
    too, minus one minus its index.  Each thread gets a value of its own.
    """
    keys, seen = [], set()
    for index, entry in enumerate(threads):
        # Idents are unsigned: as int64 (the column's type), they wrap.
        ident = int(entry[0]) & 0xFFFFFFFFFFFFFFFF
        ident -= (ident >> 63) << 64
        native = int(entry[1]) if len(entry) > 1 else 0
        key = ident
        if key in seen:
            key = native if native and native not in seen else -1 - index
            while key in seen:  # a wrapped ident may be negative too
                key -= 1
        seen.add(key)
        keys.append(key)
    return keys
