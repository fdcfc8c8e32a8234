"""Instants as people write them: ISO 8601, ``now``, or relative to now (``-3d``, ``+12h``, ``-1w2d``).

The command line, ``ledger.at()`` and the HTTP ``/as-of/`` prefix all read instants here, so
they accept the same spellings. ``now`` is always passed in (time is injected, decision 15).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

RELATIVE = re.compile(r"([+-])((?:[0-9]+[wdhms])+)", re.ASCII)
UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ONE_US = timedelta(microseconds=1)
AHEAD = timedelta(days=366)  # how far past now an instant may be asked for: the ledger's range is EPOCH to now + AHEAD
SPELLINGS = "ISO 8601 (2026-03-01, 2026-03-01T12:00:00Z) or now, -3d, -12h, +2d"


def is_relative(text: str) -> bool:
    """Whether ``text`` names an instant relative to when it is read (``now``, ``-3d``)."""
    return text == "now" or RELATIVE.fullmatch(text) is not None


def with_iso_instants(value: Any) -> Any:
    """``value`` with every datetime in it (in lists and dicts too) as ISO 8601 text."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [with_iso_instants(v) for v in value]
    if isinstance(value, dict):
        return {k: with_iso_instants(v) for k, v in value.items()}
    return value


def parse_instant(value: str | datetime, now: datetime) -> datetime:
    """An aware UTC datetime; ValueError (naming the accepted spellings) for anything else.

    A date is its midnight UTC; a time without an offset is UTC; ``-1w2d`` is nine days ago.
    Written instants must fall between 1970-01-01 and a year after ``now`` (ValueError saying so).
    """
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    instant = _parsed(value, now)
    if not EPOCH <= instant <= now + AHEAD:
        raise ValueError(f"instant {value!r} is out of range: from {EPOCH:%Y-%m-%d} to {now + AHEAD:%Y-%m-%d} "
                         "(a year after now)")
    return instant


def _parsed(value: str, now: datetime) -> datetime:
    try:
        if value == "now":
            return now
        match = RELATIVE.fullmatch(value)
        if match:
            parts = re.findall(r"([0-9]+)([wdhms])", match.group(2))
            delta = timedelta(**{UNITS[unit]: int(n) for n, unit in parts})
            return now + (delta if match.group(1) == "+" else -delta)
        if not value.isascii():
            raise ValueError(value)
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise ValueError(f"invalid instant {value!r}: use {SPELLINGS}") from None


def to_us(instant: datetime) -> int:
    """Microseconds since the epoch: exact, orderable, the same on SQLite and PostgreSQL (the unit
    every table of the ledger keeps its instants in)."""
    return (instant - EPOCH) // ONE_US


def from_us(us: int) -> datetime:
    """The instant ``to_us`` stored: an aware UTC datetime."""
    return EPOCH + timedelta(microseconds=us)
