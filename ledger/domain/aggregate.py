"""String-keyed aggregates (AWS ids such as ``h-…`` and ``o-…``) on eventsourcing 9.5.

eventsourcing ships only UUID-keyed ``Aggregate``; these few lines give the same thing
keyed by ``str``. Every event records who caused it (``actor``, an account id) and the
request that carried the command (``request_id``, may be None).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.domain import (
    BaseAggregate,
    CanInitAggregate,
    CanMutateAggregate,
    MetaDomainEvent,
)

from ledger.domain.clock import system_clock


class LedgerEvent(CanMutateAggregate[str], metaclass=MetaDomainEvent):
    originator_id: str
    originator_version: int
    timestamp: datetime
    actor: str
    request_id: str | None

    @staticmethod
    def create_timestamp() -> datetime:
        # Commands always pass ``timestamp`` from the application's clock; this is a fallback.
        return system_clock.now()


class LedgerCreated(LedgerEvent, CanInitAggregate[str]):
    originator_topic: str


class LedgerAggregate(BaseAggregate[str]):
    """Base of the ledger's aggregates: ``str`` ids, events that name their actor."""

    class Event(LedgerEvent):
        pass

    class Created(Event, LedgerCreated):
        pass

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, version={self.version})"


def payload(event: Any) -> dict[str, Any]:
    """The event's own fields, without the envelope every event has."""
    envelope = {"originator_id", "originator_version", "timestamp", "actor", "request_id", "originator_topic"}
    return {k: v for k, v in vars(event).items() if k not in envelope}
