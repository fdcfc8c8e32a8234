"""Accounts and the organization around the handshakes: one load-check-save method per operation."""

from __future__ import annotations

from typing import Any

from ledger.domain import errors
from ledger.domain.account import Account, EmailClaim, email_claim_id
from ledger.domain.directory import default_email, default_name, default_owner, email_key
from ledger.domain.handshake import Handshake
from ledger.domain.ids import new_organization_id, new_root_id
from ledger.domain.organization import ALL, Organization
from ledger.service_layer.audit import ACCOUNT, reveal
from ledger.service_layer.service import Caller, command
from ledger.service_layer.transfers import TransferCommands


class OrganizationCommands(TransferCommands):
    @command
    def register_account(self, account_id: str, email: str | None = None, name: str | None = None,
                         caller: Caller | None = None) -> Account:
        """Record an account's email and name (decision 19); a no-op when unchanged.

        ``email``/``name`` default to the account's defaults. An address that belongs to another
        account (registered by it, or its default ``account-<id>@example.com``) is refused with
        ConstraintViolationException ``EMAIL_ALREADY_IN_USE`` (an internal operation: not on the wire).
        """
        now = self.clock.now()
        caller = caller or Caller(account_id)
        email = email or default_email(account_id)
        name = name or default_name(account_id)
        owner = self._claimed_by(email_key(email)) or default_owner(email)
        if owner not in (None, account_id):
            raise errors.ConstraintViolationException(
                f"Email {email} already belongs to account {owner}.", "EMAIL_ALREADY_IN_USE"
            )
        account = self.account(account_id)
        changed: list[Any] = []
        if account is None:
            account = Account(id=account_id, email=email, name=name, **self._by(caller, now))
        elif (account.email, account.name) == (email, name):
            return account
        else:
            if email_key(account.email) != email_key(email):
                old: EmailClaim | None = self._get(email_claim_id(account.email))
                if old is not None and old.account_id == account_id:
                    old.release(**self._by(caller, now))
                    changed.append(old)
            account.change_profile(email=email, name=name, **self._by(caller, now))
        if default_owner(email) is None:  # a default address is never claimed: the rule resolves it
            claim: EmailClaim | None = self._get(email_claim_id(email))
            if claim is None:
                changed.append(EmailClaim(id=email_claim_id(email), account_id=account_id, **self._by(caller, now)))
            elif claim.account_id != account_id:
                claim.reclaim(account_id=account_id, **self._by(caller, now))
                changed.append(claim)
        self.save(account, *changed)
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

    @command
    def delete_organization(self, caller: Caller) -> None:
        now = self.clock.now()
        organization = self._managed_organization(caller)
        if len(organization.members) > 1:
            raise errors.OrganizationNotEmptyException()
        self.check_no_transfer_in_progress(organization, now)
        changed: list[Any] = self._cancel_open_invitations(organization, caller, now, cause="organization deleted")
        pending = organization.pending_all_features(now)
        if pending:
            parent: Handshake = self.repository.get(pending)
            parent.cancel(cause="organization deleted", **self._by(caller, now))
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
        account = self._account_or_new(caller.account_id, caller, now)
        self.save(*self._depart(organization, account, caller, now, removed=False))

    @command
    def remove_account_from_organization(self, caller: Caller, account_id: str) -> None:
        now = self.clock.now()
        organization = self._managed_organization(caller)
        if account_id not in organization.members:
            raise errors.AccountNotFoundException(f"Account {account_id} is not a member of {organization.id}.")
        reveal(ACCOUNT, account_id)  # a member: the management account may see it
        if account_id == organization.management_account_id:
            raise errors.MasterCannotLeaveOrganizationException()
        account = self._account_or_new(account_id, caller, now)
        self.save(*self._depart(organization, account, caller, now, removed=True))
