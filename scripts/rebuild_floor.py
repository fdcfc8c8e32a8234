"""How fast could a rebuild be? Its single-threaded Python part alone, and its serial tail.

    python scripts/rebuild_floor.py LOCATION [--rounds 2]

LOCATION: a seeded ledger (``handshake-ledger demo --handshakes N``), a directory or a
``postgresql://`` URL. Each round runs, each in a fresh process, back to back:

- ``raw-log``: every notification read and decoded, nothing written (history_bench's reference);
- ``rebuild``: ``HandshakeView.rebuild`` as it is, timed in parts: ``load`` (the replay, its
  final release included), ``release`` (the held rows written after the last event: only then
  are their versions known to be current; less the same call's time in ``floor-pickle``, its
  Python), ``indexes`` (SQLite: built at the swap; PostgreSQL:
  after the load) -- the release and the index builds together are the *tail*, writes that no
  other process can overlap with the reading of the log, since they begin after its last event;
- ``floor``: the rebuild with every SQL write of the load and the swap discarded (a cursor that
  drops ``execute``/``executemany``; every row held, so the load reads nothing back): the reading,
  decoding and row rules alone;
- ``floor-pickle``: the same, each transaction's statements and rows pickled as a second process
  would receive them.

A rebuild split in two processes (the Python part in one, the writes in another) takes at least
``floor-pickle`` + the tail; the ratios printed are raw-log / figure (the target: >= 0.5).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = r'''
import collections, json, pickle, resource, sys, time
from contextlib import contextmanager
from ledger.entrypoints.bootstrap import open_ledger
import projections.view as view_module
from projections.view_tables import RowChanges
sys.path.insert(0, "scripts")  # the probe runs in the project's root
from benchkit.rebuild import raw_log_read

data, figure = sys.argv[1], sys.argv[2]
ledger = open_ledger(data)
parts = collections.Counter()
tracked = {}


def timed(owner, name, label, longest=False):
    method = getattr(owner, name)

    def wrapper(*args, **kwargs):
        began = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            spent = time.perf_counter() - began
            parts[label] = max(parts[label], spent) if longest else parts[label] + spent  # longest: the longest call alone
    setattr(owner, name, wrapper)


class Discard:
    """A cursor that drops every write (and keeps them, to be pickled, for floor-pickle)."""

    def __init__(self, keep):
        self.keep, self.recorded = keep, []

    def execute(self, statement, params=()):
        if self.keep:
            self.recorded.append((statement, params))

    def executemany(self, statement, rows):
        rows = list(rows)
        if self.keep:
            self.recorded.append((statement, rows))

    def fetchone(self):
        return (1,)  # _claim's RETURNING row, _times' last high_us

    def fetchall(self):
        return []


if figure.startswith("floor"):
    @contextmanager
    def discarding(datastore, transaction):
        @contextmanager
        def begin():
            cursor = Discard(figure == "floor-pickle")
            yield cursor
            parts["pickled_mb"] += len(pickle.dumps(cursor.recorded, protocol=pickle.HIGHEST_PROTOCOL)) / 1e6
        yield begin

    view_module.bulk_transactions = discarding
    position = view_module.HandshakeView.position
    view_module.HandshakeView.position = lambda self, name=None: (
        tracked.get(name, 0) if name and name.endswith("#rebuild") else position(self, name))
    insert_tracking = ledger.view.recorder._insert_tracking
    ledger.view.recorder._insert_tracking = lambda cursor, tracking: (
        tracked.__setitem__(tracking.application_name, tracking.notification_id) if isinstance(cursor, Discard)
        else insert_tracking(cursor, tracking))
else:
    timed(view_module.HandshakeView, "_load", "load")
timed(RowChanges, "release_held", "release", longest=True)  # the load's final one (deletions release too)
if figure == "rebuild":
    timed(view_module.HandshakeView, "_rename_indexes", "swap")

began = time.perf_counter()
if figure == "raw-log":
    raw_log_read(ledger.app)  # the reference bench.py's rebuild figure reads too
elif figure.startswith("floor"):
    ledger.view.rebuild(ledger.app, hold=10**9)
else:
    ledger.view.rebuild(ledger.app)
seconds = time.perf_counter() - began
if figure == "rebuild":  # the indexes: SQLite builds them in the swap, PostgreSQL between load and swap
    parts["indexes"] = parts["swap"] if ledger.view.placeholder == "?" else seconds - parts["load"] - parts["swap"]
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  **parts}))
'''


def probe(data: str, figure: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", PROBE, data, figure], capture_output=True, text=True, env=env,
                          cwd=ROOT, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("location")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    for round_ in range(args.rounds):
        load = os.getloadavg()[0]
        raw, rebuild, floor, pickled = (probe(args.location, figure)
                                        for figure in ("raw-log", "rebuild", "floor", "floor-pickle"))
        # the release's own Python (the rows' tuples, pickled) is in floor-pickle already
        tail = max(0.0, rebuild["release"] - pickled["release"]) + rebuild["indexes"]
        best = pickled["seconds"] + tail
        print(f"round {round_} (load {load:.2f} -> {os.getloadavg()[0]:.2f}): raw-log {raw['seconds']:.2f} s")
        print(f"  rebuild      {rebuild['seconds']:6.2f} s  ratio {raw['seconds'] / rebuild['seconds']:.3f}  "
              f"peak {rebuild['peak_mb']:.0f} MB  (release {rebuild['release']:.2f} s, indexes {rebuild['indexes']:.2f} s:"
              f" tail {tail:.2f} s)")
        print(f"  floor        {floor['seconds']:6.2f} s  ratio {raw['seconds'] / floor['seconds']:.3f}  "
              f"peak {floor['peak_mb']:.0f} MB (every row held)")
        print(f"  floor-pickle {pickled['seconds']:6.2f} s  ratio {raw['seconds'] / pickled['seconds']:.3f}  "
              f"peak {pickled['peak_mb']:.0f} MB, {pickled['pickled_mb']:.0f} MB pickled")
        print(f"  two processes, perfect overlap: >= floor-pickle + tail = {best:.2f} s, "
              f"ratio <= {raw['seconds'] / best:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
