"""Keeps the views following the event log in the background.

On SQLite there is no subscription, so the runner polls; on PostgreSQL it LISTENs on the
events table's channel and still wakes up periodically, so a lost NOTIFY never stalls the
view (eventsourcing issue #305). Catching up is the same exactly-once ``catch_up`` that the
ledger calls before answering a query, so the two never disagree.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

log = logging.getLogger(__name__)
STOP_SEEN = 0.5  # seconds: how soon a runner waiting on PostgreSQL sees stop()


class ViewRunner:
    def __init__(self, catch_up: Callable[[], Any], *, recorder: Any, interval: float = 0.5):
        self._catch_up = catch_up
        self._recorder = recorder
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="view-runner", daemon=True)

    def start(self) -> ViewRunner:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        wait = self._listener() or self._stop.wait
        while not self._stop.is_set():
            try:
                self._catch_up()
            except Exception:  # a failed batch rolled back; try again on the next wake-up
                log.exception("view catch-up failed")
            wait(self._interval)

    def _listener(self) -> Callable[[float], Any] | None:
        """On PostgreSQL: wait for a NOTIFY on the events channel, at most ``timeout`` seconds."""
        channel = getattr(self._recorder, "channel_name", None)
        if channel is None:
            return None
        import psycopg
        from psycopg import sql

        datastore = self._recorder.datastore
        connection = psycopg.connect(conninfo=datastore.pool.conninfo, autocommit=True, **datastore.pool.kwargs)
        connection.execute(sql.SQL("LISTEN {0}").format(sql.Identifier(channel)))

        def wait(timeout: float) -> None:
            """Until a NOTIFY, ``timeout`` or ``stop()``, which it sees within ``STOP_SEEN`` seconds."""
            deadline = time.monotonic() + timeout
            while not self._stop.is_set() and (left := deadline - time.monotonic()) > 0:
                if any(True for _ in connection.notifies(timeout=min(left, STOP_SEEN), stop_after=1)):
                    break
            if self._stop.is_set():
                connection.close()

        return wait
