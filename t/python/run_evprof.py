"""
Runs ``python3 -m evprof`` on the package of the source and build trees
(found by evprof_test, nothing installed): the tests call
``python3 t/python/run_evprof.py ARGS...`` as a user types
``python3 -m evprof ARGS...``.
"""
import runpy
import sys

import evprof_test

if __name__ == '__main__':
    evprof_test.load()
    del sys.argv[0]
    sys.argv.insert(0, 'evprof')
    runpy.run_module('evprof', run_name='__main__', alter_sys=True)
