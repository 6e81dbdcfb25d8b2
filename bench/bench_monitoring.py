"""
The backends of impl 'c' side by side on one interpreter, the C core
alone (no numpy needed): the sys.monitoring backend (3.12 and later)
against its floor, sys.monitoring callbacks that do nothing registered
for the same events the same way; the profile function against its floor,
a C profile function that does nothing; and cProfile.  `make bench-python`
runs it on every interpreter it finds, or by hand:

    make check-python-versions PYTHONS=python3.12   # builds the core
    make bench-python                                # builds _floor too
    python3.12 bench/bench_monitoring.py python-versions/3.12

The argument is the directory that holds evprof/_core*.so and _floor*.so
(the floor module, bench-only).  Each workload runs REPEAT times
(EVPROF_BENCH_REPEAT, 15), the profilers alternated, their order rotated;
the table gives the median time over the unprofiled median ('x none'),
evprof monitoring over the monitoring floor, and evprof's overhead (time
less the unprofiled time) over cProfile's.  evprof keeps every event and
allocation (memory hooks on, nothing lost: checked after each run);
'memory=False' is evprof monitoring without the allocator hooks, the
callbacks' cost alone.
"""
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = sys.argv[1] if len(sys.argv) > 1 else '.'
sys.path[:0] = [os.path.join(DIR, 'evprof'), DIR, HERE]
import _core  # noqa: E402
import _floor  # noqa: E402
from workloads import WORKLOADS, CProfile, Null, measure  # noqa: E402

REPEAT = int(os.environ.get('EVPROF_BENCH_REPEAT', '15'))
# What evprof's sys.monitoring backend registers.
EVENTS = ('PY_START', 'PY_RESUME', 'PY_THROW', 'PY_RETURN', 'PY_YIELD',
          'PY_UNWIND', 'CALL', 'C_RETURN', 'C_RAISE')


class ProfileFloor:
    def start(self):
        _floor.null_profiler_start()

    def stop(self):
        _floor.null_profiler_stop()


class MonitoringFloor:
    def start(self):
        mon = sys.monitoring
        self.tool = next(i for i in (2, 3, 4) if mon.get_tool(i) is None)
        mon.use_tool_id(self.tool, 'evprof-floor')
        mask = 0
        for name in EVENTS:
            ev = getattr(mon.events, name)
            mon.register_callback(self.tool, ev, _floor.null_callback)
            mask |= ev
        mon.set_events(self.tool, mask)

    def stop(self):
        mon = sys.monitoring
        mon.set_events(self.tool, 0)
        for name in EVENTS:
            mon.register_callback(self.tool, getattr(mon.events, name), None)
        mon.free_tool_id(self.tool)


class Evprof:
    def __init__(self, backend, memory=True):
        self.backend = backend
        self.domains = 7 if memory else 0
        self.events = []

    def start(self):
        self.p = _core.Profiler(1000000, self.domains, backend=self.backend)
        self.p.begin(object(), sys._getframe(), None, None, False, True)

    def stop(self):
        self.p.end(None)
        if self.p.lost():
            raise SystemExit('evprof lost %d events' % self.p.lost())
        self.events.append(self.p.count())
        self.p = None


def profilers():
    mon = _core.Profiler(1).backend == 'monitoring'
    out = [('none', Null()), ('profile floor', ProfileFloor())]
    if mon:
        out += [('monitoring floor', MonitoringFloor()),
                ('evprof monitoring', Evprof('monitoring')),
                ('  memory=False', Evprof('monitoring', memory=False))]
    out += [('evprof profile', Evprof('profile')), ('cProfile', CProfile())]
    return out


def main():
    profs = profilers()
    print('Python %s%s - median of %d alternated runs'
          % (sys.version.split()[0],
             ' free-threaded' if 'free-threading' in sys.version else '',
             REPEAT))
    for wname, work in WORKLOADS[:2]:
        times = {n: [] for n, _ in profs}
        work()  # warm up
        for r in range(REPEAT):
            order = profs[r % len(profs):] + profs[:r % len(profs)]
            for n, prof in order:
                times[n].append(measure(prof, work))
        med = {n: statistics.median(t) for n, t in times.items()}
        base = med['none']
        print('  workload %-8s (unprofiled %.1f ms)' % (wname, base * 1e3))
        for n, prof in profs[1:]:
            line = '    %-18s %6.2fx none' % (n, med[n] / base)
            if n in ('evprof monitoring', '  memory=False'):
                line += '  %5.2fx its floor  %5.2fx cProfile overhead' % (
                    med[n] / med['monitoring floor'],
                    (med[n] - base) / (med['cProfile'] - base))
            elif n == 'evprof profile':
                line += '  %5.2fx its floor  %5.2fx cProfile overhead' % (
                    med[n] / med['profile floor'],
                    (med[n] - base) / (med['cProfile'] - base))
            if getattr(prof, 'events', None):
                line += '  %d events' % statistics.median(prof.events)
                prof.events = []
            print(line)
    return 0


if __name__ == '__main__':
    sys.exit(main())
