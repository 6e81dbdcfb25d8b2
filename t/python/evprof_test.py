"""
Test helper: imports the evprof package from the source tree and its
extension from the build tree (VPATH builds keep them apart), without
installing anything, and runs unittest test cases printing TAP.
"""
import importlib.util
import os
import shutil
import sys
import tempfile
import unittest

_HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get('EVPROF_SRCDIR', os.path.join(_HERE, '..', '..'))
BUILDDIR = os.environ.get('EVPROF_BUILDDIR', SRCDIR)


class TempDir(unittest.TestCase):
    """A test case with a temporary directory of its own, removed after."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='evprof-test-')

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)


def package_dirs():
    """The directories of the package: sources, then the built module;
    EVPROF_PACKAGE_DIR alone when set (a copy of the package with the core
    built for another interpreter, as `make check-python-versions` makes
    in python-versions/X.Y/evprof)."""
    if os.environ.get('EVPROF_PACKAGE_DIR'):
        return [os.path.abspath(os.environ['EVPROF_PACKAGE_DIR'])]
    src = os.path.join(SRCDIR, 'python', 'evprof')
    dirs = [src]
    for sub in (os.path.join('python', 'evprof', '.libs'),
                os.path.join('python', 'evprof')):
        path = os.path.join(BUILDDIR, sub)
        if path not in dirs and os.path.isdir(path):
            dirs.append(path)
    return dirs


def load():
    """Imports evprof from the trees (once) and returns it."""
    if 'evprof' in sys.modules:
        return sys.modules['evprof']
    dirs = package_dirs()
    spec = importlib.util.spec_from_file_location(
        'evprof', os.path.join(dirs[0], '__init__.py'),
        submodule_search_locations=dirs)
    mod = importlib.util.module_from_spec(spec)
    sys.modules['evprof'] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules['evprof']
        raise
    return mod


def subprocess_env():
    """An environment in which `import evprof_test` works."""
    env = dict(os.environ)
    env['EVPROF_SRCDIR'] = SRCDIR
    env['EVPROF_BUILDDIR'] = BUILDDIR
    env['PYTHONPATH'] = _HERE + os.pathsep + env.get('PYTHONPATH', '')
    native = os.path.join(BUILDDIR, 'lib', '.libs', 'libevprof-malloc.so')
    if os.path.isfile(native):
        env.setdefault('EVPROF_MALLOC_LIBRARY', native)
    return env


def main():
    """Runs the test cases of __main__, printing TAP on stdout."""
    try:
        from tap import TAPTestRunner
    except ImportError:  # pragma: no cover - a tiny runner of our own
        TAPTestRunner = None
    if TAPTestRunner is not None:
        runner = TAPTestRunner()
        runner.set_stream(True)
        prog = unittest.main(testRunner=runner, exit=False)
    else:
        prog = unittest.main(testRunner=_TinyTAPRunner(), exit=False)
    sys.exit(0 if prog.result.wasSuccessful() else 1)


class _TinyTAPResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.n = 0

    def _line(self, ok, test, extra=''):
        self.n += 1
        print('%s %d - %s%s' % ('ok' if ok else 'not ok', self.n, test.id(),
                                extra), flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(False, test)
        for line in self.failures[-1][1].splitlines():
            print('# ' + line)

    def addError(self, test, err):
        super().addError(test, err)
        self._line(False, test)
        for line in self.errors[-1][1].splitlines():
            print('# ' + line)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(True, test, ' # SKIP ' + reason)


class _TinyTAPRunner:
    def run(self, test):
        result = _TinyTAPResult()
        test(result)
        print('1..%d' % result.n)
        return result
