"""What every command of the ledger stands on: the caller, the quotas, taking turns and
retrying, loading aggregates, and the checks that several operations share."""

from __future__ import annotations

import functools
import threading
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, TypeVar

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.persistence import IntegrityError, Transcoder

from ledger import errors
from ledger.account import Account, EmailClaim, email_claim_id
from ledger.audit import ApiCall, service_events
from ledger.clock import Clock, system_clock
from ledger.directory import default_email, default_name, resolve_owner
from ledger.handshake import Handshake
from ledger.organization import Organization
from ledger.transcoding import LenientDatetimeTranscoder
from ledger.unit_of_work import CommandRepository, UnitOfWork

T = TypeVar("T")


@dataclass(frozen=True)
class Caller:
    """Who sends a request: the account (from SigV4 or the client), the request's id, and what the
    audit records of it (the access key, the client's address and user agent)."""

    account_id: str
    request_id: str | None = None
    access_key_id: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class Limits:
    """Quotas of decision 12, configurable."""

    accounts_per_organization: int = 10
    invitations_per_day: int = 20
    tags_per_account: int = 50


def command(method: Callable[..., T]) -> Callable[..., T]:
    """A load-check-save method run as one command (``LedgerService.run_command``)."""

    @functools.wraps(method)
    def run(self: LedgerService, *args: Any, **kwargs: Any) -> T:
        return self.run_command(lambda: method(self, *args, **kwargs))

    return run


class LedgerService(Application[str]):
    """The eventsourcing application under the commands: settings, loading, shared checks."""

    env = {"ORIGINATOR_ID_TYPE": "text"}  # the cache is the ledger's own (``ledger/unit_of_work.py``)

    def __init__(self, env: dict[str, str] | None = None, *, clock: Clock = system_clock, limits: Limits = Limits(),
                 command_lock: Any = None):
        super().__init__(env)
        self.clock = clock
        self.limits = limits
        self._command_lock = command_lock or threading.RLock()
        # The command this thread is running on this ledger (another ledger's is not ours).
        self._unit: ContextVar[UnitOfWork | None] = ContextVar(f"unit-{id(self)}", default=None)
        self.repository.attach(self._unit.get)

    def close(self) -> None:
        getattr(self._command_lock, "close", lambda: None)()
        super().close()

    # -- running a command ----------------------------------------------------------------

    def run_command(self, work: Callable[[], T], audit: Callable[[T], ApiCall] | None = None) -> T:
        """Run ``work`` (load, check, change; its ``save`` calls are collected) and save what it
        changed in one transaction, with ``audit(result)`` and the membership service events
        beside the events (issue 12). On a version conflict run it once more, then answer
        ConcurrentModificationException. A refused command (an AWS error) saves nothing.

        Writers take turns (``command_lock``: threads of a process, and processes sharing the
        data): the store serialises writes anyway (SQLite has one writer; PostgreSQL locks the
        events table on insert), and taking turns over load-check-save as well means concurrent
        commands see each other's results instead of failing on a version conflict. The retry
        remains for writers that don't take turns (another tool writing to the same store).
        """
        if self._unit.get() is not None:  # an application command inside an audited call
            return work()
        with self._command_lock:
            for attempt in (1, 2):
                unit = UnitOfWork(head=self.recorder.max_notification_id() or 0)
                token = self._unit.set(unit)
                try:
                    result = work()
                    self._commit(unit, [audit(result)] if audit else [])
                    return result
                except IntegrityError:
                    self.repository.forget(unit.loaded)
                    if attempt == 2:
                        raise errors.ConcurrentModificationException() from None
                except BaseException:
                    self.repository.forget(unit.loaded)  # whatever it changed in memory goes with it
                    raise
                finally:
                    self._unit.reset(token)
        raise AssertionError("unreachable")

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Inside a command: collected, saved when the command is done. Elsewhere: saved now."""
        unit = self._unit.get()
        if unit is None:
            return super().save(*objs, **kwargs)
        unit.collect(*objs)
        return []

    def _commit(self, unit: UnitOfWork, calls: list[ApiCall]) -> None:
        """One transaction: the events of every changed aggregate, and the audit records."""
        aggregates = list(unit.aggregates.values())
        management_of = {a.id: a.management_account_id for a in aggregates if isinstance(a, Organization)}
        pending = [event for aggregate in aggregates for event in aggregate.collect_events()]
        request_id = next((e.request_id for e in pending), None)
        calls = calls + service_events(pending, management_of, request_id)
        recordings = self.events.put(pending, **({"audit": calls} if calls else {}))
        if not recordings:
            return
        head = recordings[-1].notification.id
        # A saved aggregate is current at our last position: a concurrent change would have conflicted.
        # If nobody else wrote since the command began, what it only read is current there too.
        read_only = [a for a in unit.loaded.values() if a.id not in unit.aggregates]
        nobody_else = recordings[0].notification.id == unit.head + 1
        self.repository.keep(head, *aggregates, *(read_only if nobody_else else ()))

    def record_refusal(self, call: ApiCall) -> None:
        """A refused call's audit record, alone: no aggregate changed."""
        self.recorder.append_calls([call])

    def construct_repository(self) -> Repository[str]:
        repository = super().construct_repository()
        repository.__class__ = CommandRepository  # same state; the identity map and cache of a command
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
            id=account_id, email=default_email(account_id), name=default_name(account_id), **self._by(caller, now)
        )

    # -- the account directory (decision 19), read from the aggregates --------------------

    def email_of(self, account_id: str) -> str:
        account = self.account(account_id)
        return account.email if account else default_email(account_id)

    def name_of(self, account_id: str) -> str:
        account = self.account(account_id)
        return account.name if account else default_name(account_id)

    def owner_of(self, email: str) -> str | None:
        """The account an email belongs to now (``ledger.directory.resolve_owner``)."""
        return resolve_owner(email, claimed_by=self._claimed_by, email_of=self.email_of)

    def _claimed_by(self, key: str) -> str | None:
        claim: EmailClaim | None = self._get(email_claim_id(key))
        return claim.account_id if claim else None

    def target_account(self, target_type: str, target_id: str) -> str | None:
        """The account an invitation's target names now: an ACCOUNT itself, an EMAIL's owner."""
        return target_id if target_type == "ACCOUNT" else self.owner_of(target_id)

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
        """Who answers the handshake: recorded, or for an unanswered EMAIL invitation whoever
        the address belongs to now (decision 19)."""
        if handshake.recipient_account_id:
            return handshake.recipient_account_id
        if handshake.target_type == "EMAIL":
            return self.owner_of(handshake.target_id)
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

    def _by(self, caller: Caller, now: datetime) -> dict[str, Any]:
        return {"actor": caller.account_id, "request_id": caller.request_id, "timestamp": now}

    # -- shared by several commands ---------------------------------------------------------

    def _cancel_children(self, parent: Handshake, caller: Caller, now: datetime) -> list[Handshake]:
        """The still-open approvals of a canceled ENABLE_ALL_FEATURES request end with it."""
        canceled = []
        for child_id in parent.children:
            child: Handshake = self.repository.get(child_id)
            if child.is_live_at(now):
                child.cancel(cause=f"parent {parent.id} canceled", **self._by(caller, now))
                canceled.append(child)
        return canceled

    def _depart(self, organization: Organization, account: Account, caller: Caller, now: datetime, *,
                removed: bool) -> list[Any]:
        """A member goes (left, removed, or moved to another organization): an approval still
        awaited from it is canceled and no longer awaited. Returns what changed, unsaved."""
        changed: list[Any] = [organization, account]
        pending = organization.pending_all_features(now)
        if pending:
            parent: Handshake = self.repository.get(pending)
            for child_id in parent.pending_children:
                child: Handshake = self.repository.get(child_id)
                if child.recipient_account_id == account.id:
                    if child.is_live_at(now):
                        child.cancel(cause="member left the organization", **self._by(caller, now))
                        changed.append(child)
                    parent.withdraw_child(child_id, **self._by(caller, now))
                    changed.append(parent)
        organization.release_member(account_id=account.id, removed=removed, **self._by(caller, now))
        account.leave(organization_id=organization.id, **self._by(caller, now))
        return changed

    def _cancel_open_invitations(self, organization: Organization, caller: Caller, now: datetime, cause: str) -> list[Any]:
        changed: list[Any] = []
        for handshake_id in organization.open_invitations(now):
            invitation: Handshake = self.repository.get(handshake_id)
            if invitation.is_live_at(now):
                invitation.cancel(cause=cause, **self._by(caller, now))
                changed.append(invitation)
            organization.close_invitation(handshake_id=handshake_id, outcome="CANCELED", **self._by(caller, now))
        return changed
