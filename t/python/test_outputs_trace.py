"""The trace file: save / load round trips, and damaged or foreign files."""
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import zlib

import numpy
import pandas
import pandas.testing

import evprof_test

evprof = evprof_test.load()
from evprof import tracefile  # noqa: E402

IMPLS = ('python', 'pybind11', 'c')


def work(n):
    data = [list(range(i)) for i in range(n)]
    time.sleep(0)
    try:
        raise KeyError(n)
    except KeyError:
        pass
    return sum(len(d) for d in data)


def in_thread():
    t = threading.Thread(target=work, args=(5,))
    t.start()
    t.join()


class TestRoundTrip(evprof_test.TempDir):

    def check_round_trip(self, prof):
        path = self.path('t.evt')
        prof.save(path)
        for thread in (False, True):
            want = prof.retrieve_results(thread=thread)
            got = evprof.load(path, thread=thread)
            pandas.testing.assert_frame_equal(got, want)
        return path

    def test_each_impl(self):
        for impl in IMPLS:
            with self.subTest(impl=impl):
                prof = evprof.EventProfiler(impl=impl, size=1000)
                prof.start()
                work(20)
                prof.stop()
                self.check_round_trip(prof)
                df = prof.retrieve_results()
                self.assertIn('c_call', set(df['event']))
                self.assertIn('malloc', set(df['event']))

    def test_threads(self):
        prof = evprof.EventProfiler(impl='c', threads=True)
        prof.start()
        in_thread()
        prof.stop()
        path = self.check_round_trip(prof)
        self.assertEqual(evprof.load(path, thread=True)['thread'].nunique(),
                         2)
        names = tracefile.thread_names(tracefile.read_trace(path))
        self.assertEqual(names.get(threading.main_thread().ident),
                         threading.main_thread().name)

    def test_clean_file_name(self):
        prof = evprof.EventProfiler(impl='c')
        prof.start()
        work(3)
        prof.stop()
        path = self.path('c.evt')
        prof.save(path)

        def clean(name):
            return os.path.basename(name)
        pandas.testing.assert_frame_equal(
            evprof.load(path, clean_file_name=clean),
            prof.retrieve_results(clean_file_name=clean))

    def test_clean_file_name_not_a_str(self):
        # Every entry point that takes clean_file_name refuses an answer
        # that is not a str, naming the function and what it returned.
        prof = evprof.EventProfiler(impl='c')
        prof.start()
        work(3)
        prof.stop()
        path = self.path('c.evt')
        prof.save(path)
        streamed = evprof.EventProfiler(impl='c', output=self.path('s.evt'))
        streamed.start()
        work(3)
        streamed.stop()
        with evprof.WithEventProfiler(impl='c') as block:
            work(3)

        def bad(name):
            return 3
        calls = {
            'load': lambda: evprof.load(path, clean_file_name=bad),
            'load_lambda': lambda: evprof.load(
                path, clean_file_name=lambda s: 3),
            'retrieve_results': lambda: prof.retrieve_results(
                clean_file_name=bad),
            'retrieve_results_streamed': lambda: streamed.retrieve_results(
                clean_file_name=bad),
            'with_retrieve_results': lambda: block.retrieve_results(
                clean_file_name=bad),
        }
        for what, call in calls.items():
            with self.subTest(what):
                with self.assertRaises(TypeError) as cm:
                    call()
                self.assertIn('must return a str', str(cm.exception))
                self.assertIn('returned int', str(cm.exception))
                self.assertRegex(str(cm.exception), 'bad|<lambda>')
        # A block's clean_file_name: the TypeError at the block's end.
        with self.assertRaises(TypeError) as cm:
            with evprof.WithEventProfiler(impl='c', clean_file_name=bad):
                work(3)
        self.assertIn('returned int', str(cm.exception))

    def test_many_sections(self):
        # 200000 events: four EVENTS sections, written and read one by one.
        n = 200000
        raw = numpy.zeros((n, 6), dtype=numpy.int64)
        raw[:, 2] = numpy.where(numpy.arange(n) % 2 == 0, 1000, 1003)
        raw[:, 3] = numpy.arange(n) * 10
        raw[:, 4] = numpy.arange(n) // 2 + 4096
        raw[:, 5] = numpy.where(raw[:, 2] == 1000, 64, -64)
        seen = []
        path = self.path('big.evt')
        with tracefile.TraceWriter(path) as w:
            w.write_events(raw, numpy.zeros(n, numpy.uint32),
                           progress=seen.append)
            w.write_threads([(1, 2, 3)])
        self.assertEqual(seen, [65536, 131072, 196608, 200000])
        got = []
        trace = tracefile.read_trace(path, progress=got.append)
        self.assertEqual(got, seen)
        numpy.testing.assert_array_equal(trace.events, raw)
        df = tracefile.trace_to_frame(trace, thread=True)
        self.assertEqual(list(df['thread'].unique()), [1])
        self.assertEqual(int(df['value2'].sum()), 0)

    def threads_section(self, path):
        """The (ident, native_id, pid) records of the THREADS section."""
        with open(path, 'rb') as f:
            data = f.read()
        pos = struct.unpack_from('<I', data, 12)[0]
        while pos < len(data):
            kind, _, length = struct.unpack_from('<IIQ', data, pos)
            if kind == tracefile.SEC_THREADS:
                count = struct.unpack_from('<I', data, pos + 24)[0]
                return [struct.unpack_from('<8xQqq', data, pos + 32 + 32 * i)
                        for i in range(count)]
            pos += 24 + length
        self.fail('no THREADS section in %s' % path)

    def test_thread_pids(self):
        # The pid of each thread is written as given (a trace merged from
        # several processes), and this process's when none is given.
        path = self.path('pids.evt')
        raw = numpy.zeros((3, 6), dtype=numpy.int64)
        threads = [(11, 12, 4242), (21, 22, 4343), (31, 32)]
        with tracefile.TraceWriter(path) as w:
            w.write_events(raw, numpy.array([0, 1, 2], numpy.uint32))
            w.write_threads(threads)
        want = [(11, 12, 4242), (21, 22, 4343), (31, 32, os.getpid())]
        self.assertEqual(self.threads_section(path), want)
        with tracefile.TraceWriter(path) as w:
            with self.assertRaisesRegex(TypeError, r'native_id\[, pid\]'):
                w.write_threads([(1, 2, 3, 4)])

    def test_thread_pids_read_back(self):
        path = self.path('pids.evt')
        threads = [(11, 12, 4242), (21, 22, 4343)]
        with tracefile.TraceWriter(path) as w:
            w.write_events(numpy.zeros((2, 6), dtype=numpy.int64),
                           numpy.array([0, 1], numpy.uint32))
            w.write_threads(threads)
        self.assertEqual(tracefile.read_trace(path).threads, threads)

    def test_meta(self):
        prof = evprof.EventProfiler(impl='c')
        prof.start()
        work(2)
        prof.stop()
        path = self.path('meta.evt')
        prof.save(path)
        meta = tracefile.read_trace(path).meta
        self.assertEqual(meta['evprof'], evprof.__lib_version__)
        self.assertEqual(meta['impl'], 'c')
        self.assertEqual(meta['columns'],
                         'id_frame,id_arg,event,time,value1,value2')
        self.assertEqual(
            meta['thread_name.%d' % threading.main_thread().ident],
            threading.main_thread().name)

    def test_meta_any_key(self):
        path = self.path('meta.evt')
        with tracefile.TraceWriter(path) as w:
            w.write_meta({'my.key': 'my value'})
        self.assertEqual(tracefile.read_trace(path).meta.get('my.key'),
                         'my value')

    def test_not_utf8(self):
        # A script in a Latin-1 directory: its file name holds the byte
        # 0xE9, which Python keeps as the surrogate U+DCE9.  The trace
        # holds the original bytes and reads back the same names.
        latin1 = os.fsdecode(os.path.join(os.fsencode(self.dir),
                                          b'caf\xe9', b'prog.py'))
        code = compile('def latin1():\n    return [0] * 100\n', latin1,
                       'exec')
        space = {}
        exec(code, space)
        prof = evprof.EventProfiler(impl='c')
        prof.start()
        space['latin1']()
        prof.stop()
        path = self.path('latin1.evt')
        prof.save(path)
        with open(path, 'rb') as f:
            self.assertIn(b'caf\xe9' + os.sep.encode() + b'prog.py',
                          f.read())
        want = prof.retrieve_results()
        self.assertIn(latin1, set(want['mod']))
        pandas.testing.assert_frame_equal(evprof.load(path), want)
        # Copied through TraceWriter: the same bytes again.
        trace = tracefile.read_trace(path)
        copy = self.path('copy.evt')
        with tracefile.TraceWriter(copy) as w:
            w.write_meta({'program': latin1})
            w.write_names(trace.names.itertuples(index=False))
        again = tracefile.read_trace(copy)
        self.assertEqual(again.meta['program'], latin1)
        pandas.testing.assert_frame_equal(again.names, trace.names)

    def test_nul_refused(self):
        # The C writer takes C strings: a NUL would cut a string short.
        path = self.path('nul.evt')
        with tracefile.TraceWriter(path) as w:
            with self.assertRaisesRegex(ValueError, 'NUL'):
                w.write_names([(1, 1, 1, 'a\0b', 'm', 'f')])
            with self.assertRaisesRegex(ValueError, 'NUL'):
                w.write_meta({'k': 'v\0'})

    def test_surrogates_written_as_bytes(self):
        # os.fsdecode keeps the bytes of a Latin-1 file name as surrogates:
        # they go into the file as those bytes.
        path = self.path('latin1.evt')
        name = os.fsdecode(b'caf\xe9.py')
        with tracefile.TraceWriter(path) as w:
            w.write_meta({'program': name})
            w.write_names([(1, 1, 1, 'f', name, name)])
        with open(path, 'rb') as f:
            self.assertEqual(f.read().count(b'caf\xe9.py'), 3)

    def test_thread_indices_in_some_sections(self):
        # C programs may write events without thread indices; the reader
        # takes them, and they are given the first thread of the file.
        path = self.path('some.evt')
        raw = numpy.zeros((4, 6), dtype=numpy.int64)
        raw[:, 3] = numpy.arange(4)
        with tracefile.TraceWriter(path) as w:
            w.write_events(raw[:2], numpy.array([1, 0], numpy.uint32))
            w.write_events(raw[2:])
            w.write_threads([(7, 70), (8, 80)])
        trace = tracefile.read_trace(path)
        self.assertEqual(trace.thread.tolist(),
                         [1, 0, tracefile.NO_THREAD, tracefile.NO_THREAD])
        df = evprof.load(path, thread=True)
        self.assertEqual(df['thread'].tolist(), [8, 7, 7, 7])
        self.assertEqual(df['time'].tolist(), [0, 1, 2, 3])

    def test_reader_needs_no_numpy(self):
        # The C reader hands out buffers; numpy is needed only to view
        # them as arrays.
        path = self.path('nonumpy.evt')
        raw = numpy.arange(18, dtype=numpy.int64).reshape(3, 6)
        with tracefile.TraceWriter(path) as w:
            w.write_events(raw, numpy.array([0, 0, 0], numpy.uint32))
            w.write_threads([(1, 2)])
        libs = [d for d in evprof_test.package_dirs()[1:]
                if any(f.startswith('_core.') and not f.endswith('.la')
                       for f in os.listdir(d))][0]
        code = '\n'.join([
            'import sys',
            'sys.modules["numpy"] = None',
            'sys.path.insert(0, sys.argv[1])',
            'import _core',
            'r = _core.TraceReader(sys.argv[2])',
            'ev, th = r.read()',
            'm = memoryview(ev)',
            'print(m.format, m.shape, m.tolist()[2], memoryview(th).tolist())',
            'print(r.threads(), r.lost, "numpy" in sys.modules and '
            'sys.modules["numpy"] is not None)'])
        out = subprocess.run([sys.executable, '-c', code, libs, path],
                             stdout=subprocess.PIPE, check=True,
                             universal_newlines=True).stdout.splitlines()
        self.assertEqual(out[0], 'q (3, 6) [12, 13, 14, 15, 16, 17] '
                                 '[0, 0, 0]')
        self.assertEqual(out[1], '[(1, 2, %d)] 0 False' % os.getpid())

    def test_directory(self):
        with self.assertRaises(IsADirectoryError):
            evprof.load(self.dir)

    def test_native_names(self):
        # As evprof-instrument writes them: key = function address.
        path = self.path('native.evt')
        raw = numpy.array([[0x400, 0, 1, 10, 0, 0],
                           [0x400, 0, 2, 20, 0, 0],
                           [0x500, 0, 1, 30, 0, 0]], dtype=numpy.int64)
        with tracefile.TraceWriter(path) as w:
            w.write_events(raw)
            w.write_names([(0x400, tracefile.KIND_NATIVE, 7, 'fib',
                            '/bin/prog', 'prog.c'),
                           (0x500, tracefile.KIND_NATIVE, 0, '0x500',
                            '/bin/prog', '')])
        df = evprof.load(path)
        self.assertEqual(list(df['name']), ['fib', 'fib', '0x500'])
        self.assertEqual(list(df['mod']), ['prog.c', 'prog.c', '/bin/prog'])
        self.assertEqual(list(df['lineno']), [7, 7, -1])

    def test_call_site_lines(self):
        # Offsets of any size (those of native call sites are differences
        # of addresses), negative ones included.
        path = self.path('sites.evt')
        offsets = [8, -4, 1 << 40, -(1 << 40), 8, (1 << 31) - 1]
        raw = numpy.zeros((len(offsets) + 1, 6), dtype=numpy.int64)
        raw[:, 0] = 0x500
        raw[:, 1] = 0x400
        raw[:, 2] = 1
        raw[:-1, 4] = offsets
        raw[-1, 4] = 12  # a call site with no line
        with tracefile.TraceWriter(path) as w:
            w.write_events(raw)
            w.write_names([(0x400, tracefile.KIND_NATIVE, 7, 'main',
                            '/bin/prog', 'prog.c'),
                           (0x500, tracefile.KIND_NATIVE, 3, 'f',
                            '/bin/prog', 'prog.c')])
            w.write_lines([0x400] * 5, [8, -4, 1 << 40, -(1 << 40),
                                        (1 << 31) - 1], [10, 11, 12, 13, 14])
        want = [10, 11, 12, 13, 10, 14, -1]
        self.assertEqual(evprof.load(path)['from_line'].tolist(), want)
        # Without the offsets past 32 bits.
        with tracefile.TraceWriter(path) as w:
            w.write_events(raw[[0, 1, 4, 5, 6]])
            w.write_names([(0x400, tracefile.KIND_NATIVE, 7, 'main',
                            '/bin/prog', 'prog.c')])
            w.write_lines([0x400] * 3, [8, -4, (1 << 31) - 1], [10, 11, 14])
        self.assertEqual(evprof.load(path)['from_line'].tolist(),
                         [10, 11, 10, 14, -1])

    def test_empty_profile(self):
        path = self.path('empty.evt')
        with tracefile.TraceWriter(path):
            pass
        df = evprof.load(path)
        self.assertEqual(list(df.columns), tracefile.COLUMNS)
        self.assertEqual(len(df), 0)
        never_started = evprof.EventProfiler()
        never_started.save(path)
        pandas.testing.assert_frame_equal(
            evprof.load(path, thread=True),
            never_started.retrieve_results(thread=True),
            check_dtype=False, check_index_type=False)

    def test_writer_removes_partial_file(self):
        path = self.path('partial.evt')
        with self.assertRaises(RuntimeError):
            with tracefile.TraceWriter(path):
                raise RuntimeError('stop')
        self.assertFalse(os.path.exists(path))


class TestDamagedFiles(evprof_test.TempDir):
    """Every damaged file gives a TraceFileError naming the problem."""

    @classmethod
    def setUpClass(cls):
        prof = evprof.EventProfiler(impl='c')
        prof.start()
        work(10)
        prof.stop()
        cls.tmp = tempfile.mkdtemp(prefix='evprof-test-')
        cls.good = os.path.join(cls.tmp, 'good.evt')
        prof.save(cls.good)
        with open(cls.good, 'rb') as f:
            cls.data = f.read()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def write(self, data):
        path = self.path('bad.evt')
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def assertBad(self, data, *words):
        path = self.write(data)
        with self.assertRaises(tracefile.TraceFileError) as cm:
            evprof.load(path)
        msg = str(cm.exception)
        self.assertIn(path, msg)
        for word in words:
            self.assertIn(word, msg)
        self.assertIsInstance(cm.exception, ValueError)
        return msg

    def test_good_file_reads(self):
        self.assertGreater(len(evprof.load(self.good)), 10)

    def test_missing_file(self):
        with self.assertRaises(FileNotFoundError):
            evprof.load(self.path('no-such-file.evt'))

    def test_empty_file(self):
        self.assertBad(b'', 'empty file')

    def test_foreign_files(self):
        self.assertBad(b'\x89PNG\r\n\x1a\n' + bytes(100), 'bad magic')
        self.assertBad(b'time,value1\n1,2\n', 'not an evprof trace')
        self.assertBad(b'{"traceEvents": []}', 'not an evprof trace')

    def test_truncated_header_message(self):
        self.assertBad(self.data[:30], 'truncated header')
        self.assertBad(self.data[:3], 'not an evprof trace')

    def assertCut(self, data):
        """A cut file reads up to its last complete section, and warns."""
        path = self.write(data)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            df = evprof.load(path, thread=True)
        self.assertEqual([w.category for w in caught],
                         [tracefile.TraceTruncatedWarning], caught)
        msg = str(caught[0].message)
        self.assertIn(path, msg)
        self.assertRegex(msg, r'truncated at offset \d+: no END section; '
                         r'%d events in complete sections read' % len(df))
        # The warning names the caller, not evprof's own code.
        self.assertEqual(caught[0].filename, __file__)
        full = evprof.load(self.good, thread=True)
        self.assertLessEqual(len(df), len(full))
        for col in ('time', 'event', 'value2'):
            self.assertEqual(df[col].tolist(), full[col][:len(df)].tolist())
        # Cut before the THREADS table: the thread's ident is unknown, 0.
        for got, want in zip(df['thread'], full['thread']):
            self.assertIn(got, (want, 0))
        return msg, len(df)

    def test_truncated_header(self):
        for cut in range(1, 64):
            with self.subTest(cut=cut):
                self.assertBad(self.data[:cut])

    def test_truncated_everywhere(self):
        # Every cut in the first sections, then random ones: the complete
        # sections are read, a warning says where the file was cut.
        rng = random.Random(20261126)
        cuts = list(range(64, 400)) + rng.sample(range(400, len(self.data)),
                                                 100)
        counts = set()
        for cut in cuts:
            with self.subTest(cut=cut):
                msg, n = self.assertCut(self.data[:cut])
                counts.add(n)
                # Where it was cut: at most the length of the file.
                at = int(msg.split('truncated at offset ')[1].split(':')[0])
                self.assertLessEqual(at, cut)
        self.assertIn(0, counts)
        self.assertGreater(len(counts), 1)

    def test_truncated_trace_object(self):
        path = self.write(self.data[:-1])
        with warnings.catch_warnings(record=True):
            warnings.simplefilter('always')
            trace = tracefile.read_trace(path)
        self.assertIn('truncated at offset', trace.truncated)
        self.assertIsNone(tracefile.read_trace(self.good).truncated)

    def test_truncated_as_error(self):
        # The warning can be made an error, as any warning.
        path = self.write(self.data[:-48])
        with warnings.catch_warnings():
            warnings.simplefilter('error', tracefile.TraceTruncatedWarning)
            with self.assertRaises(tracefile.TraceTruncatedWarning) as cm:
                evprof.load(path)
        self.assertIn('no END section', str(cm.exception))

    def test_no_end_section(self):
        msg, n = self.assertCut(self.data[:-48])
        self.assertEqual(n, len(evprof.load(self.good)))

    def test_corrupted_bytes_at_random_offsets(self):
        rng = random.Random(4)
        offsets = rng.sample(range(len(self.data)), 300)
        for off in offsets:
            with self.subTest(offset=off):
                bad = bytearray(self.data)
                bad[off] ^= 1 << rng.randrange(8)
                msg = self.assertBad(bytes(bad))
                self.assertTrue(any(w in msg for w in (
                    'corrupted', 'magic', 'version', 'layout',
                    'header size', 'checksum')), msg)

    def test_random_garbage_after_header(self):
        rng = random.Random(5)
        for _ in range(50):
            junk = bytes(rng.randrange(256) for _ in range(rng.randrange(
                1, 200)))
            if len(junk) < 24:
                # Less than a section header: a file cut there.
                self.assertCut(self.data[:64] + junk)
            else:
                self.assertBad(self.data[:64] + junk)

    def sections(self):
        """(offset, length) of the payload of each section."""
        out, pos = [], 64
        while pos < len(self.data):
            length = struct.unpack_from('<Q', self.data, pos + 8)[0]
            out.append((pos, length))
            pos += 24 + length
        return out

    def test_lying_contents_with_valid_checksums(self):
        # Fuzzing the parsers behind the checksums: random bytes of a
        # payload changed and its checksum made right again.  The file
        # must read or give a TraceFileError, never another exception.
        rng = random.Random(6)
        sections = self.sections()
        outcomes = set()
        for _ in range(400):
            pos, length = rng.choice(sections)
            if length == 0:
                continue
            bad = bytearray(self.data)
            for _ in range(rng.randrange(1, 4)):
                off = pos + 24 + rng.randrange(min(length, 64)
                                               if rng.random() < 0.7
                                               else length)
                bad[off] = rng.randrange(256)
            payload = bytes(bad[pos + 24:pos + 24 + length])
            struct.pack_into('<I', bad, pos + 16, zlib.crc32(payload))
            struct.pack_into('<I', bad, pos + 20,
                             zlib.crc32(bytes(bad[pos:pos + 20])))
            path = self.write(bytes(bad))
            try:
                evprof.load(path, thread=True)
                outcomes.add('read')
            except tracefile.TraceFileError as exc:
                self.assertIn(path, str(exc))
                outcomes.add('error')
        self.assertEqual(outcomes, {'read', 'error'})

    def test_huge_header_size(self):
        head = bytearray(self.data[:64])
        struct.pack_into('<I', head, 12, 0xFFFFFFF0)
        struct.pack_into('<I', head, 60, zlib.crc32(bytes(head[:60])))
        self.assertBad(bytes(head) + self.data[64:], 'header')

    def test_data_after_end(self):
        self.assertBad(self.data + b'\0', 'data after the END section')

    def patched_header(self, major=1, layout=(48, 6)):
        head = bytearray(self.data[:64])
        struct.pack_into('<H', head, 8, major)
        struct.pack_into('<II', head, 16, *layout)
        struct.pack_into('<I', head, 60, zlib.crc32(bytes(head[:60])))
        return bytes(head) + self.data[64:]

    def test_unsupported_version(self):
        self.assertBad(self.patched_header(major=2),
                       'unsupported trace version 2.1')

    def test_unsupported_layout(self):
        self.assertBad(self.patched_header(layout=(56, 7)),
                       'unsupported event layout')

    def section(self, kind, payload, flags=0):
        head = struct.pack('<IIQI', kind, flags, len(payload),
                           zlib.crc32(payload))
        return head + struct.pack('<I', zlib.crc32(head)) + payload

    def test_unknown_sections(self):
        end = len(self.data) - 48
        optional = self.section(77, b'\0' * 8)
        # An optional section of an unknown type is skipped (the END
        # section counts sections, so the count is patched too).
        tail = bytearray(self.data[end:])
        payload = bytearray(tail[24:])
        sections = struct.unpack_from('<Q', payload, 8)[0]
        struct.pack_into('<Q', payload, 8, sections + 1)
        fixed_end = self.section(0xFFFF, bytes(payload), flags=1)
        path = self.write(self.data[:end] + optional + fixed_end)
        self.assertEqual(len(evprof.load(path)), len(evprof.load(self.good)))
        required = self.section(77, b'\0' * 8, flags=1)
        self.assertBad(self.data[:end] + required + fixed_end,
                       'unknown required section type 77')

    def test_end_counts(self):
        end = len(self.data) - 48
        payload = bytearray(self.data[end + 24:])
        struct.pack_into('<Q', payload, 0, 1)
        self.assertBad(self.data[:end] + self.section(0xFFFF, bytes(payload),
                                                      flags=1),
                       'END section says 1 events')

    def test_events_length_mismatch(self):
        # A valid checksum over a payload whose count lies.
        payload = struct.pack('<II', 3, 0) + bytes(48 * 2)
        self.assertBad(self.data[:64] + self.section(3, payload, flags=1),
                       'length does not match')

    def test_thread_index_out_of_range(self):
        path = self.path('threads.evt')
        with tracefile.TraceWriter(path) as w:
            w.write_events(numpy.zeros((2, 6), numpy.int64),
                           numpy.array([0, 5], numpy.uint32))
            w.write_threads([(1, 1, 1)])
        with self.assertRaises(tracefile.TraceFileError) as cm:
            evprof.load(path)
        self.assertIn('thread 5', str(cm.exception))


if __name__ == '__main__':
    evprof_test.main()
