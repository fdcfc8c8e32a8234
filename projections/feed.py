"""The change feed: JSON-ready records of the log after a position, in log order."""

from __future__ import annotations

import threading
from typing import Any, Iterator

from ledger.domain.aggregate import payload
from ledger.domain.handshake import Handshake
from ledger.domain.instants import with_iso_instants
from ledger.domain.transfer import ResponsibilityTransfer

PAGE = 500


def record(app: Any, notification: Any) -> dict[str, Any]:
    event = app.mapper.to_domain_event(notification)
    return {
        "position": notification.id,
        "aggregate_id": event.originator_id,
        "handshake_id": event.originator_id if isinstance(event, Handshake.Event) else None,
        "transfer_id": event.originator_id if isinstance(event, ResponsibilityTransfer.Event) else None,
        "version": event.originator_version,
        "type": notification.topic.split(":", 1)[-1],
        "timestamp": event.timestamp.isoformat(),
        "actor": event.actor,
        "request_id": event.request_id,
        "payload": {k: with_iso_instants(v) for k, v in payload(event).items()},
    }


def change_feed(app: Any, *, after: int = 0, follow: bool = False, poll: float = 0.2,
                stop: threading.Event | None = None) -> Iterator[dict[str, Any]]:
    """Every event after ``after``; with ``follow``, keep waiting for new ones until ``stop``."""
    stop = stop or threading.Event()
    position = after
    while not stop.is_set():
        notifications = app.recorder.select_notifications(start=position, limit=PAGE, inclusive_of_start=False)
        for notification in notifications:
            yield record(app, notification)
            position = notification.id
        if not notifications:
            if not follow:
                return
            stop.wait(poll)

