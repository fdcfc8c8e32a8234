"""What every page reads: the ledger at the slider's moment, the viewer's scope, the query
parameters (each checked as the API checks its input: a bad one is a 400), and links that keep
the moment."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping
from urllib.parse import urlencode

from ledger.domain import errors
from ledger.service_layer.requests import is_valid
from ledger.entrypoints.facade import Ledger
from ledger.entrypoints.webui.errors import BadRequest
from ledger.entrypoints.webui.moments import TimeSlider
from ledger.entrypoints.webui.rendering import when
from projections.browse import LedgerBrowser, Scope
from projections.aws_reads import handshake_answer

MOMENT_PARAMS = ("at", "position")
TEXT = r"[^\x00-\x1f\x7f]{1,256}"  # printable: no control characters
CURSOR = re.compile(r"([0-9]{1,19})\.([0-9a-z-]{1,64})", re.ASCII)


@dataclass(frozen=True)
class Page:
    """A template and its variables; ``status`` 200 unless the page says otherwise."""

    template: str
    variables: dict[str, Any] = field(default_factory=dict)
    status: int = 200


@dataclass(frozen=True)
class Redirect:
    location: str


@dataclass(frozen=True)
class PageRequest:
    ledger: Ledger
    browser: LedgerBrowser
    slider: TimeSlider
    scope: Scope
    path: str
    params: Mapping[str, str]

    @property
    def moment(self) -> Any:
        return self.slider.moment

    # -- parameters -------------------------------------------------------------------------------

    def text(self, name: str, *, shape: str | None = None, choices: Iterable[str] = (),
             pattern: str | None = None) -> str | None:
        """A parameter, None when absent or empty; BadRequest unless it is valid (an AWS shape such as
        ``AccountId``, one of ``choices``, or a full match of ``pattern``)."""
        value = self.params.get(name, "").strip()
        if not value:
            return None
        allowed = tuple(choices)
        if shape:
            valid, expected = is_valid(shape, value), f"a valid {shape}"
        elif allowed:
            valid, expected = value in allowed, f"one of {', '.join(allowed)}"
        else:
            valid, expected = bool(re.fullmatch(pattern or TEXT, value)), "printable text, 256 characters at most"
        if not valid:
            raise BadRequest(f"Invalid {name} {value!r}: {expected}.")
        return value

    def cursor(self, name: str) -> tuple[int, str] | None:
        """A keyset cursor ``<microseconds>.<id>`` as the page's own links write it."""
        value = self.params.get(name)
        if not value:
            return None
        match = CURSOR.fullmatch(value)
        if not match:
            raise BadRequest(f"Invalid {name} {value!r}: follow the page's own links.")
        return int(match.group(1)), match.group(2)

    # -- links ----------------------------------------------------------------------------------

    def link(self, path: str, **params: Any) -> str:
        """``path`` at this moment, with ``params`` (None and empty values left out)."""
        return _url(path, {**self.slider.params(), **params})

    def here(self, **changes: Any) -> str:
        """This page with some parameters changed (None removes one)."""
        return _url(self.path, {**self.params, **changes})

    def at_position(self, position: int) -> str:
        """This page (from its first page) as of a log position: the slider's steps."""
        kept = {k: v for k, v in self.params.items() if k not in (*MOMENT_PARAMS, "after", "before")}
        return _url(self.path, {**kept, "position": position})

    def moment_summary(self) -> dict[str, Any]:
        """Where the slider stands, for ``static/app.js`` (after a swap it comes as ``X-Moment``)."""
        slider = self.slider
        return {
            "label": f"{when(slider.instant)} · position {slider.position}" + (" · live" if slider.live else ""),
            "epoch": int(slider.instant.timestamp()), "position": slider.position, "live": slider.live,
            "back": self.at_position(slider.previous) if slider.previous is not None else "",
            "on": self.at_position(slider.next) if slider.next is not None else "",
        }

    # -- one handshake as of the moment ---------------------------------------------------------------

    def describe(self, handshake_id: str) -> tuple[dict[str, Any] | None, str | None]:
        """The DescribeHandshake answer as of the moment, and a note when there is none or it is
        hidden from the API's views. A scope sees exactly what its account's DescribeHandshake
        answered; the whole ledger also shows a handshake past its retention (its events stay)."""
        moment = self.moment
        if self.scope.account_id is not None:
            try:
                answer = self.ledger.reads.describe_handshake(self.scope.account_id, handshake_id, moment)
            except errors.HandshakeNotFoundException:
                return None, "not visible to this account as of this moment"
            return answer["Handshake"], None
        row = self.ledger.queries.handshake(handshake_id, moment)
        if row is None:
            return None, "not yet requested as of this moment"
        note = "past retention: gone from every API view" if row["visible_until_us"] <= moment.instant_us else None
        return handshake_answer(row, moment), note


def _url(path: str, params: Mapping[str, Any]) -> str:
    kept = {k: str(v) for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path
