"""The one clock. Nothing else in the domain reads the time.

It reads the system time through ``datetime.now``, so freezegun (tests) and
``faketime`` (a server process) both move it.
"""

from __future__ import annotations

from datetime import datetime, timezone


class Clock:
    """Tells the current instant as a timezone-aware UTC datetime."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


system_clock = Clock()
