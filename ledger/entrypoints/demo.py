"""Demo data: a few organizations inviting, approving and churning accounts over six weeks.

The ledger runs on a ``StepClock`` that the seeder moves from one scheduled action to the
next, so weeks of history are written in seconds and every event carries its story's time.
Every command goes through the boto3-like client, with the same checks as on the wire.
"""

from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from botocore.exceptions import ClientError

from ledger.domain.clock import Clock
from ledger.entrypoints.facade import Ledger
from ledger.domain.handshake import INVITE_LIFETIME
from ledger.domain.organization import RATE_WINDOW
from ledger.domain.transfer import ANSWER_WINDOW, month_start

SPAN = timedelta(weeks=6)
COMPANIES = ("Acme Corp", "Globex", "Initech", "Umbrella Labs", "Hooli", "Stark Industries", "Wayne Enterprises",
             "Tyrell Corp", "Cyberdyne", "Soylent")
TEAMS = ("payments", "data-lake", "ml-platform", "identity", "search", "billing", "edge", "mobile", "analytics",
         "security", "logging", "checkout")
STAGES = ("dev", "staging", "prod")
# Invitation outcomes and their weights; "expire" means nobody answers for 15 days.
OUTCOMES = (("accept", 45), ("decline", 20), ("cancel", 15), ("expire", 20))
# Organizations 1..3 start with consolidated billing and go through EnableAllFeatures.
ALL_FEATURES_PLAN = ((1, 0.30, "finalized"), (2, 0.50, "canceled"), (3, 0.80, "pending"))


class StepClock(Clock):
    """A clock that stands still until the seeder moves it forward (never back)."""

    def __init__(self, start: datetime):
        self.instant = start

    def now(self) -> datetime:
        return self.instant

    def move_to(self, instant: datetime) -> None:
        self.instant = max(self.instant, instant)


@dataclass
class Org:
    id: str
    management: str
    name: str
    feature_set: str
    all_features: str | None = None


@dataclass
class Seeded:
    """What the demo wrote, for the summary."""

    location: str
    start: datetime
    end: datetime
    events: int = 0
    organizations: list[Org] = field(default_factory=list)
    accounts: int = 0
    stories: list[tuple[str, str]] = field(default_factory=list)  # ("INVITE accept", id), in time order
    transfers: list[tuple[str, str, str]] = field(default_factory=list)  # (fate, rt- id, inviter account)

    def record(self, kind: str, handshake_id: str) -> None:
        self.stories.append((kind, handshake_id))

    def count(self) -> int:
        """Invitations and EnableAllFeatures handshakes: what the story paces (its transfers are extra)."""
        return sum(1 for kind, _ in self.stories if not kind.startswith(("via ", "TRANSFER_RESPONSIBILITY ")))


class Seeder:
    """Runs scheduled actions in time order on a ledger whose clock it steps."""

    def __init__(self, ledger: Ledger, clock: StepClock, target: int, seed: int, location: str):
        self.ledger, self.clock, self.target = ledger, clock, target
        self.rng = random.Random(seed)
        self.end = clock.now() + SPAN
        self.result = Seeded(location=location, start=clock.now(), end=self.end)
        self._tasks: list[tuple[datetime, int, Callable[..., None], tuple[Any, ...]]] = []
        self._order = itertools.count()
        self.free: list[str] = []      # accounts in no organization and with no invitation pending
        self.emails: dict[str, str] = {}

    def at(self, when: datetime, action: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self._tasks, (when, next(self._order), action, args))

    def later(self, low: timedelta, high: timedelta) -> datetime:
        return self.clock.now() + low + (high - low) * self.rng.random()

    def run(self) -> Seeded:
        self.setup()
        while self._tasks and self._tasks[0][0] < self.end:
            when, _, action, args = heapq.heappop(self._tasks)
            self.clock.move_to(when)
            try:
                action(*args)
            except ClientError:
                pass  # the story moved on (e.g. an invitation canceled by EnableAllFeatures)
        self.result.events = self.ledger.app.recorder.max_notification_id() or 0
        return self.result

    # -- the cast ----------------------------------------------------------------------------

    def setup(self) -> None:
        organizations = max(6, -(-self.target // 30))
        for n in range(organizations):
            management = f"{100000000001 + n:012d}"
            name = COMPANIES[n % len(COMPANIES)] + (f" {n // len(COMPANIES) + 1}" if n >= len(COMPANIES) else "")
            self.ledger.register_account(management, f"aws-root@{name.lower().replace(' ', '-')}.example.com", name)
            feature_set = "CONSOLIDATED_BILLING" if n in (1, 2, 3) else "ALL"
            answer = self.client(management).create_organization(FeatureSet=feature_set)
            self.result.organizations.append(Org(answer["Organization"]["Id"], management, name, feature_set))
        for n in range(organizations * 12):
            account = f"{200000000001 + n:012d}"
            name = f"{TEAMS[n % len(TEAMS)]}-{STAGES[n // len(TEAMS) % len(STAGES)]}-{n:03d}"
            self.emails[account] = f"{name}@example.com"
            self.ledger.register_account(account, self.emails[account], name)
            self.free.append(account)
        self.result.accounts = organizations * 13
        self.at(self.later(timedelta(hours=1), timedelta(hours=3)), self.invite)
        for index, fraction, fate in ALL_FEATURES_PLAN:
            self.at(self.result.start + SPAN * fraction, self.enable_all_features, self.result.organizations[index], fate)
        for inviter, invitee, fraction, fate in TRANSFER_PLAN:
            orgs = self.result.organizations
            self.at(self.result.start + SPAN * fraction, self.invite_transfer, orgs[inviter], orgs[invitee], fate)

    def client(self, account: str) -> Any:
        return self.ledger.client(account)

    # -- invitations -------------------------------------------------------------------------

    def invite(self) -> None:
        """Send one invitation from an organization with room, then schedule the next one."""
        remaining = self.target - self.result.count()
        if remaining > 0:  # pace the rest over the time left, so skipped turns are made up
            interval = max((self.end - self.clock.now()) * 0.9 / remaining, timedelta(minutes=10))
            self.at(self.later(interval * 0.3, interval * 1.7), self.invite)
        org = self.rng.choice(self.result.organizations)
        organization = self.ledger.app.organization_of(org.management)
        now, limits = self.clock.now(), self.ledger.app.limits
        if organization is None or organization.pending_all_features(now) or \
                organization.invitations_sent_since(now - RATE_WINDOW) >= limits.invitations_per_day:
            return
        if len(organization.members) + len(organization.open_invitations(now)) >= limits.accounts_per_organization:
            if len(organization.members) > 5:  # else it is full of pending invitations: wait for them
                self.churn(org, organization.members)
            return
        if self.rng.random() < 0.04:
            self.invite_stranger(org)
        elif self.free:
            self.invite_account(org, self.free.pop(self.rng.randrange(len(self.free))))

    def invite_account(self, org: Org, account: str) -> None:
        by_email = self.rng.random() < 0.3
        target = {"Type": "EMAIL", "Id": self.emails[account]} if by_email else {"Type": "ACCOUNT", "Id": account}
        notes = self.rng.choice((None, "Welcome aboard", f"Joining {org.name} for consolidated billing"))
        answer = self.client(org.management).invite_account_to_organization(
            Target=target, **({"Notes": notes} if notes else {}))
        handshake_id = answer["Handshake"]["Id"]
        outcome = self.rng.choices([o for o, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
        self.result.record(f"INVITE {outcome}", handshake_id)
        if by_email:
            self.result.record(f"via email {outcome}", handshake_id)
        if outcome == "expire":
            self.at(self.clock.now() + INVITE_LIFETIME, self.free.append, account)
        elif outcome == "cancel":
            self.at(self.later(timedelta(hours=2), timedelta(days=6)), self.answer, org.management,
                    "cancel_handshake", handshake_id, account)
        else:
            self.at(self.later(timedelta(minutes=10), timedelta(days=4)), self.answer, account,
                    f"{outcome}_handshake", handshake_id, account)

    def invite_stranger(self, org: Org) -> None:
        """An EMAIL invitation to an address no account has: it can only be canceled or expire."""
        email = f"new-hire-{self.rng.randrange(1000):03d}@{org.name.lower().replace(' ', '-')}.example.com"
        answer = self.client(org.management).invite_account_to_organization(Target={"Type": "EMAIL", "Id": email})
        handshake_id = answer["Handshake"]["Id"]
        if self.rng.random() < 0.5:
            self.result.record("INVITE cancel", handshake_id)
            self.at(self.later(timedelta(days=1), timedelta(days=5)), self.answer, org.management,
                    "cancel_handshake", handshake_id, None)
        else:
            self.result.record("INVITE expire", handshake_id)

    def answer(self, caller: str, method: str, handshake_id: str, account: str | None) -> None:
        try:
            getattr(self.client(caller), method)(HandshakeId=handshake_id)
        finally:
            if account and method != "accept_handshake":
                self.free.append(account)
            elif account and self.ledger.app.organization_of(account) is None:
                self.free.append(account)  # the acceptance was refused: the account is free again

    def churn(self, org: Org, members: dict[str, Any]) -> None:
        """A full organization loses a member: it leaves, or the management account removes it."""
        invited = sorted(a for a, m in members.items() if m["joined_method"] == "INVITED")
        if not invited:
            return
        account = self.rng.choice(invited)
        if self.rng.random() < 0.5:
            self.client(account).leave_organization()
        else:
            self.client(org.management).remove_account_from_organization(AccountId=account)
        self.at(self.later(timedelta(days=1), timedelta(days=7)), self.free.append, account)

    # -- EnableAllFeatures -------------------------------------------------------------------

    def enable_all_features(self, org: Org, fate: str) -> None:
        """Start the migration; members approve (one declines when it is to be canceled)."""
        parent = self.client(org.management).enable_all_features()["Handshake"]["Id"]
        org.all_features = parent
        self.result.record(f"ENABLE_ALL_FEATURES {fate}", parent)
        children = self.client(org.management).list_handshakes_for_organization(
            Filter={"ParentHandshakeId": parent})["Handshakes"]
        last = self.clock.now()
        for n, child in enumerate(children):
            member = next(p["Id"] for p in child["Parties"] if p["Type"] == "ACCOUNT")
            declines = fate == "canceled" and n == 0
            if fate == "pending" and n % 2:
                self.result.record("APPROVE_ALL_FEATURES open", child["Id"])
                continue
            self.result.record(f"APPROVE_ALL_FEATURES {'decline' if declines else 'accept'}", child["Id"])
            when = self.later(timedelta(hours=2), timedelta(days=3))
            last = max(last, when)
            self.at(when, self.answer, member, "decline_handshake" if declines else "accept_handshake", child["Id"], None)
        if fate == "finalized":
            self.at(last + timedelta(days=1), self.finalize, org, parent)
        elif fate == "canceled":
            self.at(last + timedelta(days=2), self.answer, org.management, "cancel_handshake", parent, None)

    def finalize(self, org: Org, parent: str) -> None:
        self.client(org.management).accept_handshake(HandshakeId=parent)
        org.feature_set = "ALL"

    # -- billing transfers (docs/decisions.md decisions 20-28) -------------------------------

    def invite_transfer(self, inviter: Org, invitee: Org, fate: str) -> None:
        """``inviter`` offers to pay ``invitee``'s bill from a month's 1st; the invitee answers per ``fate``:
        "accepted" (in effect by the story's end), "withdrawn" (by the invitee, after it started, when the
        story lasts that long), "declined", or "requested" (left unanswered, starting as late as allowed)."""
        start = transfer_start(self.clock.now(), latest=fate == "requested")
        answer = self.client(inviter.management).invite_organization_to_transfer_responsibility(
            Type="BILLING", Target={"Type": "ACCOUNT", "Id": invitee.management}, StartTimestamp=start,
            SourceName=f"{invitee.name} billed to {inviter.name}")
        handshake = answer["Handshake"]
        transfer_id = handshake["Resources"][0]["Value"]
        self.result.record(f"TRANSFER_RESPONSIBILITY {fate}", handshake["Id"])
        self.result.transfers.append((fate, transfer_id, inviter.management))
        if fate == "requested":
            return
        answer_at = self.clock.now() + timedelta(hours=20)
        self.at(answer_at, self.answer, invitee.management,
                "decline_handshake" if fate == "declined" else "accept_handshake", handshake["Id"], None)
        if fate == "withdrawn":
            withdraw_at = min(max(start + timedelta(days=3), answer_at + timedelta(days=1)),
                              self.end - timedelta(hours=12))
            self.at(withdraw_at, self.withdraw, invitee.management, transfer_id)

    def withdraw(self, account: str, transfer_id: str) -> None:
        self.client(account).terminate_responsibility_transfer(Id=transfer_id)


# inviter, invitee (indexes of organizations, all features from the start), when (fraction of the span), fate.
# One organization pays for two others (the chain stays one level deep: decision 24's default).
TRANSFER_PLAN = ((0, 4, 0.002, "accepted"), (0, 5, 0.004, "withdrawn"), (4, 5, 0.70, "declined"),
                 (5, 4, 0.95, "requested"))


def transfer_start(now: datetime, *, latest: bool = False) -> datetime:
    """The earliest (or latest) start InviteOrganizationToTransferResponsibility takes at ``now``: the 1st of
    next month or of the month after, its invitation answerable for a while (decision 23)."""
    options = [month_start(now.year, now.month + n) for n in (1, 2)]
    valid = [start for start in options if start - ANSWER_WINDOW - timedelta(hours=20) > now]
    return valid[-1] if latest else valid[0]


def seed(ledger: Ledger, clock: StepClock, *, handshakes: int = 200, seed: int = 7, location: str = "") -> Seeded:
    """Write the demo's story into an empty ledger whose clock is ``clock``."""
    return Seeder(ledger, clock, handshakes, seed, location).run()


def demo_start(now: datetime) -> datetime:
    """Six weeks and a day before ``now``, on the hour: the story ends just before the present."""
    return (now - SPAN - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)


# -- what to try next -------------------------------------------------------------------------

TRY = (  # label, recorded kinds, states it must read as now
    ("invitation accepted", ("INVITE accept",), ("ACCEPTED",)),
    ("invitation accepted by email", ("via email accept",), ("ACCEPTED",)),
    ("invitation declined", ("INVITE decline",), ("DECLINED",)),
    ("invitation canceled", ("INVITE cancel",), ("CANCELED",)),
    ("invitation left to expire", ("INVITE expire",), ("EXPIRED",)),
    ("invitation still open", ("INVITE expire", "INVITE accept", "INVITE decline"), ("OPEN",)),
    ("all features, finalized", ("ENABLE_ALL_FEATURES finalized",), ("ACCEPTED",)),
    ("all features, canceled", ("ENABLE_ALL_FEATURES canceled",), ("CANCELED",)),
    ("all features, awaiting approvals", ("ENABLE_ALL_FEATURES pending",), ("REQUESTED", "OPEN")),
)


def summary(ledger: Ledger, seeded: Seeded) -> dict[str, Any]:
    """What was seeded, as it reads at the ledger's ``now``: organizations, outcomes, ids to try."""
    organizations = []
    for org in seeded.organizations:
        client = ledger.client(org.management)
        members = sum(len(p["Accounts"]) for p in client.get_paginator("list_accounts").paginate())
        feature_set = client.describe_organization()["Organization"]["FeatureSet"]
        organizations.append({"Id": org.id, "ManagementAccountId": org.management, "Name": org.name,
                              "FeatureSet": feature_set, "Members": members})
    tries = _to_try(ledger, seeded)
    expiry = None
    if "invitation left to expire" in tries:
        shape = ledger.handshake_as_of(tries["invitation left to expire"], instant=ledger.now())
        expiry = {k: shape[k] for k in ("Id", "RequestedTimestamp", "ExpirationTimestamp")}
    return {
        "Location": seeded.location, "From": seeded.start, "To": seeded.end, "Events": seeded.events,
        "Handshakes": seeded.count() + len(seeded.transfers), "Accounts": seeded.accounts,
        "Organizations": organizations, "Outcomes": ledger.analytics(by="action"), "Try": tries, "Expiry": expiry,
        "Transfers": _transfers_to_try(ledger, seeded),
    }


TRANSFER_TRY = {"accepted": ("transfer in effect", ("ACCEPTED",)), "withdrawn": ("transfer withdrawn", ("WITHDRAWN",)),
                "declined": ("transfer declined", ("DECLINED",)),
                "requested": ("transfer awaiting an answer", ("REQUESTED",))}


def _transfers_to_try(ledger: Ledger, seeded: Seeded) -> dict[str, str]:
    """The billing transfers that really ended as planned, as the payer's Describe reads them now
    (an accepted one only while in effect)."""
    found: dict[str, str] = {}
    for fate, transfer_id, inviter in seeded.transfers:
        label, states = TRANSFER_TRY[fate]
        try:
            shape = ledger.client(inviter).describe_responsibility_transfer(Id=transfer_id)["ResponsibilityTransfer"]
        except ClientError:
            continue  # no longer shown (retention, decision 26)
        if shape["Status"] in states and (fate != "accepted" or shape["StartTimestamp"] <= ledger.now()):
            found[label] = transfer_id
    return found


def _to_try(ledger: Ledger, seeded: Seeded) -> dict[str, str]:
    """The most recent handshake of each story that really ended that way (still in the Lists)."""
    found: dict[str, str] = {}
    for label, kinds, states in TRY:
        for handshake_id in (h for kind, h in reversed(seeded.stories) if kind in kinds):
            if ledger.handshake_as_of(handshake_id, instant=ledger.now())["State"] in states:
                found[label] = handshake_id
                break
    return found


BULK_TRY = (("accept", "invitation accepted"), ("decline", "invitation declined"), ("cancel", "invitation canceled"),
            ("none", "invitation left to expire"), ("open", "invitation still open"))


def bulk_summary(ledger: Ledger, seeded: Any) -> dict[str, Any]:
    """The summary of a bulk demo (``bulk_demo.BulkSeeded``): its first ten organizations, outcomes,
    one handshake of each ending."""
    organizations = []
    for organization_id, management in seeded.organizations[:10]:
        client = ledger.client(management)
        found = client.describe_organization()["Organization"]
        members = sum(len(p["Accounts"]) for p in client.get_paginator("list_accounts").paginate())
        organizations.append({"Id": organization_id, "ManagementAccountId": management,
                              "Name": f"Organization {organization_id}", "FeatureSet": found["FeatureSet"],
                              "Members": members})
    tries = {label: seeded.examples[kind] for kind, label in BULK_TRY if kind in seeded.examples}
    expiry = None
    if "invitation left to expire" in tries:
        shape = ledger.handshake_as_of(tries["invitation left to expire"], instant=ledger.now())
        expiry = {k: shape[k] for k in ("Id", "RequestedTimestamp", "ExpirationTimestamp")}
    return {
        "Location": seeded.location, "From": seeded.start, "To": seeded.end, "Events": seeded.events,
        "Handshakes": seeded.handshakes, "Accounts": seeded.accounts, "OrganizationCount": len(seeded.organizations),
        "Organizations": organizations, "Outcomes": ledger.analytics(by="action"), "Try": tries, "Expiry": expiry,
    }
