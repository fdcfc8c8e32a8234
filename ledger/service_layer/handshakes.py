"""The handshake operations: one load-check-save method per AWS operation.

Each command loads its aggregates, checks the AWS rules in the order of decision 11
(input → existence and visibility → caller's side → state → business constraints), and
saves every changed aggregate in one transaction. A refused command records nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger.domain import errors
from ledger.domain.account import Account, email_claim_id
from ledger.domain.handshake import (
    ALL_FEATURES_LIFETIME,
    APPROVE_ALL_FEATURES,
    ENABLE_ALL_FEATURES,
    INVITE,
    INVITE_LIFETIME,
    OPEN,
    REQUESTED,
    Handshake,
)
from ledger.domain.ids import handshake_arn, new_handshake_id
from ledger.domain.organization import ALL, RATE_WINDOW, Organization
from ledger.domain.transfer import TRANSFER_RESPONSIBILITY
from ledger.service_layer.service import Caller, command
from ledger.service_layer.transfers import TransferCommands


class HandshakeCommands(TransferCommands):
    @command
    def invite_account_to_organization(
        self, caller: Caller, target_type: str, target_id: str,
        notes: str | None = None, tags: list[dict[str, str]] | None = None,
    ) -> Handshake:
        now = self.clock.now()
        organization = self._managed_organization(caller)
        tags = tags or []
        sent_to = target_id if target_type == "ACCOUNT" else email_claim_id(target_id)
        target_account = self.target_account(target_type, target_id)
        if organization.pending_all_features(now):
            raise errors.HandshakeConstraintViolationException(
                "You can't send invitations while the organization is enabling all features.",
                "INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES",
            )
        if target_account in organization.members:
            raise errors.HandshakeConstraintViolationException(
                f"Account {target_account} is already a member of this organization.", "ALREADY_IN_AN_ORGANIZATION"
            )
        if organization.open_invitation_to(target_account or sent_to, now, self._resolve_sent_to):
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
                {"Type": "MASTER_EMAIL", "Value": self.email_of(organization.management_account_id)},
                {"Type": "MASTER_NAME", "Value": self.name_of(organization.management_account_id)},
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
            # An EMAIL invitation's recipient is resolved when it is read or answered (decision 19).
            recipient_account_id=target_id if target_type == "ACCOUNT" else None,
            target_type=target_type, target_id=target_id,
            parties=[{"Type": "ORGANIZATION", "Id": organization.id}, {"Type": target_type, "Id": target_id}],
            resources=resources, state=OPEN, expires_at=now + INVITE_LIFETIME, parent_id=None, children=[],
            tags=tags, **self._by(caller, now),
        )
        organization.record_invitation(
            handshake_id=handshake_id, target=sent_to, expires_at=handshake.expires_at, **self._by(caller, now)
        )
        self.save(handshake, organization)
        return handshake

    def _resolve_sent_to(self, sent_to: str) -> str:
        """What an invitation's recorded target names now: its account, or the address itself."""
        if sent_to.startswith("email:"):
            return self.owner_of(sent_to.removeprefix("email:")) or sent_to
        return sent_to

    def describe_handshake(self, caller: Caller, handshake_id: str) -> Handshake:
        return self._visible_handshake(caller, handshake_id, self.clock.now())

    def _received_handshake(self, caller: Caller, handshake_id: str, now: datetime, verb: str) -> Handshake:
        """The handshake, if the caller is the side that answers it (its recipient)."""
        handshake = self._visible_handshake(caller, handshake_id, now)
        if caller.account_id != self.recipient_of(handshake):
            raise errors.AccessDeniedException(f"Only the recipient of a handshake can {verb} it.")
        return handshake

    @command
    def accept_handshake(self, caller: Caller, handshake_id: str) -> Handshake:
        now = self.clock.now()
        handshake = self._received_handshake(caller, handshake_id, now, "accept")
        handshake.check_accept(now)  # the state first (decision 11), then the business constraints
        if handshake.action == TRANSFER_RESPONSIBILITY:
            changed = self._answer_transfer(handshake, "ACCEPTED", caller, now)
            handshake.accept(**self._by(caller, now))
            self.save(handshake, *changed)
            return handshake
        joining = self._joining(handshake, caller, now) if handshake.action == INVITE else None
        handshake.accept(**self._by(caller, now))
        if joining is not None:
            self._join(handshake, *joining, caller, now)
        elif handshake.action == APPROVE_ALL_FEATURES:
            assert handshake.parent_id is not None, "an approval is always created with its parent"
            parent: Handshake = self.repository.get(handshake.parent_id)
            parent.record_child_accepted(handshake.id, **self._by(caller, now))
            self.save(handshake, parent)
        else:
            organization: Organization = self.repository.get(handshake.organization_id)
            organization.enable_all_features(handshake_id=handshake.id, **self._by(caller, now))
            self.save(handshake, organization)
        return handshake

    def _joining(self, handshake: Handshake, caller: Caller, now: datetime) -> tuple[Account, Organization | None]:
        """May the recipient join? Its account, and the organization it would move from (decision 12)."""
        account = self._account_or_new(caller.account_id, caller, now)
        if account.organization_id == handshake.organization_id:
            self._check_not_moved_on(handshake)  # joined by this very handshake, meanwhile?
            raise errors.HandshakeConstraintViolationException(
                "The account is already a member of this organization.", "ALREADY_IN_AN_ORGANIZATION"
            )
        if account.organization_id is None:
            return account, None
        previous: Organization = self.repository.get(account.organization_id)
        if previous.management_account_id == account.id:
            raise errors.MasterCannotLeaveOrganizationException(
                f"Account {account.id} is the management account of {previous.id}: "
                "delete that organization before joining another."
            )
        return account, previous

    def _join(self, handshake: Handshake, account: Account, previous: Organization | None, caller: Caller,
              now: datetime) -> None:
        """The recipient joins; a member of another organization moves in the same transaction."""
        changed = self._depart(previous, account, caller, now, removed=False) if previous is not None else []
        organization: Organization = self.repository.get(handshake.organization_id)
        organization.admit_member(
            account_id=account.id, email=account.email, name=account.name, handshake_id=handshake.id,
            tags=handshake.tags, **self._by(caller, now),
        )
        account.join(organization_id=organization.id, method="INVITED", handshake_id=handshake.id,
                     **self._by(caller, now))
        self.save(handshake, organization, account, *changed)

    @command
    def decline_handshake(self, caller: Caller, handshake_id: str) -> Handshake:
        now = self.clock.now()
        handshake = self._received_handshake(caller, handshake_id, now, "decline")
        handshake.check_decline(now)  # the state first (decision 11), then the business constraints
        if handshake.action == TRANSFER_RESPONSIBILITY:
            self._managed_organization(caller)  # only a management account answers (decision 21)
        if handshake.action == INVITE:
            self._check_not_managing_another(caller, handshake)
        handshake.decline(**self._by(caller, now))
        self.save(handshake, *self._close_invitation(handshake, "DECLINED", caller, now))
        return handshake

    def _check_not_managing_another(self, caller: Caller, handshake: Handshake) -> None:
        """The management account of an organization answers no other organization's invitation
        while it manages its own, declining included (decision 31); standalone once it is deleted."""
        organization = self.organization_of(caller.account_id)
        if organization is not None and organization.id != handshake.organization_id \
                and organization.management_account_id == caller.account_id:
            raise errors.HandshakeConstraintViolationException(
                f"Account {caller.account_id} is the management account of {organization.id}: it can't answer "
                "another organization's invitation until that organization is deleted.",
                "ALREADY_IN_AN_ORGANIZATION",
            )

    @command
    def cancel_handshake(self, caller: Caller, handshake_id: str) -> Handshake:
        now = self.clock.now()
        handshake = self._visible_handshake(caller, handshake_id, now)
        if caller.account_id != handshake.sender_account_id:
            raise errors.AccessDeniedException("Only the sender of a handshake can cancel it.")
        handshake.cancel(**self._by(caller, now))
        changed = self._close_invitation(handshake, "CANCELED", caller, now)
        if handshake.action == ENABLE_ALL_FEATURES:
            changed += self._cancel_children(handshake, caller, now)
            organization: Organization = self.repository.get(handshake.organization_id)
            organization.end_all_features_request(handshake_id=handshake.id, **self._by(caller, now))
            changed.append(organization)
        self.save(handshake, *changed)
        return handshake

    def _close_invitation(self, handshake: Handshake, outcome: str, caller: Caller, now: datetime) -> list[Any]:
        if handshake.action == TRANSFER_RESPONSIBILITY:
            return self._answer_transfer(handshake, outcome, caller, now)
        if handshake.action != INVITE:
            return []
        organization: Organization = self.repository.get(handshake.organization_id)
        organization.close_invitation(handshake_id=handshake.id, outcome=outcome, **self._by(caller, now))
        return [organization]

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
