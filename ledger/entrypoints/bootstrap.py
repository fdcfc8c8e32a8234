"""The one composition root: builds the ledger (events), its views and its clients from settings.

Storage: a folder with SQLite files (default ``handshake-ledger-data/``, or
``HANDSHAKE_LEDGER_DATA``: ``settings.data_location``), ``:memory:`` for tests, or a ``postgresql://`` URL.
"""

from __future__ import annotations

import os

from ledger.domain.clock import Clock, system_clock
from ledger.entrypoints.client import Clients
from ledger.entrypoints.facade import Ledger
from ledger.entrypoints.settings import data_location
from ledger.service_layer.application import HandshakeLedger, Limits
from ledger.storage.stores import open_store, schema_turn
from projections.paging import TokenCodec
from projections.view import HandshakeView


def open_ledger(location: str | os.PathLike[str] | None = None, *, clock: Clock = system_clock,
                limits: Limits = Limits()) -> Ledger:
    """Open (creating if needed) the ledger at ``location`` and bring its views up to date."""
    location = data_location(location)
    with schema_turn(location):  # processes opening a fresh location at once
        events = open_store(location, HandshakeLedger.name)
        app = HandshakeLedger(env=events.env, clock=clock, limits=limits, writers_lock=events.writers_lock())
        views = open_store(location, "HandshakeViews")
        view = HandshakeView(views.tracking_recorder(), upstream=app.name, placeholder=views.placeholder)
        secret = views.secret()
    ledger = Ledger(app, views, view, TokenCodec(secret), clients_for=Clients)  # the views' pool: no extra connection
    ledger.catch_up()
    return ledger
