"""Billing conditions that live outside Organizations (``docs/decisions.md`` decision 27).

AWS refuses a billing transfer for reasons Organizations' state can't show (a past-due invoice, an
unused prepayment...). The ledger lets users set them per account (the accounts file's
``billing_conditions``), so that their error handling can be tested: each raises its documented
exception and reason, with the model's description as the message, at Invite (the inviter's) and
at Accept (either side's).
"""

from __future__ import annotations

from typing import Any

from ledger.domain import errors

# reason -> (exception, message): botocore's organizations model's descriptions of the reasons.
BILLING_CONDITIONS: dict[str, tuple[type[errors.OrganizationsError], str]] = {
    "PAST_DUE_INVOICE": (errors.HandshakeConstraintViolationException,
                         "Your organization has an invoice that is past due."),
    "UNUSED_PREPAYMENT_BALANCE": (errors.HandshakeConstraintViolationException,
                                  "Your organization has an outstanding pre-payment balance."),
    "LEGACY_PERMISSIONS_STILL_IN_USE": (
        errors.HandshakeConstraintViolationException,
        "Your organization must migrate to use the new IAM fine-grained actions for billing, cost management, "
        "and accounts."),
    "UNSUPPORTED_PRICING": (
        errors.ConstraintViolationException,
        "Ineligible for Billing Transfer. Your organization is subject to a pricing agreement with Amazon Web "
        "Services that Billing Transfer does not support."),
    "UNMET_BILLING_PREREQUISITE": (
        errors.ConstraintViolationException,
        "Your current billing configuration is unsupported. Contact Amazon Web Services Support for assistance."),
    "ACCOUNT_NOT_ACTIVE_FOR_TRANSFER_RESPONSIBILITY": (
        errors.ConstraintViolationException,
        "Your account setup isn't complete or your account isn't fully active to invite or accept a Billing "
        "Transfer invitation."),
}


def check_billing_conditions(limits: Any, *account_ids: str) -> None:
    """Raise the first condition set for any of ``account_ids`` (``limits.billing_conditions``:
    (account id, reason) pairs, in the accounts file's order)."""
    for account_id, reason in limits.billing_conditions:
        if account_id in account_ids:
            exception, message = BILLING_CONDITIONS[reason]
            raise exception(message, reason)
