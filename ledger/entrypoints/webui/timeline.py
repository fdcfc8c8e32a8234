"""Timelines drawn to scale (a handshake's, a transfer's): marks, their labels placed on rows so
that none overlaps, and ticks at whole hours or days, at most MAX_TICKS of them. Units: the SVG's."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

WIDTH, LEFT, RIGHT = 1000, 30, 970  # the SVG's user units: the axis runs from LEFT to RIGHT
TICK_STEPS = (timedelta(hours=1), timedelta(hours=6), timedelta(days=1), timedelta(days=2), timedelta(weeks=1),
              timedelta(weeks=2), timedelta(days=30), timedelta(days=90), timedelta(days=365))
MAX_TICKS = 8
CHAR_WIDTH, ROWS = 7.5, 6  # labels: an estimate of their width in user units; rows they may take


@dataclass(frozen=True)
class Mark:
    """A point on the timeline: ``kind`` is event, derived, expires, retention or moment."""

    x: float
    when: datetime
    label: str
    kind: str
    later: bool = False  # after the slider's moment
    row: int = 0  # the label's row above the axis: labels that would overlap go higher
    labelled: bool = True  # False when every row is taken there (the events table lists it anyway)

    @property
    def anchor_end(self) -> bool:
        """Labels near the right edge end at their mark instead of starting there."""
        return self.x + self.width > RIGHT + LEFT

    @property
    def width(self) -> float:
        return CHAR_WIDTH * len(self.label) + 10


def place_labels(marks: list[Mark]) -> list[Mark]:
    """Each label on the lowest row where it overlaps no label before it; unlabelled if none is free."""
    ends: list[float] = []
    placed = []
    for mark in sorted(marks, key=lambda m: m.x):
        low, high = (mark.x - mark.width, mark.x) if mark.anchor_end else (mark.x, mark.x + mark.width)
        row = next((r for r, end in enumerate(ends) if end < low), len(ends) if len(ends) < ROWS else None)
        if row is None:
            placed.append(replace(mark, row=ROWS - 1, labelled=False))
            continue
        if row < len(ends):
            ends[row] = high
        else:
            ends.append(high)
        placed.append(replace(mark, row=row))
    return placed


def ticks_between(start: datetime, stop: datetime) -> list[datetime]:
    """Whole hours or days between start and stop, at most MAX_TICKS of them, whatever the span."""
    span = stop - start
    step = next((s for s in TICK_STEPS if span / s <= MAX_TICKS),
                timedelta(days=-(-span.days // MAX_TICKS) + 1))  # longer than TICK_STEPS: whole days
    first = start.replace(minute=0, second=0, microsecond=0)
    if step >= timedelta(days=1):
        first = first.replace(hour=0)
    ticks, tick = [], first
    while tick <= stop:
        if tick >= start:
            ticks.append(tick)
        tick += step
    return ticks
