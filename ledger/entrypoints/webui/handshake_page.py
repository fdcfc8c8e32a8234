"""One handshake: its timeline drawn to scale, every recorded event (actor, request id, time), the
derived expiry marked as derived, retention's end, its parent and children, and the
DescribeHandshake answer as it stood after each version and as of the slider's moment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger.domain import errors
from ledger.service_layer.requests import is_valid
from ledger.entrypoints.webui.context import Page, PageRequest
from ledger.entrypoints.webui.errors import BadRequest, NotFound
from ledger.entrypoints.webui.params import Rule, pattern, shown
from ledger.entrypoints.webui.timeline import LEFT, RIGHT, WIDTH, Mark, place_labels, ticks_between
from ledger.domain.handshake import LIVE_STATES, RETENTION
from ledger.service_layer.history import HistoryEntry
from projections.aws_reads import handshake_answer

SHOWN_DETAILS = ("child_id", "cause", "expires_at")
REFUSALS_SHOWN = 50  # refused calls on one page of a handshake's events, newest first; older ones a link away


def handshake_page(request: PageRequest, handshake_id: str) -> Page:
    if not is_valid("HandshakeId", handshake_id):
        raise NotFound(f"{shown(handshake_id)} is not a handshake id (h- and 8 to 32 lower-case letters or digits).")
    not_found = NotFound(f"We can't find a handshake with the HandshakeId {handshake_id}.")  # as the API says it
    now_shape, note = request.describe(handshake_id)
    if request.scope.account_id is not None and now_shape is None:
        raise not_found  # a scope is not told whether it exists (decision 9)
    try:
        entries, older = request.ledger.history_page(handshake_id, refusals=REFUSALS_SHOWN,
                                                     before=_key(request, handshake_id))
    except errors.HandshakeNotFoundException:
        raise not_found from None
    created = entries[0].details
    moment = request.moment.instant
    return Page("handshake.html", {
        "section": "handshakes", "title": handshake_id, "handshake_id": handshake_id, "created": created,
        "shape": now_shape, "note": note, "entries": [_entry(e, request, moment) for e in entries],
        "timeline": timeline(entries, created, moment),
        "versions": [(e.version, request.ledger.handshake_as_of(handshake_id, version=e.version))
                     for e in entries if e.version is not None],
        "parent": created.get("parent_id"),
        "older_refusals": request.link(f"/ui/handshakes/{handshake_id}", refused_before=request.ledger.reads.tokens.issue(
            _refusals_scope(handshake_id), list(older))) if older else None,
        "children": _children(request, handshake_id),
    })


# The page's own parameters (the moment's are everyone's): where the older refused calls begin.
# Its value is sealed and signed like the API's NextTokens: the audit position it carries counts
# every account's calls, which a strict viewer must not learn.
PARAMETERS: dict[str, Rule] = {"refused_before": pattern(r"[A-Za-z0-9_=.-]{1,512}", "a link from the page itself")}


def _refusals_scope(handshake_id: str) -> dict[str, str]:
    return {"page": "refused calls", "handshake": handshake_id}


def _key(request: PageRequest, handshake_id: str) -> tuple[int, int] | None:
    """Where the older refused calls begin (event time in µs, audit position), from the page's own
    sealed link; None for the newest. BadRequest for any other value."""
    text = request.params.get("refused_before")
    if not text:
        return None
    try:
        time_us, position = request.ledger.reads.tokens.read(text, _refusals_scope(handshake_id))
    except (errors.InvalidInputException, ValueError):
        raise BadRequest(f"Invalid refused_before {shown(text)}: a link from the page itself.") from None
    if not (isinstance(time_us, int) and isinstance(position, int)):
        raise BadRequest(f"Invalid refused_before {shown(text)}: a link from the page itself.")
    return time_us, position


def _entry(entry: HistoryEntry, request: PageRequest, moment: datetime) -> dict[str, Any]:
    """A row of the events table. A scope is shown the request ids of its own calls only."""
    own = request.scope.account_id in (None, entry.actor)
    details = {k: v for k, v in entry.details.items() if k in SHOWN_DETAILS}
    if entry.what == "Requested" and entry.details.get("children"):
        details["approvals asked"] = len(entry.details["children"])
    return {"entry": entry, "request_id": entry.request_id if own else None, "details": details,
            "later": entry.timestamp > moment}


def _children(request: PageRequest, handshake_id: str) -> list[dict[str, Any]]:
    """APPROVE_ALL_FEATURES children as they stood at the moment (those the scope may describe)."""
    rows = request.browser.children(handshake_id, request.moment)
    if request.scope.account_id is None:
        return [handshake_answer(row, request.moment) for row in rows]
    return [shape for shape, _ in (request.describe(row["id"]) for row in rows) if shape is not None]


def timeline(entries: list[HistoryEntry], created: dict[str, Any], moment: datetime) -> dict[str, Any]:
    """Marks and ticks on an axis from the request to retention's end (or the moment, if later)."""
    requested, expires = entries[0].timestamp, datetime.fromisoformat(created["expires_at"])
    recorded = [e for e in entries if not e.derived]
    ended = [e for e in entries if e.state not in LIVE_STATES]
    end_of_retention = (ended[0].timestamp if ended else expires) + RETENTION
    start, stop = min(requested, moment), max(end_of_retention, moment)
    scale = (RIGHT - LEFT) / max((stop - start).total_seconds(), 1.0)

    def x(when: datetime) -> float:
        return round(LEFT + (when - start).total_seconds() * scale, 1)

    marks = [Mark(x(e.timestamp), e.timestamp, e.what, "event", e.timestamp > moment) for e in recorded]
    if any(e.derived for e in entries):
        marks.append(Mark(x(expires), expires, "Expired (derived)", "derived", expires > moment))
    elif not ended:
        marks.append(Mark(x(expires), expires, "ExpirationTimestamp", "expires", expires > moment))
    marks.append(Mark(x(end_of_retention), end_of_retention, "Retention ends" if ended else "Retention ends (latest)",
                      "retention", end_of_retention > moment))
    marks = place_labels(marks)
    return {
        "width": WIDTH, "left": LEFT, "right": RIGHT, "marks": marks, "rows": 1 + max(m.row for m in marks),
        "moment": Mark(x(moment), moment, "as of", "moment"),
        "ticks": [(x(t), t) for t in ticks_between(start, stop)],
        "live_until": x(ended[0].timestamp if ended else expires),
        "requested": x(requested), "end": x(end_of_retention),
    }
