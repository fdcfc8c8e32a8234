"""A demo at any size: N handshakes written in bulk, one organization per 1,000 of them.

The hand-played story (``demo.py``) sends every command through a client: right for a few
hundred handshakes, hours for a million. Here the same kinds of events (organizations, accounts,
invitations accepted, declined, canceled or left to expire, some still open) are made by the
aggregates themselves and written through the application's recorder thousands per transaction,
in time order, so the log, its replay and the views are exactly what commands would have made.
Every organization's history has the same size at every N: ``ORG_SIZE`` handshakes over ``SPAN``.
No audit records are written (no API call was made).
"""

from __future__ import annotations

import hashlib
import heapq
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from ledger.domain.account import Account, default_email, default_name
from ledger.domain.handshake import INVITE, INVITE_LIFETIME, OPEN, Handshake
from ledger.domain.ids import handshake_arn
from ledger.domain.organization import ALL, Organization

ORG_SIZE = 1_000  # handshakes per organization, at every N
RECIPIENTS = 50  # accounts each organization invites again and again
MOST = 10_000_000  # handshakes a demo writes at most
SPAN = timedelta(weeks=6)
# Outcomes and their weights; "none": nobody answers (OPEN, then EXPIRED after 15 days).
OUTCOMES = (("accept", 45), ("decline", 20), ("cancel", 15), ("none", 20))
ANSWER: dict[str, Any] = {"accept": Handshake.Accepted, "decline": Handshake.Declined,
                          "cancel": Handshake.Canceled}


@dataclass
class BulkSeeded:
    """What the bulk demo wrote, for the summary."""

    location: str
    start: datetime
    end: datetime
    handshakes: int
    organizations: list[tuple[str, str]]  # (organization id, management account id)
    accounts: int
    events: int = 0
    examples: dict[str, str] = field(default_factory=dict)  # "accept" -> a handshake id ended that way


def organizations_for(handshakes: int) -> int:
    """About one organization per ``ORG_SIZE`` handshakes (at least one)."""
    return max(1, round(handshakes / ORG_SIZE))


class BulkSeeder:
    """Writes the events of ``handshakes`` handshakes in time order, ``batch`` per transaction.

    ``write(events)``: stores domain events in one transaction (the application's recorder).
    """

    def __init__(self, write: Callable[[list[Any]], None], *, handshakes: int, seed: int, end: datetime,
                 location: str, batch: int = 10_000):
        self.write, self.batch = write, batch
        self.rng = random.Random(seed)
        self.seed = seed
        self.orgs = organizations_for(handshakes)
        self.result = BulkSeeded(location, end - SPAN, end, handshakes, [], self.orgs * (1 + RECIPIENTS))
        self._pending: list[Any] = []
        self._answers: list[tuple[datetime, int, str, str, str]] = []  # (when, n, outcome, id, actor)

    def run(self) -> BulkSeeded:
        start, n = self.result.start, self.result.handshakes
        for org in range(self.orgs):
            self._organization(org, start + timedelta(microseconds=org))
        first = start + timedelta(seconds=1)
        step = (self.result.end - first) / n
        for i in range(n):
            when = first + step * (i + self.rng.random() * 0.9)
            self._answer_until(when)
            self._handshake(i, when)
        self._answer_until(self.result.end)
        self._flush()
        return self.result

    # -- the cast ------------------------------------------------------------------------------

    def _organization(self, org: int, when: datetime) -> None:
        management = f"1{org:011d}"
        email, name = default_email(management), default_name(management)
        organization = Organization(id=f"o-{org:010d}", root_id=f"r-{org:04d}", feature_set=ALL,
                                    management_account_id=management, management_email=email,
                                    management_name=name, actor=management, request_id=None, timestamp=when)
        account = Account(id=management, email=email, name=name, actor=management, request_id=None, timestamp=when)
        account.join(organization_id=organization.id, method="CREATED", handshake_id=None, actor=management,
                     request_id=None, timestamp=when)
        self.result.organizations.append((organization.id, management))
        self._add(organization, account)
        for j in range(RECIPIENTS):
            recipient = self._recipient(org, j)
            self._add(Account(id=recipient, email=default_email(recipient), name=default_name(recipient),
                              actor=recipient, request_id=None, timestamp=when))

    @staticmethod
    def _recipient(org: int, j: int) -> str:
        return f"2{org * RECIPIENTS + j:011d}"

    # -- invitations ---------------------------------------------------------------------------

    def _handshake(self, i: int, when: datetime) -> None:
        org = i % self.orgs
        organization_id, management = self.result.organizations[org]
        target = self._recipient(org, self.rng.randrange(RECIPIENTS))
        handshake_id = "h-" + hashlib.blake2b(f"{self.seed}:{i}".encode(), digest_size=8).hexdigest()
        handshake = Handshake(
            id=handshake_id, action=INVITE, arn=handshake_arn(management, organization_id, INVITE, handshake_id),
            organization_id=organization_id, sender_account_id=management, recipient_account_id=target,
            target_type="ACCOUNT", target_id=target,
            parties=[{"Type": "ORGANIZATION", "Id": organization_id}, {"Type": "ACCOUNT", "Id": target}],
            resources=[{"Type": "ORGANIZATION", "Value": organization_id, "Resources": [
                {"Type": "MASTER_EMAIL", "Value": default_email(management)},
                {"Type": "MASTER_NAME", "Value": default_name(management)},
                {"Type": "ORGANIZATION_FEATURE_SET", "Value": ALL},
            ]}, {"Type": "ACCOUNT", "Value": target}],
            state=OPEN, expires_at=when + INVITE_LIFETIME, parent_id=None, children=[], tags=[],
            actor=management, request_id=None, timestamp=when,
        )
        self._add(handshake)
        outcome = self.rng.choices([o for o, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
        if outcome == "cancel":
            answered, actor = when + timedelta(hours=2) + timedelta(days=6) * self.rng.random(), management
        elif outcome != "none":  # most answer within a day or two, a few take almost the whole fortnight
            delay = timedelta(minutes=10) + timedelta(days=1) * self.rng.expovariate(1.0)
            answered, actor = when + min(delay, INVITE_LIFETIME - timedelta(hours=1)), target
        if outcome == "none" or answered >= self.result.end:
            self.result.examples["none" if when + INVITE_LIFETIME <= self.result.end else "open"] = handshake_id
            return
        heapq.heappush(self._answers, (answered, i, outcome, handshake_id, actor))

    def _answer_until(self, until: datetime) -> None:
        while self._answers and self._answers[0][0] < until:
            when, _, outcome, handshake_id, actor = heapq.heappop(self._answers)
            fields: dict[str, Any] = {"cause": None} if outcome == "cancel" else {}
            self._add(ANSWER[outcome](originator_id=handshake_id, originator_version=2, timestamp=when,
                                      actor=actor, request_id=None, **fields))
            self.result.examples[outcome] = handshake_id

    # -- writing -------------------------------------------------------------------------------

    def _add(self, *made: Any) -> None:
        for item in made:
            if isinstance(item, tuple(ANSWER.values())):
                self._pending.append(item)
            else:
                self._pending += item.collect_events()
        if len(self._pending) >= self.batch:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self.write(self._pending)
            self.result.events += len(self._pending)
            self._pending = []


def seed_bulk(app: Any, *, handshakes: int, seed: int, end: datetime, location: str,
              batch: int = 10_000) -> BulkSeeded:
    """Write the bulk story into ``app`` (an empty ``HandshakeLedger``); the views are not caught up."""
    mapper, recorder = app.mapper, app.recorder

    def write(events: list[Any]) -> None:
        recorder.insert_events([mapper.to_stored_event(event) for event in events])

    return BulkSeeder(write, handshakes=handshakes, seed=seed, end=end, location=location, batch=batch).run()
