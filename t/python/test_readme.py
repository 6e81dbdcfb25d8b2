"""
The README's examples run as printed: its Python blocks, and its shell
lines that use the evprof command, in a temporary directory with the
package of the build tree.  The lines that build, install or compile
against an installed library are recognised (the build runs them, and
make installcheck the C programs); any other line is a README change
that this test must learn of, and fails it.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

import evprof_test

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, 'run_evprof.py')
README = os.path.join(evprof_test.SRCDIR, 'README.md')
# Shell lines that need a build tree of their own or an installed library.
NOT_RUN = ('./bootstrap ', 'cc ', '$(pkg-config ', 'EVPROF_OUTPUT=',
           'LD_PRELOAD=')


def blocks(text):
    """(language, code) of each block: fenced ones with their language,
    indented ones (four spaces, after a blank line) as 'sh'."""
    found = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = re.match(r'^```(\w*)\s*$', line)
        if fence:
            j = i + 1
            while j < len(lines) and not lines[j].startswith('```'):
                j += 1
            found.append((fence.group(1) or 'text',
                          '\n'.join(lines[i + 1:j]) + '\n'))
            i = j + 1
            continue
        if line.startswith('    ') and (i == 0 or not lines[i - 1].strip()):
            j = i
            while j < len(lines) and (lines[j].startswith('    ')
                                      or not lines[j].strip()):
                j += 1
            code = [ln[4:] for ln in lines[i:j]]
            while code and not code[-1].strip():
                code.pop()
            found.append(('sh', '\n'.join(code) + '\n'))
            i = j
            continue
        i += 1
    return found


def shell_commands(code):
    """The commands of a shell block, continuation lines joined."""
    return [c.strip() for c in code.replace('\\\n', ' ').splitlines()
            if c.strip()]


class TestReadme(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='evprof-readme-')
        os.symlink(os.path.join(evprof_test.SRCDIR, 'examples'),
                   os.path.join(self.dir, 'examples'))
        with open(README, encoding='utf-8') as f:
            self.blocks = blocks(f.read())

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_in_dir(self, argv):
        return subprocess.run(argv, cwd=self.dir, capture_output=True,
                              text=True, env=evprof_test.subprocess_env(),
                              timeout=300)

    def test_found_blocks(self):
        kinds = [k for k, _ in self.blocks]
        self.assertIn('python', kinds)
        self.assertIn('sh', kinds)

    def test_python_blocks(self):
        n = 0
        for lang, code in self.blocks:
            if lang != 'python':
                continue
            n += 1
            with self.subTest(block=n):
                prog = os.path.join(self.dir, 'readme_%d.py' % n)
                with open(prog, 'w') as f:
                    # The package of the build tree, as `import evprof`.
                    f.write('import evprof_test\nevprof_test.load()\n')
                    f.write(code)
                proc = self.run_in_dir([sys.executable, prog])
                self.assertEqual(proc.returncode, 0, proc.stderr)
                for out in re.findall(r"'(\w+\.(?:evt|json|png))'", code):
                    path = os.path.join(self.dir, out)
                    self.assertTrue(os.path.getsize(path) > 0, out)
        self.assertGreater(n, 0)

    def test_shell_lines(self):
        ran = 0
        for lang, code in self.blocks:
            if lang != 'sh':
                continue
            for cmd in shell_commands(code):
                if cmd.startswith(NOT_RUN):
                    continue
                with self.subTest(command=cmd):
                    words = shlex.split(cmd.split('#')[0])
                    self.assertEqual(words[0], 'evprof',
                                     'a README command this test does not '
                                     'know: %r' % cmd)
                    proc = self.run_in_dir([sys.executable, RUNNER]
                                           + words[1:])
                    self.assertEqual(proc.returncode, 0, proc.stderr)
                    for opt in ('-o', '--plot'):
                        if opt in words:
                            out = words[words.index(opt) + 1]
                            self.assertTrue(os.path.getsize(
                                os.path.join(self.dir, out)) > 0, out)
                    ran += 1
        self.assertGreater(ran, 0)


if __name__ == '__main__':
    evprof_test.main()
