"""The accounts file: who the server's callers are, by access key.

A TOML file with one ``[[accounts]]`` table per AWS account and, under it, one
``[[accounts.keys]]`` table per access key of that account::

    [[accounts]]
    id = "111111111111"            # 12 digits, required
    name = "Management"            # optional: feeds MASTER_NAME and ListAccounts
    email = "mgmt@example.com"     # optional: feeds MASTER_EMAIL and EMAIL-targeted invitations

    [[accounts.keys]]
    access_key_id = "AKIAMANAGEMENT0000001"
    secret_access_key = "s3cr3t"   # checked only by ``serve --strict``
    user = "deploy"                # optional: the IAM user owning the key (STS GetCallerIdentity)

    [[accounts]]
    id = "222222222222"
    name = "Alice"
    email = "alice@example.com"
    billing_conditions = ["PAST_DUE_INVOICE"]   # optional (decision 27): refused billing transfers

``billing_conditions`` lists conditions that live outside Organizations, each a reason of
``ledger.service_layer.billing.BILLING_CONDITIONS`` (PAST_DUE_INVOICE, UNUSED_PREPAYMENT_BALANCE,
LEGACY_PERMISSIONS_STILL_IN_USE, UNSUPPORTED_PRICING, UNMET_BILLING_PREREQUISITE,
ACCOUNT_NOT_ACTIVE_FOR_TRANSFER_RESPONSIBILITY): a billing transfer this account invites to or
accepts is refused with it.

Accounts, emails and access key ids are each listed once; a 12-digit key id must be its
account's own id (decision 4 already reads such a key as that account). An omitted name or
email is the ledger's default for the account. Neither an access key id nor a secret may be
empty or blank: an empty secret is one anybody knows. A key without ``user`` is the account's root: STS
GetCallerIdentity answers ``arn:aws:iam::<id>:root`` for it, and ``arn:aws:iam::<id>:user/<user>``
for a key with one (an IAM user name: 1-64 of letters, digits and ``+=,.@_-``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.service_layer.billing import BILLING_CONDITIONS
from ledger.service_layer.requests import is_valid

USER_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)  # IAM's userNameType


class AccountsFileError(ValueError):
    """The accounts file can't be used as it is; the message says where."""


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    user: str | None = None  # the IAM user owning the key; None: the account's root


@dataclass(frozen=True)
class AccountEntry:
    id: str
    name: str | None = None
    email: str | None = None
    keys: tuple[AccessKey, ...] = ()
    billing_conditions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Accounts:
    """The configured accounts and an index of their access keys."""

    entries: tuple[AccountEntry, ...] = ()
    _by_key: dict[str, tuple[str, AccessKey]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for what, values in (("account", [e.id for e in self.entries]),
                             ("email", [e.email.lower() for e in self.entries if e.email])):
            if len(set(values)) != len(values):
                raise AccountsFileError(f"an {what} is listed twice")
        for entry in self.entries:
            for key in entry.keys:
                if key.access_key_id in self._by_key:
                    raise AccountsFileError(f"access key {key.access_key_id} is listed twice")
                if is_valid("AccountId", key.access_key_id) and key.access_key_id != entry.id:
                    raise AccountsFileError(f"12-digit access key {key.access_key_id} must be account {entry.id}'s own id")
                self._by_key[key.access_key_id] = (entry.id, key)

    def billing_conditions(self) -> tuple[tuple[str, str], ...]:
        """(account id, reason) for every billing condition set in the file (decision 27)."""
        return tuple((entry.id, reason) for entry in self.entries for reason in entry.billing_conditions)

    def key(self, access_key_id: str) -> tuple[str, AccessKey] | None:
        """The account owning ``access_key_id`` and the key itself, if configured."""
        return self._by_key.get(access_key_id)


def load_accounts(path: str | Path | None) -> Accounts:
    """Read the accounts file; no file means no configured accounts."""
    if path is None:
        return Accounts()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as problem:
        raise AccountsFileError(f"{path}: {problem}") from None
    tables = data.get("accounts", [])
    if not isinstance(tables, list):
        raise AccountsFileError(f"{path}: 'accounts' must be an array of tables ([[accounts]])")
    return Accounts(tuple(_entry(path, n, table) for n, table in enumerate(tables, start=1)))


def _entry(path: str | Path, number: int, table: Any) -> AccountEntry:
    where = f"{path}: accounts #{number}"
    if not isinstance(table, dict) or not is_valid("AccountId", table.get("id")):
        raise AccountsFileError(f"{where}: 'id' must be a 12-digit string")
    keys = table.get("keys", [])
    if not isinstance(keys, list):
        raise AccountsFileError(f"{where}: 'keys' must be an array of tables ([[accounts.keys]])")
    return AccountEntry(
        id=table["id"], name=_text(where, table, "name"), email=_text(where, table, "email"),
        keys=tuple(_key(f"{where} key #{k}", key) for k, key in enumerate(keys, start=1)),
        billing_conditions=_conditions(where, table.get("billing_conditions", [])),
    )


def _conditions(where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or any(reason not in BILLING_CONDITIONS for reason in value):
        raise AccountsFileError(f"{where}: 'billing_conditions' must be a list of {', '.join(BILLING_CONDITIONS)}")
    return tuple(value)


def _key(where: str, table: Any) -> AccessKey:
    if not isinstance(table, dict):
        raise AccountsFileError(f"{where}: must be a table")
    key_id, secret = _text(where, table, "access_key_id"), _text(where, table, "secret_access_key")
    if key_id is None or secret is None:
        raise AccountsFileError(f"{where}: 'access_key_id' and 'secret_access_key' are required")
    for name, value in (("access_key_id", key_id), ("secret_access_key", secret)):
        if not value.strip():  # an empty secret would let anyone sign as the account (and Basic ``key:`` log in)
            raise AccountsFileError(f"{where}: '{name}' must not be empty")
    user = _text(where, table, "user")
    if user is not None and not USER_NAME.fullmatch(user):
        raise AccountsFileError(f"{where}: 'user' must be an IAM user name (1-64 of letters, digits and +=,.@_-)")
    return AccessKey(key_id, secret, user)


def _text(where: str, table: dict[str, Any], name: str) -> str | None:
    value = table.get(name)
    if value is not None and not isinstance(value, str):
        raise AccountsFileError(f"{where}: '{name}' must be a string")
    return value
