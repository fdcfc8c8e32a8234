"""The moment a page is read at: the ledger now, or as of ``?at=<instant>`` or ``?position=<N>``
(read by ``params.read_moment``: an instant in range, pinned when it was relative).

Both go through ``ledger.at()``, the indexed time travel (no replay), so a slider step costs a
few index lookups. The slider itself spans the log: from its first event's instant to the
ledger's clock; stepping goes one event (log position) back or on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping

from ledger.entrypoints.facade import Ledger, LedgerReader
from ledger.entrypoints.webui.errors import BadRequest
from ledger.entrypoints.webui.params import read_moment
from projections.browse import LedgerBrowser
from projections.queries import Moment


@dataclass(frozen=True)
class TimeSlider:
    """Where the slider stands and what it spans."""

    moment: Moment
    live: bool
    by_position: bool
    position: int  # the log position the moment has reached (the head when live)
    first: datetime  # the slider's left end: the first event's instant
    last: datetime  # its right end: the ledger's clock (or a later instant asked for)
    previous: int | None  # one event back (None before the first)
    next: int | None  # one event on (None at the head)

    @property
    def instant(self) -> datetime:
        return self.moment.instant

    def params(self) -> dict[str, str]:
        """The query parameters that keep a link at this moment."""
        if self.live:
            return {}
        if self.by_position:
            return {"position": str(self.position)}
        return {"at": iso(self.instant)}


def iso(instant: datetime) -> str:
    """An instant as the UI writes it in URLs and attributes: ISO 8601 in UTC, with a Z."""
    return instant.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def read_slider(ledger: Ledger, browser: LedgerBrowser, params: Mapping[str, str]) -> TimeSlider:
    """The moment the parameters ask for; BadRequest for an instant or position that can't be read."""
    at, position = read_moment(params, ledger.now())
    head = ledger.view.position()
    reader: LedgerReader = ledger
    try:
        if position is not None:
            reader = ledger.at(position=position)
        elif at is not None:
            reader = ledger.at(at)
    except ValueError as problem:
        raise BadRequest(f"{problem}.") from None
    moment = reader.moment()
    reached = head if moment.position is None else moment.position
    if position is not None or reached == 0:
        previous = reached - 1 if reached > 0 else None
    else:  # an instant after the event reached: one step back is that event itself
        previous = reached if (browser.queries.instant_of(reached) or moment.instant) < moment.instant else reached - 1
    now = ledger.now()
    return TimeSlider(
        moment=moment, live=reader is ledger, by_position=position is not None, position=reached,
        first=browser.first_instant() or now, last=max(now, moment.instant), previous=previous,
        next=reached + 1 if reached < head else None,
    )
