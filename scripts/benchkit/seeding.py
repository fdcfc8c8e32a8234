"""A large ledger, seeded in bulk through the application: organizations, recipients and handshakes
saved thousands per transaction, then the view caught up in big batches."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from benchkit.figures import SPREAD, Plan, size_label
from ledger import open_ledger
from ledger.domain.account import Account, default_email, default_name
from ledger.domain.handshake import INVITE, INVITE_LIFETIME, OPEN, Handshake
from ledger.domain.ids import handshake_arn
from ledger.domain.organization import ALL, Organization
from ledger.domain.clock import system_clock


def management(n: int) -> str:
    return f"1{n:011d}"


def invitee(org: int, n: int) -> str:
    return f"3{org:07d}{n:04d}"


@dataclass
class Seed:
    """Deterministic bulk data: handshake ``i`` belongs to organization ``i // org_size``."""

    org_size: int
    capacity: int
    base: datetime
    count: int = 0
    recipients: int = 0
    seconds: float = 0.0
    events: int = 0

    def instant(self, i: int) -> datetime:
        return self.base + SPREAD * (i / self.capacity)

    def handshake_id(self, i: int) -> str:
        """Random-looking, like the service's own ids: the primary key sees random inserts."""
        return "h-" + hashlib.blake2b(i.to_bytes(8, "big"), digest_size=8).hexdigest()

    def organization_id(self, org: int) -> str:
        return f"o-{org:010d}"

    @property
    def pool(self) -> int:
        """Ten organizations share a pool of recipients, each receiving 20 handshakes from each."""
        return self.org_size // 20

    def recipient(self, i: int) -> str:
        org, j = divmod(i, self.org_size)
        return f"2{(org // 10) * self.pool + j % self.pool:011d}"

    def sender(self, i: int) -> str:
        return management(i // self.org_size)

    def state(self, i: int) -> str:
        return ("OPEN", "DECLINED", "ACCEPTED", "CANCELED")[i % 4]


def seed_organization(seed: Seed, org: int) -> list[Any]:
    """Made just before its first handshake: the log is written in time order, as a real one is."""
    mgmt, timestamp = management(org), seed.instant(org * seed.org_size) - timedelta(microseconds=2)
    email = default_email(mgmt)
    stamp = {"actor": mgmt, "request_id": None, "timestamp": timestamp}
    organization = Organization(
        id=seed.organization_id(org), root_id=f"r-{org:04d}", feature_set=ALL, management_account_id=mgmt,
        management_email=email, management_name=default_name(mgmt), **stamp,
    )
    account = Account(id=mgmt, email=email, name=default_name(mgmt), **stamp)
    account.join(organization_id=organization.id, method="CREATED", handshake_id=None, **stamp)
    return [organization, account]


def seed_recipient(seed: Seed, n: int, first: int) -> list[Any]:
    """A recipient account, seen just before handshake ``first`` (its first)."""
    account_id = f"2{n:011d}"
    stamp = {"actor": account_id, "request_id": None, "timestamp": seed.instant(first) - timedelta(microseconds=1)}
    return [Account(id=account_id, email=default_email(account_id), name=default_name(account_id), **stamp)]


def seed_handshake(seed: Seed, i: int) -> Handshake:
    handshake_id, org = seed.handshake_id(i), i // seed.org_size
    mgmt, target, timestamp = seed.sender(i), seed.recipient(i), seed.instant(i)
    organization_id = seed.organization_id(org)
    handshake = Handshake(
        id=handshake_id, action=INVITE, arn=handshake_arn(mgmt, organization_id, INVITE, handshake_id),
        organization_id=organization_id, sender_account_id=mgmt, recipient_account_id=target,
        target_type="ACCOUNT", target_id=target,
        parties=[{"Type": "ORGANIZATION", "Id": organization_id}, {"Type": "ACCOUNT", "Id": target}],
        resources=[{"Type": "ORGANIZATION", "Value": organization_id, "Resources": [
            {"Type": "MASTER_EMAIL", "Value": default_email(mgmt)},
            {"Type": "MASTER_NAME", "Value": default_name(mgmt)},
            {"Type": "ORGANIZATION_FEATURE_SET", "Value": ALL},
        ]}, {"Type": "ACCOUNT", "Value": target}],
        state=OPEN, expires_at=timestamp + INVITE_LIFETIME, parent_id=None, children=[], tags=[],
        actor=mgmt, request_id=None, timestamp=timestamp,
    )
    answer = {"DECLINED": handshake.decline, "ACCEPTED": handshake.accept, "CANCELED": handshake.cancel}
    state = seed.state(i)
    if state in answer:
        actor = mgmt if state == "CANCELED" else target
        gap = SPREAD / seed.capacity  # answered before the next one is requested: the log in time order
        answer[state](actor=actor, request_id=None, timestamp=timestamp + gap / 2)
    return handshake


def grow(ledger: Any, seed: Seed, size: int) -> None:
    """Bulk-save handshakes (and their organizations and recipients) until the ledger holds ``size``."""
    # psycopg's pipelined insert of one huge save stalls (both ends wait on full buffers): smaller saves there.
    batch = 1_000 if ledger.store.kind == "postgres" else 10_000
    began, first = time.perf_counter(), ledger.app.recorder.max_notification_id() or 0
    pending: list[Any] = []
    for i in range(seed.count, size):
        if i % seed.org_size == 0:
            pending += seed_organization(seed, i // seed.org_size)
            while seed.recipients < (i // seed.org_size // 10 + 1) * seed.pool:
                pending += seed_recipient(seed, seed.recipients, i)
                seed.recipients += 1
        pending.append(seed_handshake(seed, i))
        if len(pending) >= batch:
            ledger.app.save(*pending)
            pending = []
    if pending:
        ledger.app.save(*pending)
    seed.count = size
    ledger.view.catch_up(ledger.app, batch=20_000)
    seed.seconds += time.perf_counter() - began
    seed.events += (ledger.app.recorder.max_notification_id() or 0) - first


@dataclass
class Seeded:
    """A ledger grown to one size, open."""

    size: int
    location: str
    ledger: Any
    seed: Seed


def seed_ledgers(store: Any, plan: Plan, log: Callable[[str], None]) -> list[Seeded]:
    """One ledger per size, each grown in bulk from empty."""
    base = system_clock.now() - SPREAD - timedelta(minutes=1)
    ledgers = []
    for size in plan.sizes:
        log(f"seeding {size_label(size)} handshakes ...")
        location = store.location(f"seeded-{size_label(size)}")
        seed = Seed(plan.org_size, size, base)
        ledger = open_ledger(location)
        grow(ledger, seed, size)
        ledgers.append(Seeded(size, location, ledger, seed))
    return ledgers
