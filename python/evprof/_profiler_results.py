"""
The reading half of EventProfiler (python/evprof/profiler.py): the events
of its runs, where the C buffer holds them or moved out into numpy arrays
(the seed's cache), as raw rows or as the DataFrame of retrieve_results.
"""
from . import _core
from ._profiler_state import _FRAME_BLOCK, _need


def _identity(name):
    return name


class Results:
    """What an EventProfiler reads its events with (a mixin)."""

    def _empty_cache(self):
        """
        Moves the events held by the C buffer into numpy arrays appended
        to :attr:`_events` (the seed's cache).  Returns how many were moved.
        """
        if self._copy_cache:
            raise RuntimeError(  # pragma: no cover
                "Profiling cache being copied.")
        return self._move(self._buffer.count())

    def _move(self, n):
        """Moves the *n* oldest events of the C buffer into _moved."""
        if n <= 0:
            return 0
        numpy = _need('numpy', 'reading the events as arrays')
        events = numpy.empty((n, _core.N_COLUMNS), dtype=numpy.int64)
        index = numpy.empty(n, dtype=numpy.uint32)
        # A chunk's worth at a time: each step frees the chunks it
        # emptied, so that the events are held once, not twice.  Each
        # move and its append are one C call: a signal handler that
        # empties the cache too cannot interleave with it.
        step = max(self._size, _FRAME_BLOCK)
        done = 0
        while done < n:
            got = self._buffer.dump(events[done:done + step],
                                    index[done:done + step],
                                    self._moved, self._moved_threads)
            if got == 0:
                break
            done += got
        self._closed = max(0, self._closed - done)
        return done

    def _gather(self, everything, threads=False):
        """
        The events of a report, oldest first, as one int64 array with the
        freed sizes filled in (and the thread index of each one): those
        moved out, then those the C buffer holds, read in place.
        """
        numpy = _need('numpy', 'reading the events as arrays')
        n = self._held(everything)
        events = numpy.empty((n, _core.N_COLUMNS), dtype=numpy.int64)
        index = numpy.empty(n, dtype=numpy.uint32) if threads else None
        moved = self._moved
        n = self._buffer.read(events, index, n, not moved)
        events = events[:n]
        index = index[:n] if threads else None
        if moved:
            from ._report import fill_freed_sizes
            events = fill_freed_sizes(numpy.vstack(moved + [events]))
            if threads:
                index = numpy.concatenate(self._moved_threads + [index])
        return events, index

    def retrieve_raw_results(self, empty_cache=True):
        """
        The events as a numpy int64 array, one row an event, columns
        ``id_frame, id_arg, event, time, value1, value2``.  As in the
        seed, ``value1`` and ``value2`` are the block and its size for
        memory events and 0 for the others; ``value2`` of a
        ``free``/``realloc_free`` row is minus the size freed (0 when the
        block was allocated before the profiling started).

        :param empty_cache: moves what the C buffer holds first
        """
        if self._stream is not None:
            return self._stream.raw_results()
        res, _ = self._gather(empty_cache)
        # The C core keeps the caller's instruction offset in value1 of
        # function events (for from_line); the seed's raw rows hold 0.
        res[res[:, 2] < 1000, 4:] = 0
        return res

    def _thread_keys(self, numpy):
        """
        The value of the ``thread`` column of each thread, by thread
        index (:func:`evprof._names.thread_keys`), and their names.
        """
        from . import _threadnames
        from ._names import thread_keys
        threads = self._buffer.threads()
        keys = thread_keys(threads)
        idents = [int(t[0]) for t in threads]
        names = {}
        for key, ident, name in zip(keys, idents,
                                    _threadnames.names_of(threads)):
            # None: unknown, and not to be named after its ident, which
            # other threads of the profile had.
            if name is not None or idents.count(ident) > 1:
                names[key] = name
        return numpy.array(keys or [0], dtype=numpy.int64), names

    def _choose(self, frame, arg, f_back=False):
        """
        The name of the called function (the seed's helper): the builtin
        *arg* when given, else the function of *frame* (or of its caller).
        """
        if arg is None:
            if f_back:
                return ('' if frame.f_back is None
                        else frame.f_back.f_code.co_name)
            return frame.f_code.co_name
        try:
            return arg.__qualname__
        except AttributeError:
            return arg.__class__.__name__

    def _choose_mod(self, frame, arg, clean_name, f_back=False):
        """
        The module of the called function (the seed's helper), as
        :meth:`_choose`; file names go through *clean_name*.
        """
        if arg is None:
            if f_back:
                name = ('' if frame.f_back is None
                        else frame.f_back.f_code.co_filename)
            else:
                name = frame.f_code.co_filename
            return clean_name(name)
        try:
            return arg.__module__
        except AttributeError:
            return arg.__class__.__module__

    def retrieve_results(self, empty_cache=True, clean_file_name=None,
                         thread=False, domain=False):
        """
        The events as a DataFrame with the columns ``time, value1, value2,
        event, name, mod, lineno, from_name, from_mod, from_line``.

        :param empty_cache: moves what the C buffer holds first
        :param clean_file_name: function applied to each file name
        :param thread: adds a column ``thread``: the thread's ident (as
            :func:`threading.get_ident`), unique a thread (see
            doc/evprof-python.md); ``df.attrs['thread_names']`` maps it
            to the thread's name
        :param domain: adds a column ``domain``: the allocator of each
            memory event (``'raw'``, ``'mem'``, ``'obj'``, ``'numpy'``,
            ``'native'``, ``'mmap'``), ``''`` for the other events
        """
        if self._stream is not None:
            if clean_file_name is not None and not callable(clean_file_name):
                raise TypeError("clean_file_name must be callable")
            return self._stream.results(clean_file_name, thread, domain)
        if clean_file_name is None:
            clean_file_name = _identity
        elif not callable(clean_file_name):
            raise TypeError("clean_file_name must be callable")
        numpy = _need('numpy', 'retrieve_results')
        pandas = _need('pandas', 'retrieve_results')
        from ._frame import BLOCK, FrameBuilder
        from ._report import KeyTable
        # The events counted before the registry is read: each one's keys
        # are in it.
        n = self._held(empty_cache) + sum(len(m) for m in self._moved)
        table = KeyTable(self._buffer.registry(), self._buffer.key_base(),
                         clean_file_name)
        thread_names = idents = None
        if thread:
            idents, thread_names = self._thread_keys(numpy)
        # The frame's columns are made once and filled a block of events
        # at a time; pandas takes them as they are (copy=False).
        frame = FrameBuilder(n, table, idents, domain)
        if self._moved:
            # Some were moved into arrays (the seed's cache): those and
            # the buffer's, in one array with the freed sizes paired.
            res, index = self._gather(empty_cache, thread)
            for lo in range(0, res.shape[0], BLOCK):
                frame.add(res[lo:lo + BLOCK],
                          None if index is None else index[lo:lo + BLOCK])
            del res, index
        else:
            # From the buffer's chunks into one block, a block at a time.
            block = numpy.empty((BLOCK, _core.N_COLUMNS), dtype=numpy.int64)
            index = numpy.empty(BLOCK, dtype=numpy.uint32) if thread else None

            def add(k):
                frame.add(block[:k], None if index is None else index[:k])
            self._buffer.read_blocks(block, index, add, n)
        data = frame.finish()
        df = pandas.DataFrame(data, columns=list(data), copy=False)
        if thread_names is not None:
            df.attrs['thread_names'] = thread_names
        return df
