"""The account directory (decision 19): whose email is this, and what is this account's email.

One rule, written once, answers for every reader and every command: the commands read it
from the ``Account`` and ``EmailClaim`` aggregates, the views from their versioned directory
table (as of any position). Only the lookups differ; ``resolve_owner`` and ``email_of`` are
the rule.

- An account's email is the one registered for it (the accounts file, or
  ``Ledger.register_account``), else its default ``account-<id>@example.com``.
- An email belongs to at most one account: the account that registered it, or, for a default
  address, the account it names while that account has no other email.
- Emails compare case-insensitively and are shown as written.
"""

from __future__ import annotations

import re
from typing import Callable, Protocol

DEFAULT_DOMAIN = "example.com"
_DEFAULT_EMAIL = re.compile(r"account-([0-9]{12})@example\.com", re.ASCII | re.IGNORECASE)


def default_email(account_id: str) -> str:
    """The email of an account nobody registered an email for."""
    return f"account-{account_id}@{DEFAULT_DOMAIN}"


def default_name(account_id: str) -> str:
    return f"Account {account_id}"


def email_key(email: str) -> str:
    """What emails are compared by: case-insensitive, shown as written."""
    return email.lower()


def default_owner(email: str) -> str | None:
    """The account a default address names (``account-<id>@example.com``), if it is one."""
    match = _DEFAULT_EMAIL.fullmatch(email)
    return match.group(1) if match else None


def resolve_owner(email: str, *, claimed_by: Callable[[str], str | None],
                  email_of: Callable[[str], str]) -> str | None:
    """The account ``email`` belongs to, or None.

    ``claimed_by(key)``: the account that registered the address with this ``email_key``;
    ``email_of(account_id)``: that account's current email. A default address belongs to the
    account it names only while that account has no registered email.
    """
    owner = claimed_by(email_key(email))
    if owner is not None:
        return owner
    named = default_owner(email)
    if named is not None and email_key(email_of(named)) == email_key(email):
        return named
    return None


class Directory(Protocol):
    """The two questions every part of the ledger asks of the directory."""

    def email_of(self, account_id: str) -> str: ...

    def owner_of(self, email: str) -> str | None: ...
