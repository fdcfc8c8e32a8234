"""The bulk demo on both cores: the view is rebuilt in a second process while the log is written.

The view's rebuild (``HandshakeView.rebuild``: fresh tables beside the live ones, rows held in
memory, indexes built after the load, then the swap) reads the log in batches and takes a short
batch for the log's end. Here it reads a log still being written: ``FollowingRecorder`` answers a
read with fewer notifications than asked only once the writer has said it is done, and waits
(polling) until then. So the replay runs a batch behind the writer, on the other core, and ends
with the swap moments after the last commit. The rebuild is the one any ``rebuild`` runs; only its
reads wait.

A location that only this process can see (``:memory:``) is rebuilt here, after the seeding. If
the second process fails, the view is rebuilt here too, after one line on stderr.
"""

from __future__ import annotations

import multiprocessing
import sys
from typing import Any, Callable, Sequence

from eventsourcing.persistence import Notification

from ledger.entrypoints import bulk_demo
from ledger.entrypoints.bootstrap import open_ledger
from ledger.entrypoints.facade import Ledger

POLL = 0.05  # seconds between reads of a log whose next batch is not complete yet
START_TIMEOUT = 120.0  # seconds for the second process to open the location


class WriterGone(Exception):
    """The process writing the log ended without saying it was done (killed): the rebuild is abandoned."""


class FollowingRecorder:
    """An application recorder whose ``select_notifications`` waits for a full batch, or for ``done``;
    ``WriterGone`` if ``writer_alive()`` turns false while it waits."""

    def __init__(self, recorder: Any, done: Any, poll: float = POLL,
                 writer_alive: Callable[[], bool] = lambda: True):
        self.recorder, self.done, self.poll, self.writer_alive = recorder, done, poll, writer_alive

    def select_notifications(self, start: int | None, limit: int, stop: int | None = None,
                             topics: Sequence[str] = (), *, inclusive_of_start: bool = True) -> Sequence[Notification]:
        first = (start or 0) + (0 if inclusive_of_start else 1)  # the first position this read may return
        while True:
            finished = self.done.is_set()  # asked before reading: a read after it sees every event
            # A short batch is read only to be dropped: wait until the log's head says a full one is there.
            if finished or stop is not None or (self.recorder.max_notification_id() or 0) >= first + limit - 1:
                found = self.recorder.select_notifications(start, limit, stop, topics,
                                                           inclusive_of_start=inclusive_of_start)
                if finished or len(found) >= limit or (stop is not None and found and found[-1].id >= stop):
                    return found
            if not self.done.wait(self.poll) and not self.writer_alive():
                raise WriterGone("the bulk demo's writer ended before the log was complete")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.recorder, name)


class FollowingLog:
    """What the view's rebuild reads of an application (its recorder and mapper), following a log being written."""

    def __init__(self, app: Any, done: Any, poll: float = POLL, writer_alive: Callable[[], bool] = lambda: True):
        self.recorder = FollowingRecorder(app.recorder, done, poll, writer_alive)
        self.mapper = app.mapper
        self.name = app.name


def rebuild_following(location: str, ready: Any, done: Any) -> None:
    """The second process: open the location (its log still empty), say so, and rebuild the view
    from the log as it is written, until ``done`` is set and the last batch is in. Should the writer
    die first (killed), ``WriterGone``: the half-built tables are left beside the live ones, and the
    next rebuild drops them; the demo refuses the half-written location (it holds events)."""
    writer = multiprocessing.parent_process()
    with open_ledger(location) as ledger:
        ready.set()
        ledger.view.rebuild(FollowingLog(ledger.app, done, writer_alive=writer.is_alive if writer else lambda: True))


class ConcurrentRebuild:
    """Starts ``rebuild_following`` in a spawned process; ``wait_ready()`` before the first write,
    ``finish()`` after the last: the view is then rebuilt and swapped in (here, if the process failed)."""

    def __init__(self, location: str):
        context = multiprocessing.get_context("spawn")  # nothing of this process's open stores is inherited
        self.ready, self.done = context.Event(), context.Event()
        self.process = context.Process(target=rebuild_following, args=(location, self.ready, self.done),
                                       name="bulk-demo-rebuild", daemon=True)
        self.process.start()
        self._waited = False

    def wait_ready(self) -> None:
        """Blocks until the second process has opened the location (its catch-up of an empty log done)."""
        if self._waited:
            return
        self._waited = True
        for _ in range(int(START_TIMEOUT / 0.1)):
            if self.ready.wait(0.1) or not self.process.is_alive():
                return  # ready, or failed to start (``finish`` rebuilds here)
        # Still opening: it will replay whatever it then finds, and rebuild from the start anyway.

    def finish(self, ledger: Ledger) -> int:
        """Tells the second process the log is complete and waits for its swap; rebuilds here if it
        failed. Returns the position the second process's view reached (0 if it failed)."""
        self.done.set()
        self.process.join()
        if self.process.exitcode != 0:
            print(f"the view's rebuild in a second process failed (exit {self.process.exitcode}); rebuilding here",
                  file=sys.stderr)
            ledger.rebuild()
            return 0
        reached = ledger.view.position()
        ledger.catch_up()  # the swapped-in view is at the log's end: nothing to apply
        return reached

    def abandon(self) -> None:
        """The seeding failed: stop the second process."""
        self.done.set()
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()


def seed_and_rebuild(ledger: Ledger, *, location: str, **seeding: Any) -> bulk_demo.BulkSeeded:
    """``bulk_demo.seed_bulk`` into ``ledger`` (empty) and its view rebuilt, both at once where they can be."""
    if location == ":memory:":
        seeded = bulk_demo.seed_bulk(ledger.app, location=location, **seeding)
        ledger.rebuild()
        return seeded
    rebuild = ConcurrentRebuild(location)
    try:
        seeded = bulk_demo.seed_bulk(ledger.app, location=location, before_write=rebuild.wait_ready, **seeding)
    except BaseException:
        rebuild.abandon()
        raise
    rebuild.finish(ledger)
    return seeded
