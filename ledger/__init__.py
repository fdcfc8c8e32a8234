"""Handshake Ledger: an event-sourced ledger of AWS Organizations handshakes."""

from __future__ import annotations

from typing import Any


def open_ledger(location: Any = None, **settings: Any) -> Any:
    """Open the ledger at ``location`` (a folder, ``:memory:`` or a ``postgresql://`` URL)."""
    from ledger.entrypoints.bootstrap import open_ledger as _open

    return _open(location, **settings)


__all__ = ["open_ledger"]
