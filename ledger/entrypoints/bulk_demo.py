"""A demo at any size: N handshakes written in bulk, one organization per 1,000 of them.

The hand-played story (``demo.py``) sends every command through a client: right for a few
hundred handshakes, hours for a million. Here the same events the commands record are made by
the aggregates themselves, kept in memory, and written through the application's recorder
thousands per transaction, in time order, so the log, its replay and the views are what commands
would have made: an invitation is the handshake's Created and the organization's InvitationSent;
a decline or cancel the handshake's Declined/Canceled and the organization's InvitationClosed; an
acceptance the handshake's Accepted, the organization's MemberJoined and the account's
JoinedOrganization (INVITED, the handshake id); a member leaves again after a while
(LeaveOrganization: MemberLeft, LeftOrganization) and may be invited again. No account is invited
while it is a member or holds an open invitation from the organization (DuplicateHandshakeException
on a live server), and no invitation is answered once it has expired.

The quotas (decision 9: 10 accounts per organization, 20 invitations a day) are not kept: 1,000
handshakes per organization over six weeks need about 24 invitations a day and, at times, dozens of
members. Every organization's history has the same size at every N: ``ORG_SIZE`` handshakes over
``SPAN``, sent to ``RECIPIENTS`` accounts of its own. No audit records are written (no API call
was made).
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from ledger.domain.account import Account, default_email, default_name
from ledger.domain.handshake import INVITE, INVITE_LIFETIME, OPEN, Handshake
from ledger.domain.ids import handshake_arn
from ledger.domain.organization import ALL, Organization
from ledger.entrypoints.bulk_encoding import BulkEncoder
from ledger.storage.bulk import BulkInserter

ORG_SIZE = 1_000  # handshakes per organization, at every N
# Accounts each organization invites again and again. An unanswered invitation holds its recipient
# for 15 days (about 70 of them at once), answers and memberships hold more: 200 leave room enough.
RECIPIENTS = 200
MOST = 10_000_000  # handshakes a demo writes at most
SPAN = timedelta(weeks=6)
# Outcomes and their weights; "none": nobody answers (OPEN, then EXPIRED after 15 days).
OUTCOMES = (("accept", 45), ("decline", 20), ("cancel", 15), ("none", 20))
CLOSED = {"decline": "DECLINED", "cancel": "CANCELED"}  # InvitationClosed.outcome
STAY = timedelta(days=3)  # how long a member stays, on average, before LeaveOrganization


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
    Should an organization have no recipient free (never seen at ``RECIPIENTS``), that invitation
    is not sent and ``handshakes`` in the result counts those written.
    """

    def __init__(self, write: Callable[[list[Any]], None], *, handshakes: int, seed: int, end: datetime,
                 location: str, batch: int = 10_000):
        self.write, self.batch = write, batch
        self.rng = random.Random(seed)
        self.seed = seed
        self.orgs = organizations_for(handshakes)
        self.result = BulkSeeded(location, end - SPAN, end, handshakes, [], self.orgs * (1 + RECIPIENTS))
        self._pending: list[Any] = []
        self._organizations: list[Organization] = []
        self._accounts: dict[str, Account] = {}
        self._free: list[list[str]] = []  # per organization: recipients neither members nor invited (open)
        self._open: dict[str, Handshake] = {}  # handshakes an answer is scheduled for
        # (when, n, what, organization index, account or handshake id, outcome): answers, leaves, expiries
        self._later: list[tuple[datetime, int, str, int, str, str]] = []
        self._n = itertools.count()

    def run(self) -> BulkSeeded:
        start, n = self.result.start, self.result.handshakes
        for org in range(self.orgs):
            self._organization(org, start + timedelta(microseconds=org))
        first = start + timedelta(seconds=1)
        step = (self.result.end - first) / n
        skipped = 0
        for i in range(n):
            when = first + step * (i + self.rng.random() * 0.9)
            self._happen_until(when)
            skipped += not self._handshake(i, when)
        self._happen_until(self.result.end)
        self._flush()
        self.result.handshakes -= skipped
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
        self._organizations.append(organization)
        self._add(organization, account)
        recipients = [f"2{org * RECIPIENTS + j:011d}" for j in range(RECIPIENTS)]
        self._free.append(list(recipients))
        for recipient in recipients:
            self._accounts[recipient] = Account(id=recipient, email=default_email(recipient),
                                                name=default_name(recipient), actor=recipient, request_id=None,
                                                timestamp=when)
            self._add(self._accounts[recipient])

    def _take_recipient(self, org: int) -> str | None:
        free = self._free[org]
        if not free:
            return None
        k = self.rng.randrange(len(free))
        free[k], free[-1] = free[-1], free[k]
        return free.pop()

    # -- invitations (InviteAccountToOrganization) --------------------------------------------

    def _handshake(self, i: int, when: datetime) -> bool:
        org = i % self.orgs
        organization = self._organizations[org]
        management = organization.management_account_id
        target = self._take_recipient(org)
        if target is None:
            return False
        assert target not in organization.members
        handshake_id = "h-" + hashlib.blake2b(f"{self.seed}:{i}".encode(), digest_size=8).hexdigest()
        by: dict[str, Any] = {"actor": management, "request_id": None, "timestamp": when}
        handshake = Handshake(
            id=handshake_id, action=INVITE, arn=handshake_arn(management, organization.id, INVITE, handshake_id),
            organization_id=organization.id, sender_account_id=management, recipient_account_id=target,
            target_type="ACCOUNT", target_id=target,
            parties=[{"Type": "ORGANIZATION", "Id": organization.id}, {"Type": "ACCOUNT", "Id": target}],
            resources=[{"Type": "ORGANIZATION", "Value": organization.id, "Resources": [
                {"Type": "MASTER_EMAIL", "Value": default_email(management)},
                {"Type": "MASTER_NAME", "Value": default_name(management)},
                {"Type": "ORGANIZATION_FEATURE_SET", "Value": ALL},
            ]}, {"Type": "ACCOUNT", "Value": target}],
            state=OPEN, expires_at=when + INVITE_LIFETIME, parent_id=None, children=[], tags=[], **by,
        )
        organization.record_invitation(handshake_id=handshake_id, target=target, expires_at=handshake.expires_at,
                                       **by)
        self._add(handshake, organization)
        outcome = self.rng.choices([o for o, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
        if outcome == "cancel":
            answered, actor = when + timedelta(hours=2) + timedelta(days=6) * self.rng.random(), management
        elif outcome != "none":  # most answer within a day or two, a few take almost the whole fortnight
            delay = timedelta(minutes=10) + timedelta(days=1) * self.rng.expovariate(1.0)
            answered, actor = when + min(delay, INVITE_LIFETIME - timedelta(hours=1)), target
        if outcome == "none" or answered >= self.result.end:
            self.result.examples["none" if when + INVITE_LIFETIME <= self.result.end else "open"] = handshake_id
            self._later_at(handshake.expires_at, "expire", org, target)  # invitable again once it expired
            return True
        self._open[handshake_id] = handshake
        self._later_at(answered, outcome, org, handshake_id, actor)
        return True

    def _later_at(self, when: datetime, what: str, org: int, subject: str, actor: str = "") -> None:
        heapq.heappush(self._later, (when, next(self._n), what, org, subject, actor))

    def _happen_until(self, until: datetime) -> None:
        while self._later and self._later[0][0] < until:
            when, _, what, org, subject, actor = heapq.heappop(self._later)
            if what == "expire":
                self._free[org].append(subject)
            elif what == "leave":
                self._leave(org, subject, when)
            else:
                self._answer(org, self._open.pop(subject), what, actor, when)

    # -- answers (Accept/Decline/CancelHandshake) and LeaveOrganization -----------------------

    def _answer(self, org: int, handshake: Handshake, outcome: str, actor: str, when: datetime) -> None:
        """What the command records; the handshake's own methods refuse an expired one."""
        organization = self._organizations[org]
        by: dict[str, Any] = {"actor": actor, "request_id": None, "timestamp": when}
        recipient = handshake.target_id
        if outcome == "accept":
            account = self._accounts[recipient]
            handshake.accept(**by)
            organization.admit_member(account_id=recipient, email=account.email, name=account.name,
                                      handshake_id=handshake.id, tags=handshake.tags, **by)
            account.join(organization_id=organization.id, method="INVITED", handshake_id=handshake.id, **by)
            self._add(handshake, organization, account)
            stay = timedelta(hours=1) + STAY * self.rng.expovariate(1.0)
            self._later_at(when + stay, "leave", org, recipient)
        else:
            if outcome == "decline":
                handshake.decline(**by)
            else:
                handshake.cancel(cause=None, **by)
            organization.close_invitation(handshake_id=handshake.id, outcome=CLOSED[outcome], **by)
            self._add(handshake, organization)
            self._free[org].append(recipient)
        self.result.examples[outcome] = handshake.id

    def _leave(self, org: int, recipient: str, when: datetime) -> None:
        organization, account = self._organizations[org], self._accounts[recipient]
        by: dict[str, Any] = {"actor": recipient, "request_id": None, "timestamp": when}
        organization.release_member(account_id=recipient, removed=False, **by)
        account.leave(organization_id=organization.id, **by)
        self._add(organization, account)
        self._free[org].append(recipient)

    # -- writing -------------------------------------------------------------------------------

    def _add(self, *changed: Any) -> None:
        for aggregate in changed:
            self._pending += aggregate.collect_events()
        if len(self._pending) >= self.batch:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self.write(self._pending)
            self.result.events += len(self._pending)
            self._pending = []


def seed_bulk(app: Any, *, handshakes: int, seed: int, end: datetime, location: str,
              batch: int = 10_000, before_write: Callable[[], None] | None = None) -> BulkSeeded:
    """Write the bulk story into ``app`` (an empty ``HandshakeLedger``); the views are not caught up.
    ``before_write()``, if given, runs before each transaction."""
    encoder = BulkEncoder(app.mapper)
    with BulkInserter(app.recorder) as inserter:
        def write(events: list[Any]) -> None:
            if before_write is not None:
                before_write()
            inserter.insert(encoder.encode(events))

        return BulkSeeder(write, handshakes=handshakes, seed=seed, end=end, location=location, batch=batch).run()
