"""Audit and time travel for one handshake, straight from its events and the audit log.

eventsourcing gives "as of version" (``repository.get(id, version=N)``) but not "as of an
instant": that is the last version whose event happened at or before the instant. The trail
also shows the refused calls on the handshake: they changed nothing, so they are no
event of it, but the audit log (``ledger/service_layer/audit.py``) has each, with its error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from ledger.domain.aggregate import payload
from ledger.domain.instants import to_us, with_iso_instants
from ledger.domain.errors import HandshakeNotFoundException
from ledger.domain.handshake import EXPIRED, LIVE_STATES, Handshake, state_at


@dataclass(frozen=True)
class HistoryEntry:
    """One line of the audit trail. Derived entries (expiry) have no version and no actor; a
    refused call has no version, its operation as ``what``, the state it found (None before the
    handshake existed) and its ``errorCode`` and ``errorMessage`` as details."""

    version: int | None
    timestamp: datetime
    what: str
    actor: str | None
    request_id: str | None
    state: str | None
    details: dict[str, Any] = field(default_factory=dict)
    derived: bool = False
    refused: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "Version": self.version, "Timestamp": self.timestamp.isoformat(), "What": self.what,
            "Actor": self.actor, "RequestId": self.request_id, "State": self.state,
            "Details": self.details, "Derived": self.derived, "Refused": self.refused,
        }


def _events(app: Any, handshake_id: str, as_of: datetime | None) -> list[Any]:
    events = [e for e in app.events.get(handshake_id) if isinstance(e, Handshake.Event)]
    if as_of is not None:
        events = [e for e in events if e.timestamp <= as_of]
    if not events:
        raise HandshakeNotFoundException(f"No handshake {handshake_id} in the ledger" + (f" at {as_of.isoformat()}." if as_of else "."))
    return events


def history(app: Any, handshake_id: str, now: datetime, as_of: datetime | None = None) -> list[HistoryEntry]:
    """Every event of the handshake, with the state after it, every refused call on it, and the
    derived expiry if due by then, in time order."""
    return history_page(app, handshake_id, now, as_of)[0]


def history_page(app: Any, handshake_id: str, now: datetime, as_of: datetime | None = None, *,
                 refusals: int | None = None, before: tuple[int, int] | None = None
                 ) -> tuple[list[HistoryEntry], tuple[int, int] | None]:
    """The history with at most ``refusals`` refused calls (None: all), the newest of those
    before ``before`` (event time in µs, audit position); and the key to ask for the older ones
    (None when there are no more). Events and the derived expiry are always all there."""
    instant = as_of or now
    entries: list[HistoryEntry] = []
    handshake: Handshake | None = None
    for event in _events(app, handshake_id, as_of):
        handshake = event.mutate(handshake)
        details = {k: with_iso_instants(v) for k, v in payload(event).items() if v not in (None, [], {})}
        entries.append(HistoryEntry(
            version=event.originator_version, timestamp=event.timestamp, what=_what(event),
            actor=event.actor, request_id=event.request_id, state=handshake.state, details=details,
        ))
    assert handshake is not None
    if handshake.state in LIVE_STATES and instant >= handshake.expires_at:
        entries.append(HistoryEntry(
            version=None, timestamp=handshake.expires_at, what="Expired", actor=None, request_id=None,
            state=EXPIRED, details={"reason": "no answer before ExpirationTimestamp"}, derived=True,
        ))
    refused, older = _refusals(app, handshake_id, as_of, [e for e in entries if e.version is not None], handshake,
                               limit=refusals, before=before)
    return sorted(entries + refused, key=lambda entry: entry.timestamp), older  # stable: ties keep the log's order


def _refusals(app: Any, handshake_id: str, as_of: datetime | None, recorded: list[HistoryEntry],
              handshake: Handshake, *, limit: int | None, before: tuple[int, int] | None
              ) -> tuple[list[HistoryEntry], tuple[int, int] | None]:
    """The refused calls on the handshake (the first resource of their audit record) by its
    parties, by then: newest first up to ``limit``, returned in time order with the key of the
    oldest one when more remain. A record names the handshake only when its caller could see it
    (``ledger/service_layer/audit.py``); the parties test also keeps out what older versions of
    the ledger attached by whatever id a caller sent."""
    parties = [p for p in (handshake.sender_account_id, app.recipient_of(handshake)) if p]
    where = f"resource_name = ? AND error_code IS NOT NULL AND account_id IN ({', '.join('?' * len(parties))})"
    params: list[Any] = [handshake_id, *parties]
    if as_of is not None:
        where += " AND event_time_us <= ?"
        params.append(to_us(as_of))
    if before is not None:
        where += " AND (event_time_us < ? OR (event_time_us = ? AND id < ?))"
        params += [before[0], before[0], before[1]]
    calls = app.audit_log.select_calls(where, params, order="event_time_us DESC, id DESC",
                                       limit=None if limit is None else limit + 1)
    older = None
    if limit is not None and len(calls) > limit:
        calls = calls[:limit]
        older = (to_us(calls[-1].event_time), calls[-1].position or 0)
    entries = []
    for call in reversed(calls):
        found = [entry.state for entry in recorded if entry.timestamp <= call.event_time and entry.state]
        entries.append(HistoryEntry(
            version=None, timestamp=call.event_time, what=call.event_name, actor=call.account_id,
            request_id=call.request_id,
            state=state_at(found[-1], handshake.expires_at, call.event_time) if found else None,
            details={"errorCode": call.error_code, "errorMessage": call.error_message}, refused=True,
        ))
    return entries, older


def handshake_as_of(app: Any, handshake_id: str, *, version: int | None = None,
                    instant: datetime | None = None) -> Handshake:
    """The handshake as it stood after ``version``, or at ``instant`` (not found before it existed)."""
    if instant is not None:
        version = _events(app, handshake_id, instant)[-1].originator_version
    try:
        handshake = app.repository.get(handshake_id, version=version)
    except AggregateNotFoundError:
        raise HandshakeNotFoundException(f"No handshake {handshake_id} in the ledger.") from None
    if not isinstance(handshake, Handshake):
        raise HandshakeNotFoundException(f"No handshake {handshake_id} in the ledger.")
    return handshake


def _what(event: Any) -> str:
    """The audit word for an event: a handshake's creation is its request."""
    return "Requested" if isinstance(event, Handshake.Created) else type(event).__name__

