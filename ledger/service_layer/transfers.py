"""Billing transfers (``docs/decisions.md`` decisions 20-28): one load-check-save method per operation.

InviteOrganizationToTransferResponsibility creates the ResponsibilityTransfer and its
TRANSFER_RESPONSIBILITY handshake in one transaction; the handshake's answers (Accept, Decline,
Cancel in ``handshakes.py``) call ``_answer_transfer`` here; Terminate and Update act on the
transfer alone. Checks follow decision 11's order: input (the month rules of decision 23 included)
→ the caller's organization → existence and side → state → business constraints.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger.domain import errors
from ledger.domain.handshake import REQUESTED as HANDSHAKE_REQUESTED, Handshake
from ledger.domain.ids import handshake_arn, new_handshake_id, new_transfer_id
from ledger.domain.organization import Organization
from ledger.domain.transfer import (ANSWER_WINDOW, INBOUND, OUTBOUND, TRANSFER_RESPONSIBILITY,
                                    ResponsibilityTransfer, check_end, check_start, default_end)
from ledger.service_layer.billing import check_billing_conditions
from ledger.service_layer.service import Caller, LedgerService, command

CHAIN_LIMIT = 2  # the most a chain's length quota may be raised to


class TransferCommands(LedgerService):
    @command
    def invite_organization_to_transfer_responsibility(
        self, caller: Caller, transfer_type: str, target_type: str, target_id: str, start_at: datetime,
        source_name: str, notes: str | None = None, tags: list[dict[str, str]] | None = None,
    ) -> Handshake:
        now = self.clock.now()
        check_start(start_at, now)
        organization = self._managed_organization(caller)
        organization.check_all_features()
        target_account = self.target_account(target_type, target_id)
        if target_account is not None and (target_account == caller.account_id
                                           or target_account in organization.members):
            raise errors.HandshakeConstraintViolationException(
                "An account can't accept a transfer invitation if it is both the sender and recipient of the "
                "invitation.", "SOURCE_AND_TARGET_CANNOT_MATCH")
        target_organization = self.organization_of(target_account) if target_account else None
        if target_account is not None and self.account(target_account) is not None and (
                target_organization is None or target_organization.management_account_id != target_account):
            raise errors.HandshakeConstraintViolationException(
                "Billing transfer is not available for your account. Contact your billing administrator or "
                "Amazon Web Services Support for assistance.", "TARGET_ACCOUNT_VALIDATION_FAILURE")
        tags = tags or []
        if len(tags) > self.limits.tags_per_transfer:
            raise errors.ConstraintViolationException(
                f"A transfer can have at most {self.limits.tags_per_transfer} tags.", "MAX_TAG_LIMIT_EXCEEDED")
        live = self._transfers(organization, INBOUND, now)
        if len(live) >= self.limits.inbound_transfers:
            raise errors.ConstraintViolationException(
                "You have exceeded your inbound transfers limit.", "RESPONSIBILITY_TRANSFER_MAX_INBOUND_QUOTA_VIOLATION")
        wanted = target_account or target_id.lower()
        for transfer in live:
            if transfer.status_at(now) == "REQUESTED" and self._invitee_of(transfer) == wanted:
                raise errors.DuplicateHandshakeException(
                    f"An invitation to transfer responsibility to {target_id} is already waiting for an answer "
                    f"({transfer.id}); cancel it first.")
        check_billing_conditions(self.limits, caller.account_id)
        transfer_id, handshake_id = new_transfer_id(), new_handshake_id()
        mgmt = organization.management_account_id
        resources: list[dict[str, Any]] = [
            {"Type": "RESPONSIBILITY_TRANSFER", "Value": transfer_id, "Resources": [
                {"Type": "TRANSFER_START_TIMESTAMP", "Value": str(int(start_at.timestamp()))},
                {"Type": "TRANSFER_TYPE", "Value": transfer_type},
            ]},
            {"Type": "ORGANIZATION", "Value": organization.id, "Resources": [
                {"Type": "MANAGEMENT_EMAIL", "Value": self.email_of(mgmt)},
                {"Type": "MANAGEMENT_NAME", "Value": self.name_of(mgmt)},
                {"Type": "MANAGEMENT_ACCOUNT", "Value": mgmt},
            ]},
            {"Type": target_type, "Value": target_id},
        ]
        if notes is not None:
            resources.append({"Type": "NOTES", "Value": notes})
        expires_at = start_at - ANSWER_WINDOW
        handshake = Handshake(
            id=handshake_id, action=TRANSFER_RESPONSIBILITY,
            arn=handshake_arn(mgmt, organization.id, TRANSFER_RESPONSIBILITY, handshake_id),
            organization_id=organization.id, sender_account_id=mgmt,
            recipient_account_id=target_id if target_type == "ACCOUNT" else None,
            target_type=target_type, target_id=target_id,
            parties=[{"Type": "ORGANIZATION", "Id": organization.id}, {"Type": target_type, "Id": target_id}],
            resources=resources, state=HANDSHAKE_REQUESTED, expires_at=expires_at, parent_id=None, children=[],
            tags=[], **self._by(caller, now),
        )
        transfer = ResponsibilityTransfer(
            id=transfer_id, type=transfer_type, name=source_name, handshake_id=handshake_id,
            inviter_account_id=mgmt, inviter_organization_id=organization.id, target_type=target_type,
            target_id=target_id, start_at=start_at, expires_at=expires_at, notes=notes, tags=tags,
            **self._by(caller, now),
        )
        organization.record_transfer(transfer_id=transfer_id, side=INBOUND, **self._by(caller, now))
        addressed = [target_organization] if target_organization is not None else []
        for invitee in addressed:  # an invitation addressed to an organization keeps it from being deleted
            invitee.record_transfer(transfer_id=transfer_id, side=OUTBOUND, **self._by(caller, now))
        self.save(handshake, transfer, organization, *addressed)
        return handshake

    @command
    def terminate_responsibility_transfer(self, caller: Caller, transfer_id: str,
                                          end_at: datetime | None = None) -> ResponsibilityTransfer:
        now = self.clock.now()
        if end_at is not None:
            check_end(end_at, now)
        transfer = self._party_transfer(caller, transfer_id, now)
        transfer.terminate(end_at or default_end(now), self._notified(transfer, now),
                           **self._by(caller, now))
        self.save(transfer)
        return transfer

    @command
    def update_responsibility_transfer(self, caller: Caller, transfer_id: str, name: str) -> ResponsibilityTransfer:
        now = self.clock.now()
        transfer = self._party_transfer(caller, transfer_id, now)
        transfer.rename(transfer.side_of(caller.account_id) or INBOUND, name, **self._by(caller, now))
        self.save(transfer)
        return transfer

    # -- the handshake's answers (called by AcceptHandshake, DeclineHandshake, CancelHandshake) ---------

    def _answer_transfer(self, handshake: Handshake, answer: str, caller: Caller, now: datetime) -> list[Any]:
        """The transfer follows its handshake; checks first, then the change. Returns what changed."""
        transfer: ResponsibilityTransfer = self.repository.get(handshake.resources[0]["Value"])
        if answer == "CANCELED":
            transfer.cancel(**self._by(caller, now))
            return [transfer]
        organization = self._managed_organization(caller)  # only a management account answers (decision 21)
        if answer == "DECLINED":
            transfer.decline(**self._by(caller, now))
            return [transfer]
        organization.check_all_features()
        inviter: Organization | None = self._get(transfer.inviter_organization_id)
        if inviter is None or inviter.deleted or caller.account_id == transfer.inviter_account_id \
                or organization.id == transfer.inviter_organization_id:
            raise errors.HandshakeConstraintViolationException(
                "An account can't accept a transfer invitation if it is both the sender and recipient of the "
                "invitation.", "SOURCE_AND_TARGET_CANNOT_MATCH")
        for existing in self._transfers(organization, OUTBOUND, now, established=True):
            if existing.inviter_organization_id == inviter.id:
                raise errors.HandshakeConstraintViolationException(
                    "You cannot perform this operation with the current transfer.",
                    "RESPONSIBILITY_TRANSFER_ALREADY_EXISTS")
            raise errors.ConstraintViolationException(
                "You have exceeded your outbound transfers limit.",
                "RESPONSIBILITY_TRANSFER_MAX_OUTBOUND_QUOTA_VIOLATION")
        self._check_chain(inviter, organization, now)
        check_billing_conditions(self.limits, transfer.inviter_account_id, caller.account_id)
        notified = [caller.account_id, transfer.inviter_account_id, *self._upstream(inviter, now)]
        transfer.accept(caller.account_id, organization.id, notified, **self._by(caller, now))
        organization.record_transfer(transfer_id=transfer.id, side=OUTBOUND, **self._by(caller, now))
        return [transfer, organization]

    # -- reading and shared checks ---------------------------------------------------------------------

    def _invitee_of(self, transfer: ResponsibilityTransfer) -> str:
        """Whom an unanswered invitation goes to now: an account, or the address itself (decision 19)."""
        if transfer.source_account_id:
            return transfer.source_account_id
        return self.owner_of(transfer.target_id) or transfer.target_id.lower()

    def _party_transfer(self, caller: Caller, transfer_id: str, now: datetime) -> ResponsibilityTransfer:
        """The transfer, if the caller (a management account) is one of its sides and it is still shown."""
        self._managed_organization(caller)
        transfer = self._get(transfer_id)
        if not isinstance(transfer, ResponsibilityTransfer) or not transfer.is_visible_at(now) or \
                caller.account_id not in (transfer.inviter_account_id, self._invitee_of(transfer)):
            raise errors.ResponsibilityTransferNotFoundException(
                f"We can't find a transfer with the Id {transfer_id}.")
        return transfer

    def _transfers(self, organization: Organization, side: str, now: datetime, *,
                   established: bool = False) -> list[ResponsibilityTransfer]:
        """The organization's live transfers on one side (decision 24's counting), oldest first."""
        found = []
        for transfer_id, recorded in organization.transfers.items():
            if recorded == side:
                transfer: ResponsibilityTransfer = self.repository.get(transfer_id)
                if (transfer.is_established_at(now) if established else transfer.is_live_at(now)):
                    found.append(transfer)
        return found

    def _payer(self, organization: Organization, now: datetime) -> Organization | None:
        """The organization that pays for ``organization`` (its established outbound transfer's inviter)."""
        for transfer in self._transfers(organization, OUTBOUND, now, established=True):
            return self._get(transfer.inviter_organization_id)
        return None

    def _payers(self, organization: Organization, now: datetime) -> list[Organization]:
        """The organizations that pay, directly or up the chain, for ``organization`` (nearest first)."""
        found: list[Organization] = []
        payer = self._payer(organization, now)
        while payer is not None and payer.id not in {o.id for o in found} and len(found) <= CHAIN_LIMIT:
            found.append(payer)
            payer = self._payer(payer, now)
        return found

    def _upstream(self, organization: Organization, now: datetime) -> list[str]:
        """The management accounts that pay, directly or up the chain, for ``organization``."""
        return [payer.management_account_id for payer in self._payers(organization, now)]

    def _depth_below(self, organization: Organization, now: datetime, seen: set[str]) -> int:
        """How many levels of organizations ``organization`` pays for (0: none); ``seen`` collects them."""
        depth = 0
        for transfer in self._transfers(organization, INBOUND, now, established=True):
            payee: Organization | None = self._get(transfer.source_organization_id or "")
            if payee is not None and payee.id not in seen and len(seen) <= CHAIN_LIMIT + 1:
                seen.add(payee.id)
                depth = max(depth, 1 + self._depth_below(payee, now, seen))
        return depth

    def _check_chain(self, inviter: Organization, invitee: Organization, now: datetime) -> None:
        """The chain the acceptance would make: its length within the quota, and never a cycle."""
        above = self._payers(inviter, now)
        below: set[str] = {invitee.id}
        length = len(above) + 1 + self._depth_below(invitee, now, below)
        cycle = inviter.id in below or invitee.id in {payer.id for payer in above}
        if cycle or length > min(self.limits.transfer_chain_length, CHAIN_LIMIT):
            raise errors.ConstraintViolationException(
                "You have exceeded the maximum length of your transfer chain.",
                "RESPONSIBILITY_TRANSFER_MAX_LEVEL_VIOLATION")
        top = above[-1] if above else inviter
        if self._chain_size(top, now) + 1 > self.limits.transfers_per_chain:
            raise errors.ConstraintViolationException(
                "You have exceeded the maximum number of inbound transfers allowed in a transfer chain.",
                "RESPONSIBILITY_TRANSFER_MAX_TRANSFERS_QUOTA_VIOLATION")

    def _chain_size(self, organization: Organization, now: datetime, level: int = 0) -> int:
        """Established inbound transfers in the chain under ``organization``."""
        total = 0
        for transfer in self._transfers(organization, INBOUND, now, established=True):
            total += 1
            payee: Organization | None = self._get(transfer.source_organization_id or "")
            if payee is not None and level < CHAIN_LIMIT:
                total += self._chain_size(payee, now, level + 1)
        return total

    def _notified(self, transfer: ResponsibilityTransfer, now: datetime) -> list[str]:
        """Who records a ResponsibilityTransferTerminated: both sides and the inviter's payers."""
        inviter: Organization | None = self._get(transfer.inviter_organization_id)
        upstream = self._upstream(inviter, now) if inviter is not None else []
        return [a for a in (transfer.source_account_id, transfer.inviter_account_id, *upstream) if a]

    def check_no_transfer_in_progress(self, organization: Organization, now: datetime) -> None:
        """DeleteOrganization's refusal (decision 24): the organization is party to a REQUESTED,
        ACCEPTED or not-yet-ended WITHDRAWN transfer (an invitation still addressed to it included)."""
        busy = self._transfers(organization, INBOUND, now) + [
            t for t in self._transfers(organization, OUTBOUND, now)
            if t.status_at(now) != "REQUESTED" or self._invitee_of(t) == organization.management_account_id]
        if busy:
            raise errors.ConstraintViolationException(
                "You cannot delete organization due to an ongoing responsibility transfer process. For example, a "
                "pending invitation or an in-progress transfer. To delete the organization, you must resolve the "
                "current transfer process.", "ACTIVE_RESPONSIBILITY_TRANSFER_PROCESS")
