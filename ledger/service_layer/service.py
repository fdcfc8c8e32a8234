"""What every command of the ledger stands on: the quotas, running as one command (``execute``,
through the group committer the application holds), loading aggregates, and the checks that
several operations share."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, TypeVar

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Transcoder

from ledger.domain import errors
from ledger.domain.account import Account, EmailClaim, email_claim_id
from ledger.service_layer.audit import HANDSHAKE, ApiCall, AuditLog, CallAudit, Caller, reveal, revealing
from ledger.domain.clock import Clock, system_clock
from ledger.domain.directory import default_email, default_name, resolve_owner
from ledger.domain.handshake import Handshake
from ledger.domain.organization import Organization
from ledger.service_layer.group_commit import CommandRunner
from ledger.service_layer.transcoding import LenientDatetimeTranscoder
from ledger.service_layer.unit_of_work import CommandRepository

T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """Quotas of decisions 12 and 24, configurable; and the billing conditions of decision 27.

    ``inbound_transfers``: an inviter's live responsibility transfers (AWS's default for a fresh
    account is 0); ``transfer_chain_length``: 1 or 2; ``transfers_per_chain``: inbound transfers
    across one bill-transfer chain. ``billing_conditions``: (account id, reason) pairs, conditions
    that live outside Organizations (a past-due invoice...), raised at Invite and Accept.
    """

    accounts_per_organization: int = 10
    invitations_per_day: int = 20
    tags_per_account: int = 50
    inbound_transfers: int = 5
    outbound_transfers: int = 1  # not adjustable (AWS: "Adjustable: no")
    transfer_chain_length: int = 1
    transfers_per_chain: int = 1000
    tags_per_transfer: int = 50
    billing_conditions: tuple[tuple[str, str], ...] = ()


def command(method: Callable[..., T]) -> Callable[..., T]:
    """A public load-check-save method of the application, run as one command through its one
    entry, ``LedgerService.execute``. A caller may pass ``audit=`` (a ``CallAudit``): the call's
    audit record is then written with the command's events, or alone if it is refused."""

    @functools.wraps(method)
    def run(self: LedgerService, *args: Any, audit: CallAudit[T] | None = None, **kwargs: Any) -> T:
        return self.execute(functools.partial(method, self, *args, **kwargs), audit)

    return run


class LedgerService(Application[str]):
    """The eventsourcing application under the commands: settings, loading, shared checks; it
    holds the group committer (``runner``) that runs its commands."""

    env = {"ORIGINATOR_ID_TYPE": "text"}  # the cache is the ledger's own (``ledger/service_layer/unit_of_work.py``)
    repository: CommandRepository

    def __init__(self, env: dict[str, str] | None = None, *, clock: Clock = system_clock, limits: Limits = Limits(),
                 writers_lock: Any = None):
        super().__init__(env)
        if not isinstance(self.recorder, AuditLog):
            raise TypeError(f"{type(self.recorder).__name__} keeps no audit log: open the store with open_store")
        self.audit_log: AuditLog = self.recorder
        self.clock = clock
        self.limits = limits
        self.runner = CommandRunner(self.events, self.recorder, self.repository, self.audit_log, writers_lock)

    def execute(self, work: Callable[[], T], audit: CallAudit[T] | None = None) -> T:
        """The one way a command runs: ``work`` (load, check, change, ``save``) as one unit of work,
        committed with others that arrive together; answered once durable (``CommandRunner.run``).
        While it is judged, what it finds its caller may see is collected (``audit.revealing``): all
        that the record of a refusal names."""
        with revealing() as revealed:

            def judge() -> T:
                revealed.clear()  # a command run again judges afresh
                return work()

            return self.runner.run(judge, audit)

    @property
    def answered_head(self) -> int:
        """The log position that the answers this process has given so far rest on."""
        return self.runner.answered_head

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Inside a command: collected, saved when the command is done. Elsewhere: saved now."""
        if self.runner.collect(*objs):
            return []
        try:
            return super().save(*objs, **kwargs)
        finally:
            self.runner.log_moved()

    def close(self) -> None:
        self.runner.close()
        super().close()

    def record_refusal(self, call: ApiCall) -> None:
        """A refused call's audit record, alone: no aggregate changed."""
        self.audit_log.append_calls([call])

    def construct_repository(self) -> CommandRepository:
        return CommandRepository(self.events, snapshot_store=self.snapshots)

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
        """The account an email belongs to now (``ledger.domain.directory.resolve_owner``)."""
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
        """The handshake if the caller is a party, retention has not removed it and its
        organization was not deleted (which takes its invitation history with it: decision 30)."""
        handshake: Handshake | None = self._get(handshake_id)
        if (
            handshake is None
            or not isinstance(handshake, Handshake)
            or not handshake.is_visible_at(now)
            or caller.account_id not in (handshake.sender_account_id, self.recipient_of(handshake))
            or getattr(self._get(handshake.organization_id), "deleted", False)
        ):
            raise errors.HandshakeNotFoundException(f"We can't find a handshake with the HandshakeId {handshake_id}.")
        reveal(HANDSHAKE, handshake_id)  # what a refusal from here on names (ledger/service_layer/audit.py)
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
