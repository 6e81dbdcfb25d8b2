"""python3 -m evprof: see evprof.cli and evprof(1)."""
import sys

from .cli import main

if __name__ == '__main__':
    sys.exit(main())
