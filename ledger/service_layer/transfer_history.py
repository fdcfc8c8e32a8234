"""A billing transfer's history (``docs/decisions.md`` decisions 20-28): its recorded events, then the
instants derived from them at read time (the invitation's expiry, the start and end of the
transfer's effect, decision 22), which no event records. The CLI's ``show rt-…`` and the web UI's
transfer page read it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger.domain.aggregate import payload
from ledger.domain.transfer import REQUESTED, WITHDRAWN, ResponsibilityTransfer, in_effect_at, status_at


def transfer_history(app: Any, transfer_id: str, instant: datetime) -> list[dict[str, Any]]:
    """``[{"Version", "Timestamp", "What", "Actor", "RequestId", "Derived", "Details"}]`` up to ``instant``."""
    events = [e for e in app.events.get(transfer_id) if isinstance(e, ResponsibilityTransfer.Event)
              and e.timestamp <= instant]
    if not events:
        return []
    entries = [{"Version": e.originator_version, "Timestamp": e.timestamp, "What": type(e).__name__,
                "Actor": e.actor, "RequestId": e.request_id, "Derived": False,
                "Details": {k: v for k, v in payload(e).items() if k not in ("notified", "transfer")}}
               for e in events]
    invited: Any = events[0]
    stored = REQUESTED
    end: datetime | None = None
    for event in events[1:]:
        stored = {"Accepted": "ACCEPTED", "Declined": "DECLINED", "Canceled": "CANCELED",
                  "Withdrawn": WITHDRAWN}.get(type(event).__name__, stored)
        end = getattr(event, "end_at", end)
    start = invited.start_at
    derived = []
    if status_at(stored, invited.expires_at, instant) == "EXPIRED":
        derived.append((invited.expires_at, "Expired"))
    if in_effect_at(stored, start, end, start) and start <= instant:
        derived.append((start, "EffectStarted"))
        if end is not None and end <= instant:
            derived.append((end, "EffectEnded"))
    entries += [{"Version": None, "Timestamp": at, "What": what, "Actor": None, "RequestId": None, "Derived": True,
                 "Details": {}} for at, what in derived]
    return sorted(entries, key=lambda e: e["Timestamp"])
