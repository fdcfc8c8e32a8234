"""What every page reads: the ledger at the slider's moment, the viewer's scope, the query
parameters the page declared (checked by ``params.py``: a bad one is a 400, an undeclared one is
dropped), and links that keep the moment and those parameters only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlencode

from ledger.domain import errors
from ledger.entrypoints.facade import Ledger
from ledger.entrypoints.webui.moments import TimeSlider
from ledger.entrypoints.webui.params import MOMENT_PARAMS, parse_cursor
from ledger.entrypoints.webui.rendering import when
from projections.browse import LedgerBrowser, Scope
from projections.aws_reads import handshake_answer


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

    # -- parameters (read and checked by ``params.read_query``: only the page's declared ones) --------

    def value(self, name: str) -> str | None:
        """A declared parameter as checked, None when absent or empty."""
        return self.params.get(name)

    def cursor(self, name: str) -> tuple[int, str] | None:
        """A keyset cursor ``<microseconds>.<id>`` as the page's own links write it."""
        value = self.params.get(name)
        return None if value is None else parse_cursor(value)

    # -- links ----------------------------------------------------------------------------------

    def link(self, path: str, **params: Any) -> str:
        """``path`` at this moment, with ``params`` (None and empty values left out)."""
        return url_of(path, {**self.slider.params(), **params})

    def here(self, **changes: Any) -> str:
        """This page at this moment with its parameters, some changed (None removes one)."""
        return url_of(self.path, {**self.slider.params(), **self.kept(), **changes})

    def kept(self) -> dict[str, str]:
        """The page's parameters but the moment (a relative one is pinned by ``slider.params``)."""
        return {k: v for k, v in self.params.items() if k not in MOMENT_PARAMS}

    def at_step(self, moment: Mapping[str, str] | None) -> str:
        """This page (from its first page) at a slider step's moment parameters; "" for no step."""
        if moment is None:
            return ""
        kept = {k: v for k, v in self.kept().items() if k not in ("after", "before")}
        return url_of(self.path, {**kept, **moment})

    def moment_summary(self) -> dict[str, Any]:
        """Where the slider stands, for ``static/app.js`` (after a swap it comes as ``X-Moment``).
        In strict mode it names no log position (``moments.py``)."""
        slider = self.slider
        label = when(slider.instant) + ("" if slider.position is None else f" · position {slider.position}")
        summary: dict[str, Any] = {
            "label": label + (" · live" if slider.live else ""), "epoch": int(slider.instant.timestamp()),
            "live": slider.live, "unit": slider.unit,
            "back": self.at_step(slider.back), "on": self.at_step(slider.on),
        }
        if slider.position is not None:
            summary["position"] = slider.position
        return summary

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


def url_of(path: str, params: Mapping[str, Any]) -> str:
    """``path`` with ``params`` as its query (None and empty values left out)."""
    kept = {k: str(v) for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path
