"""HandshakeLedger: the service layer. One load-check-save method per AWS operation.

Each command loads its aggregates, checks the AWS rules in the order of decision 11
(input → existence and visibility → caller's side → state → business constraints), and
saves every changed aggregate in one transaction. A refused command records nothing.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, TypeVar

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.persistence import IntegrityError, Transcoder

from ledger import errors
from ledger.account import Account, EmailClaim, default_email, default_name, email_claim_id
from ledger.clock import Clock, system_clock
from ledger.handshake import (
    ALL_FEATURES_LIFETIME,
    APPROVE_ALL_FEATURES,
    ENABLE_ALL_FEATURES,
    INVITE,
    INVITE_LIFETIME,
    OPEN,
    REQUESTED,
    Handshake,
)
from ledger.ids import handshake_arn, new_handshake_id, new_organization_id, new_root_id
from ledger.organization import ALL, RATE_WINDOW, Organization
from ledger.transcoding import LenientDatetimeTranscoder

T = TypeVar("T")


@dataclass(frozen=True)
class Caller:
    """Who sends a command: the account (from SigV4 or the client) and the request's id."""

    account_id: str
    request_id: str | None = None


@dataclass(frozen=True)
class Limits:
    """Quotas of decision 12, configurable."""

    accounts_per_organization: int = 10
    invitations_per_day: int = 20
    tags_per_account: int = 50


def command(method: Callable[..., T]) -> Callable[..., T]:
    """Run a load-check-save method; on a version conflict run it once more, then give up.

    Writers take turns (``command_lock``: threads of a process, and processes sharing the
    data): the store serialises writes anyway (SQLite has one writer; PostgreSQL locks the
    events table on insert), and taking turns over load-check-save as well means concurrent
    commands see each other's results instead of failing on a version conflict. The retry
    remains for writers that don't take turns (another tool writing to the same store).
    """

    @functools.wraps(method)
    def run(self: HandshakeLedger, *args: Any, **kwargs: Any) -> T:
        with self._command_lock:
            try:
                return method(self, *args, **kwargs)
            except IntegrityError:
                pass
            try:
                return method(self, *args, **kwargs)
            except IntegrityError:
                raise errors.ConcurrentModificationException() from None

    return run


def fold(aggregate: Any, events: Iterable[Any]) -> Any:
    """Replay events onto an aggregate: eventsourcing's projector without its per-event
    runtime-Protocol isinstance check, which costs a third of a read."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class FoldingRepository(Repository[str]):
    """eventsourcing's repository, replaying with ``fold`` unless told otherwise."""

    def get(self, aggregate_id: str, *, version: int | None = None, projector_func: Any = fold,
            fastforward_skipping: bool = False, deepcopy_from_cache: bool = True) -> Any:
        return super().get(aggregate_id, version=version, projector_func=projector_func,
                           fastforward_skipping=fastforward_skipping, deepcopy_from_cache=deepcopy_from_cache)


class HandshakeLedger(Application[str]):
    name = "Handshakes"
    env = {
        "ORIGINATOR_ID_TYPE": "text",
        "AGGREGATE_CACHE_MAXSIZE": "20000",
    }

    def __init__(self, env: dict[str, str] | None = None, *, clock: Clock = system_clock, limits: Limits = Limits(),
                 command_lock: Any = None):
        super().__init__(env)
        self.clock = clock
        self.limits = limits
        self._command_lock = command_lock or threading.RLock()

    def close(self) -> None:
        getattr(self._command_lock, "close", lambda: None)()
        super().close()

    def construct_repository(self) -> Repository[str]:
        repository = super().construct_repository()  # the cache as the env says
        repository.__class__ = FoldingRepository  # same state, a cheaper replay
        return repository

    def construct_transcoder(self) -> Transcoder:
        transcoder = LenientDatetimeTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    # -- loading ------------------------------------------------------------------------

    def _get(self, aggregate_id: str) -> Any | None:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def account(self, account_id: str) -> Account | None:
        return self._get(account_id)

    def _account_or_new(self, account_id: str, caller: Caller, now: datetime) -> Account:
        return self.account(account_id) or Account(
            id=account_id, email=default_email(account_id), name=default_name(account_id),
            actor=caller.account_id, request_id=caller.request_id, timestamp=now,
        )

    def account_by_email(self, email: str) -> str | None:
        claim: EmailClaim | None = self._get(email_claim_id(email))
        return claim.account_id if claim else None

    def email_of(self, account_id: str) -> str:
        account = self.account(account_id)
        return account.email if account else default_email(account_id)

    def organization_of(self, account_id: str) -> Organization | None:
        account = self.account(account_id)
        if account is None or account.organization_id is None:
            return None
        return self._get(account.organization_id)

    def _member_organization(self, caller: Caller) -> Organization:
        organization = self.organization_of(caller.account_id)
        if organization is None:
            raise errors.AWSOrganizationsNotInUseException()
        return organization

    def _managed_organization(self, caller: Caller) -> Organization:
        organization = self._member_organization(caller)
        if organization.management_account_id != caller.account_id:
            raise errors.AccessDeniedException(
                "You don't have permissions to perform this operation: only the management account can."
            )
        return organization

    def recipient_of(self, handshake: Handshake) -> str | None:
        if handshake.recipient_account_id:
            return handshake.recipient_account_id
        if handshake.target_type == "EMAIL":
            return self.account_by_email(handshake.target_id)
        return None

    def _visible_handshake(self, caller: Caller, handshake_id: str, now: datetime) -> Handshake:
        """The handshake if the caller is a party and retention has not removed it."""
        handshake: Handshake | None = self._get(handshake_id)
        if (
            handshake is None
            or not isinstance(handshake, Handshake)
            or not handshake.is_visible_at(now)
            or caller.account_id not in (handshake.sender_account_id, self.recipient_of(handshake))
        ):
            raise errors.HandshakeNotFoundException(f"We can't find a handshake with the HandshakeId {handshake_id}.")
        return handshake

    def _check_not_moved_on(self, aggregate: Any) -> None:
        """Raise a version conflict if another process changed ``aggregate`` since it was read.

        A refusal based on an aggregate read after ``aggregate`` may only show a concurrent
        command's effect (read skew): then ``command`` runs once more, on fresh reads.
        """
        read = aggregate.version - len(aggregate.pending_events)
        if any(True for _ in self.events.get(aggregate.id, gt=read, limit=1)):
            raise IntegrityError(f"{aggregate.id} changed after version {read}.")

    def _stamp(self, caller: Caller, now: datetime) -> dict[str, Any]:
        return {"actor": caller.account_id, "request_id": caller.request_id, "now": now}

    def _by(self, caller: Caller, now: datetime) -> dict[str, Any]:
        return {"actor": caller.account_id, "request_id": caller.request_id, "timestamp": now}

    # -- accounts -------------------------------------------------------------------------

    @command
    def register_account(self, account_id: str, email: str | None = None, name: str | None = None,
                         caller: Caller | None = None) -> Account:
        """Record an account's email and name (from the accounts file); a no-op when unchanged."""
        now = self.clock.now()
        caller = caller or Caller(account_id)
        email = email or default_email(account_id)
        name = name or default_name(account_id)
        owner = self.account_by_email(email)
        if owner not in (None, account_id):
            raise errors.ConstraintViolationException(
                f"Email {email} already belongs to account {owner}.", "EMAIL_ALREADY_IN_USE"
            )
        account = self.account(account_id)
        changed: list[Any] = []
        if account is None:
            account = Account(id=account_id, email=email, name=name, **self._by(caller, now))
        elif (account.email, account.name) != (email, name):
            if account.email.lower() != email.lower():
                old: EmailClaim | None = self._get(email_claim_id(account.email))
                if old is not None and old.account_id == account_id:
                    old.release(**self._by(caller, now))
                    changed.append(old)
            account.change_profile(email=email, name=name, **self._by(caller, now))
        else:
            return account
        claim: EmailClaim | None = self._get(email_claim_id(email))
        if claim is None:
            claim = EmailClaim(id=email_claim_id(email), account_id=account_id, **self._by(caller, now))
        elif claim.account_id != account_id:
            claim.reclaim(account_id=account_id, **self._by(caller, now))
        self.save(account, claim, *changed)
        return account

    # -- organization context -------------------------------------------------------------

    @command
    def create_organization(self, caller: Caller, feature_set: str = ALL) -> Organization:
        now = self.clock.now()
        account = self._account_or_new(caller.account_id, caller, now)
        if account.organization_id is not None:
            raise errors.AlreadyInOrganizationException()
        organization = Organization(
            id=new_organization_id(), root_id=new_root_id(), feature_set=feature_set,
            management_account_id=account.id, management_email=account.email, management_name=account.name,
            **self._by(caller, now),
        )
        account.join(organization_id=organization.id, method="CREATED", handshake_id=None, **self._by(caller, now))
        self.save(organization, account)
        return organization

    def describe_organization(self, caller: Caller) -> Organization:
        return self._member_organization(caller)

    @command
    def delete_organization(self, caller: Caller) -> None:
        now = self.clock.now()
        organization = self._managed_organization(caller)
        if len(organization.members) > 1:
            raise errors.OrganizationNotEmptyException()
        changed: list[Any] = self._cancel_open_invitations(organization, caller, now, cause="organization deleted")
        pending = organization.pending_all_features(now)
        if pending:
            parent: Handshake = self.repository.get(pending)
            parent.cancel(cause="organization deleted", **self._stamp(caller, now))
            changed += [parent, *self._cancel_children(parent, caller, now)]
        organization.delete(**self._by(caller, now))
        account = self._account_or_new(caller.account_id, caller, now)
        account.leave(organization_id=organization.id, **self._by(caller, now))
        self.save(organization, account, *changed)

    @command
    def leave_organization(self, caller: Caller) -> None:
        now = self.clock.now()
        organization = self._member_organization(caller)
        if organization.management_account_id == caller.account_id:
            raise errors.MasterCannotLeaveOrganizationException()
        self._release(organization, caller.account_id, caller, now, removed=False)

    @command
    def remove_account_from_organization(self, caller: Caller, account_id: str) -> None:
        now = self.clock.now()
        organization = self._managed_organization(caller)
        if account_id == organization.management_account_id:
            raise errors.MasterCannotLeaveOrganizationException()
        if account_id not in organization.members:
            raise errors.AccountNotFoundException(f"Account {account_id} is not a member of {organization.id}.")
        self._release(organization, account_id, caller, now, removed=True)

    def _release(self, organization: Organization, account_id: str, caller: Caller, now: datetime, *, removed: bool) -> None:
        """A member goes; an approval still awaited from it is canceled and no longer awaited."""
        changed: list[Any] = []
        pending = organization.pending_all_features(now)
        if pending:
            parent: Handshake = self.repository.get(pending)
            for child_id in parent.pending_children:
                child: Handshake = self.repository.get(child_id)
                if child.recipient_account_id == account_id:
                    if child.is_live_at(now):
                        child.cancel(cause="member left the organization", **self._stamp(caller, now))
                        changed.append(child)
                    parent.withdraw_child(child_id, **self._stamp(caller, now))
                    changed.append(parent)
        organization.release_member(account_id=account_id, removed=removed, **self._by(caller, now))
        account = self._account_or_new(account_id, caller, now)
        account.leave(organization_id=organization.id, **self._by(caller, now))
        self.save(organization, account, *changed)

    def list_accounts(self, caller: Caller) -> tuple[Organization, list[str]]:
        organization = self._managed_organization(caller)
        return organization, sorted(organization.members)

    def describe_account(self, caller: Caller, account_id: str) -> Organization:
        organization = self._managed_organization(caller)
        if account_id not in organization.members:
            raise errors.AccountNotFoundException(f"Account {account_id} is not a member of {organization.id}.")
        return organization

    # -- handshakes -------------------------------------------------------------------------

    @command
    def invite_account_to_organization(
        self, caller: Caller, target_type: str, target_id: str,
        notes: str | None = None, tags: list[dict[str, str]] | None = None,
    ) -> Handshake:
        now = self.clock.now()
        organization = self._managed_organization(caller)
        tags = tags or []
        target_account = target_id if target_type == "ACCOUNT" else self.account_by_email(target_id)
        target_key = target_account or email_claim_id(target_id)
        if organization.pending_all_features(now):
            raise errors.HandshakeConstraintViolationException(
                "You can't send invitations while the organization is enabling all features.",
                "INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES",
            )
        if target_account in organization.members:
            raise errors.HandshakeConstraintViolationException(
                f"Account {target_account} is already a member of this organization.", "ALREADY_IN_AN_ORGANIZATION"
            )
        if organization.open_invitation_to(target_key, now):
            raise errors.DuplicateHandshakeException(
                f"An open invitation to {target_id} already exists; cancel or decline it first."
            )
        if len(tags) > self.limits.tags_per_account:
            raise errors.ConstraintViolationException(
                f"An account can have at most {self.limits.tags_per_account} tags.", "MAX_TAG_LIMIT_EXCEEDED"
            )
        if len(organization.members) + len(organization.open_invitations(now)) >= self.limits.accounts_per_organization:
            raise errors.HandshakeConstraintViolationException(
                "You have exceeded the allowed number of AWS accounts.", "ACCOUNT_NUMBER_LIMIT_EXCEEDED"
            )
        if organization.invitations_sent_since(now - RATE_WINDOW) >= self.limits.invitations_per_day:
            raise errors.HandshakeConstraintViolationException(
                "You have sent too many invitations in the last 24 hours.", "HANDSHAKE_RATE_LIMIT_EXCEEDED"
            )
        handshake_id = new_handshake_id()
        resources: list[dict[str, Any]] = [
            {"Type": "ORGANIZATION", "Value": organization.id, "Resources": [
                {"Type": "MASTER_EMAIL", "Value": organization.management_email},
                {"Type": "MASTER_NAME", "Value": organization.management_name},
                {"Type": "ORGANIZATION_FEATURE_SET", "Value": organization.feature_set},
            ]},
            {"Type": target_type, "Value": target_id},
        ]
        if notes is not None:
            resources.append({"Type": "NOTES", "Value": notes})
        handshake = Handshake(
            id=handshake_id, action=INVITE,
            arn=handshake_arn(organization.management_account_id, organization.id, INVITE, handshake_id),
            organization_id=organization.id, sender_account_id=organization.management_account_id,
            recipient_account_id=target_account, target_type=target_type, target_id=target_id,
            parties=[{"Type": "ORGANIZATION", "Id": organization.id}, {"Type": target_type, "Id": target_id}],
            resources=resources, state=OPEN, expires_at=now + INVITE_LIFETIME, parent_id=None, children=[],
            tags=tags, **self._by(caller, now),
        )
        organization.record_invitation(
            handshake_id=handshake_id, target=target_key, expires_at=handshake.expires_at, **self._by(caller, now)
        )
        self.save(handshake, organization)
        return handshake

    def describe_handshake(self, caller: Caller, handshake_id: str) -> Handshake:
        return self._visible_handshake(caller, handshake_id, self.clock.now())

    @command
    def accept_handshake(self, caller: Caller, handshake_id: str) -> Handshake:
        now = self.clock.now()
        handshake = self._visible_handshake(caller, handshake_id, now)
        if caller.account_id != self.recipient_of(handshake):
            raise errors.AccessDeniedException("Only the recipient of a handshake can accept it.")
        handshake.accept(**self._stamp(caller, now))
        if handshake.action == INVITE:
            self._join(handshake, caller, now)
        elif handshake.action == APPROVE_ALL_FEATURES:
            parent: Handshake = self.repository.get(handshake.parent_id)
            parent.record_child_accepted(handshake.id, **self._stamp(caller, now))
            self.save(handshake, parent)
        else:
            organization: Organization = self.repository.get(handshake.organization_id)
            organization.enable_all_features(handshake_id=handshake.id, **self._by(caller, now))
            self.save(handshake, organization)
        return handshake

    def _join(self, handshake: Handshake, caller: Caller, now: datetime) -> None:
        account = self._account_or_new(caller.account_id, caller, now)
        if account.organization_id is not None:
            self._check_not_moved_on(handshake)  # joined by this very handshake, meanwhile?
            raise errors.HandshakeConstraintViolationException(
                "The account is already a member of an organization.", "ALREADY_IN_AN_ORGANIZATION"
            )
        organization: Organization = self.repository.get(handshake.organization_id)
        organization.admit_member(
            account_id=account.id, email=account.email, name=account.name, handshake_id=handshake.id,
            tags=handshake.tags, **self._by(caller, now),
        )
        account.join(organization_id=organization.id, method="INVITED", handshake_id=handshake.id,
                     **self._by(caller, now))
        self.save(handshake, organization, account)

    @command
    def decline_handshake(self, caller: Caller, handshake_id: str) -> Handshake:
        now = self.clock.now()
        handshake = self._visible_handshake(caller, handshake_id, now)
        if caller.account_id != self.recipient_of(handshake):
            raise errors.AccessDeniedException("Only the recipient of a handshake can decline it.")
        handshake.decline(**self._stamp(caller, now))
        self.save(handshake, *self._close_invitation(handshake, "DECLINED", caller, now))
        return handshake

    @command
    def cancel_handshake(self, caller: Caller, handshake_id: str) -> Handshake:
        now = self.clock.now()
        handshake = self._visible_handshake(caller, handshake_id, now)
        if caller.account_id != handshake.sender_account_id:
            raise errors.AccessDeniedException("Only the sender of a handshake can cancel it.")
        handshake.cancel(**self._stamp(caller, now))
        changed = self._close_invitation(handshake, "CANCELED", caller, now)
        if handshake.action == ENABLE_ALL_FEATURES:
            changed += self._cancel_children(handshake, caller, now)
            organization: Organization = self.repository.get(handshake.organization_id)
            organization.end_all_features_request(handshake_id=handshake.id, **self._by(caller, now))
            changed.append(organization)
        self.save(handshake, *changed)
        return handshake

    def _cancel_children(self, parent: Handshake, caller: Caller, now: datetime) -> list[Handshake]:
        """The still-open approvals of a canceled ENABLE_ALL_FEATURES request end with it."""
        canceled = []
        for child_id in parent.children:
            child: Handshake = self.repository.get(child_id)
            if child.is_live_at(now):
                child.cancel(cause=f"parent {parent.id} canceled", **self._stamp(caller, now))
                canceled.append(child)
        return canceled

    def _close_invitation(self, handshake: Handshake, outcome: str, caller: Caller, now: datetime) -> list[Any]:
        if handshake.action != INVITE:
            return []
        organization: Organization = self.repository.get(handshake.organization_id)
        organization.close_invitation(handshake_id=handshake.id, outcome=outcome, **self._by(caller, now))
        return [organization]

    def _cancel_open_invitations(self, organization: Organization, caller: Caller, now: datetime, cause: str) -> list[Any]:
        changed: list[Any] = []
        for handshake_id in organization.open_invitations(now):
            invitation: Handshake = self.repository.get(handshake_id)
            if invitation.is_live_at(now):
                invitation.cancel(cause=cause, **self._stamp(caller, now))
                changed.append(invitation)
            organization.close_invitation(handshake_id=handshake_id, outcome="CANCELED", **self._by(caller, now))
        return changed

    @command
    def enable_all_features(self, caller: Caller) -> Handshake:
        now = self.clock.now()
        organization = self._managed_organization(caller)
        if organization.feature_set == ALL:
            raise errors.HandshakeConstraintViolationException(
                "This organization already has all features enabled.", "ORGANIZATION_ALREADY_HAS_ALL_FEATURES"
            )
        if organization.pending_all_features(now):
            raise errors.HandshakeConstraintViolationException(
                "This organization is already enabling all features.",
                "ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION",
            )
        expires_at = now + ALL_FEATURES_LIFETIME
        invited = [a for a, m in sorted(organization.members.items()) if m["joined_method"] == "INVITED"]
        parent_id = new_handshake_id()
        children = [self._approval(organization, member, parent_id, expires_at, caller, now) for member in invited]
        parent = Handshake(
            id=parent_id, action=ENABLE_ALL_FEATURES,
            arn=handshake_arn(organization.management_account_id, organization.id, ENABLE_ALL_FEATURES, parent_id),
            organization_id=organization.id, sender_account_id=organization.management_account_id,
            recipient_account_id=organization.management_account_id,
            target_type="ORGANIZATION", target_id=organization.id,
            parties=[{"Type": "ORGANIZATION", "Id": organization.id}],
            resources=[{"Type": "ORGANIZATION", "Value": organization.id}],
            state=REQUESTED if children else OPEN, expires_at=expires_at, parent_id=None,
            children=[c.id for c in children], tags=[], **self._by(caller, now),
        )
        canceled = self._cancel_open_invitations(organization, caller, now, cause=f"{ENABLE_ALL_FEATURES} {parent_id}")
        organization.start_all_features(handshake_id=parent_id, expires_at=expires_at, **self._by(caller, now))
        self.save(parent, *children, *canceled, organization)
        return parent

    def _approval(self, organization: Organization, member: str, parent_id: str, expires_at: datetime,
                  caller: Caller, now: datetime) -> Handshake:
        child_id = new_handshake_id()
        return Handshake(
            id=child_id, action=APPROVE_ALL_FEATURES,
            arn=handshake_arn(organization.management_account_id, organization.id, APPROVE_ALL_FEATURES, child_id),
            organization_id=organization.id, sender_account_id=organization.management_account_id,
            recipient_account_id=member, target_type="ACCOUNT", target_id=member,
            parties=[{"Type": "ORGANIZATION", "Id": organization.id}, {"Type": "ACCOUNT", "Id": member}],
            resources=[{"Type": "ACCOUNT", "Value": member}, {"Type": "PARENT_HANDSHAKE", "Value": parent_id}],
            state=OPEN, expires_at=expires_at, parent_id=parent_id, children=[], tags=[],
            **self._by(caller, now),
        )

    # -- reading many ------------------------------------------------------------------------

    def handshakes(self, handshake_ids: Iterable[str]) -> list[Handshake]:
        return [self.repository.get(h) for h in handshake_ids]
