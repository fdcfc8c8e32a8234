"""Figure 4: a full rebuild beside a raw decoded read of the log; and the versioned view's size on
disk beside a live-only copy of it."""

from __future__ import annotations

import time
from typing import Any

from benchkit.figures import Figure, size_label, throughput_figure, timed
from benchkit.seeding import Seeded


def raw_log_read(app: Any, stop: int | None = None) -> tuple[int, float]:
    """(events, seconds) to read the notification log in pages of 1000 and decode every event."""
    position, events = 0, 0
    began = time.perf_counter()
    while True:
        page = app.recorder.select_notifications(start=position, limit=1000, stop=stop, inclusive_of_start=False)
        if not page:
            return events, time.perf_counter() - began
        for notification in page:
            app.mapper.to_domain_event(notification)
        events += len(page)
        position = page[-1].id


def bench_rebuild(ledger: Any, size: int) -> Figure:
    """The rebuild between two raw reads; the faster raw read is the limit."""
    events, raw_before = raw_log_read(ledger.app)
    seconds, _ = timed(ledger.rebuild)
    _, raw_after = raw_log_read(ledger.app)
    return throughput_figure(
        "rebuild", f"Rebuild events/s @{size_label(size)} handshakes", events / seconds,
        "raw log read + decode events/s", events / min(raw_before, raw_after), "ev/s", target=0.8,
        events=events, seconds=seconds,
    )


VIEW_TABLES = ("handshakes", "handshake_documents", "accounts", "organizations")
LIVE_COPIES = {  # a live-only view: current versions, a handshake's document in its row, the same lookups
    "handshakes": ("SELECT h.*, d.arn, d.parties, d.resources FROM hv_handshakes h JOIN hv_handshake_documents d "
                   "ON d.id = h.id WHERE h.valid_to IS NULL", "id",
                   ("recipient_account_id", "target_email", "organization_id", "parent_id")),
    "accounts": ("SELECT * FROM hv_accounts WHERE valid_to IS NULL", "account_id", ("email_key", "organization_id")),
    "organizations": ("SELECT * FROM hv_organizations WHERE valid_to IS NULL", "organization_id", ()),
}


def bench_view_disk(store: Any, seeded: Seeded) -> Figure:
    """The view's tables and indexes beside a live-only copy of them: current versions alone, each
    handshake's document in its row, a primary key and the same lookup indexes."""
    with store.view_connection(seeded.ledger) as (db, _):
        for table, (select, key, lookups) in LIVE_COPIES.items():
            db.execute(f"DROP TABLE IF EXISTS live_{table}")
            db.execute(f"CREATE TABLE live_{table} AS {select}")
            db.execute(f"CREATE UNIQUE INDEX live_{table}_pk ON live_{table} ({key})")
            for column in lookups:
                db.execute(f"CREATE INDEX live_{table}_{column} ON live_{table} ({column}, requested_us, id)"
                           if table == "handshakes" else f"CREATE INDEX live_{table}_{column} ON live_{table} ({column})")
        if hasattr(db, "commit"):
            db.commit()
        versioned = sum(store.relation_bytes(db, f"hv_{table}") for table in VIEW_TABLES)
        live = sum(store.relation_bytes(db, f"live_{table}") for table in LIVE_COPIES)
        for table in LIVE_COPIES:
            db.execute(f"DROP TABLE live_{table}")
        if hasattr(db, "commit"):
            db.commit()
    return Figure("view_disk", f"Versioned view on disk @{size_label(seeded.size)} (tables + indexes)", versioned / 2**20,
                  "MB", "a live-only view: current versions, same indexes", live / 2**20, versioned / live, "<= 2x",
                  versioned <= 2 * live)
