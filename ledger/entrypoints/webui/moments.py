"""The moment a page is read at: the ledger now, or as of ``?at=<instant>`` or ``?position=<N>``
(read by ``params.read_moment``: an instant in range, pinned when it was relative).

Both go through ``ledger.at()``, the indexed time travel (no replay), so a slider step costs a
few index lookups. Without ``--strict`` the slider spans the log: from its first event's instant
to the ledger's clock; stepping goes one event (log position) back or on, and the label names the
position reached.

In strict mode (``docs/strict-mode.md``) a moment is an instant only: a log position counts every
account's events and the instant of an event is when some account acted, so neither may reach a
viewer who sees one account's share. ``?position=`` is refused (400), the slider names no position,
its left end is a fixed span before the ledger's clock (``STRICT_SPAN``, at a UTC midnight), and its
steps go one UTC day back or on: a calendar grid, not event times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Mapping

from ledger.domain.instants import EPOCH
from ledger.entrypoints.facade import Ledger, LedgerReader
from ledger.entrypoints.webui.errors import BadRequest
from ledger.entrypoints.webui.params import FUTURE, read_moment
from projections.browse import LedgerBrowser
from projections.queries import Moment

DAY = timedelta(days=1)
STRICT_SPAN = timedelta(days=365)  # strict mode: the slider reaches this far before the ledger's clock


@dataclass(frozen=True)
class TimeSlider:
    """Where the slider stands and what it spans. ``back`` and ``on`` are the moment parameters of
    one step back or on (``{}``: live; None: no step that way)."""

    moment: Moment
    live: bool
    by_position: bool
    position: int | None  # the log position the moment has reached (the head when live); None in strict mode
    first: datetime  # the slider's left end: the first event's instant (strict: a midnight STRICT_SPAN back)
    last: datetime  # its right end: the ledger's clock (or a later instant asked for)
    back: dict[str, str] | None
    on: dict[str, str] | None

    @property
    def instant(self) -> datetime:
        return self.moment.instant

    @property
    def unit(self) -> str:
        """What one step moves by: an ``event`` of the log, or (strict mode) a ``day``."""
        return "day" if self.position is None else "event"

    def params(self) -> dict[str, str]:
        """The query parameters that keep a link at this moment."""
        if self.live:
            return {}
        if self.by_position and self.position is not None:
            return {"position": str(self.position)}
        return {"at": iso(self.instant)}


def iso(instant: datetime) -> str:
    """An instant as the UI writes it in URLs and attributes: ISO 8601 in UTC, with a Z."""
    return instant.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def read_slider(ledger: Ledger, browser: LedgerBrowser, params: Mapping[str, str], *,
                strict: bool = False) -> TimeSlider:
    """The moment the parameters ask for; BadRequest for an instant or position that can't be read
    (strict: for any position; the message names neither the log's length nor an event's instant)."""
    now = ledger.now()
    at, position = read_moment(params, now, positions=not strict)
    reader: LedgerReader = ledger
    try:
        if position is not None:
            reader = ledger.at(position=position)
        elif at is not None:
            reader = ledger.at(at)
    except ValueError as problem:
        raise BadRequest(f"{problem}.") from None
    moment, live = reader.moment(), reader is ledger
    if strict:
        return _by_day(moment, live, now)
    head = ledger.view.position()
    reached = head if moment.position is None else moment.position
    if position is not None or reached == 0:
        previous = reached - 1 if reached > 0 else None
    else:  # an instant after the event reached: one step back is that event itself
        previous = reached if (browser.queries.instant_of(reached) or moment.instant) < moment.instant else reached - 1
    return TimeSlider(
        moment=moment, live=live, by_position=position is not None, position=reached,
        first=browser.first_instant() or now, last=max(now, moment.instant),
        back=None if previous is None else {"position": str(previous)},
        on={"position": str(reached + 1)} if reached < head else None,
    )


def _by_day(moment: Moment, live: bool, now: datetime) -> TimeSlider:
    """Strict mode's slider: from the ledger's clock and the instant asked for alone."""
    instant = moment.instant
    midnight = instant.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    back = midnight if midnight < instant else midnight - DAY
    on = midnight + DAY
    return TimeSlider(
        moment=moment, live=live, by_position=False, position=None,
        first=min(midnight, (now - STRICT_SPAN).astimezone(timezone.utc).replace(
            hour=0, minute=0, second=0, microsecond=0)),
        last=max(now, instant),
        back={"at": iso(back)} if back >= EPOCH else None,
        on=None if live or on > now + FUTURE else {} if on >= now > instant else {"at": iso(on)},
    )
