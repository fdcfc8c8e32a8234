"""Configuration, read in one place: the data location, the accounts file, the quotas, and how a
served ledger is composed with them (the single-process server and each worker alike).

Settings read from the environment (positive integers for the limits):

- ``HANDSHAKE_LEDGER_DATA``: the data location when ``--data`` is not given (a folder, ``:memory:``
  or a ``postgresql://`` URL; default ``./handshake-ledger-data``).
- ``HANDSHAKE_LEDGER_ACCOUNT_LIMIT``: accounts per organization, open invitations included (10).
- ``HANDSHAKE_LEDGER_INVITE_RATE_LIMIT``: invitations per organization in any 24 hours (20).
- ``HANDSHAKE_LEDGER_INBOUND_TRANSFER_LIMIT``: billing transfers an organization may invite to and
  pay for at once (5; AWS's default for a fresh account is 0), decision 24.
- ``HANDSHAKE_LEDGER_TRANSFER_CHAIN_LENGTH``: the longest bill-transfer chain, 1 or 2 (1), decision 24.
- ``HANDSHAKE_LEDGER_TRANSFERS_PER_CHAIN``: inbound transfers across one chain (1000), decision 24.
  (The outbound quota, 1, is not adjustable, as on AWS.) Billing conditions (decision 27) are set
  per account in the accounts file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any, Mapping

from ledger.entrypoints.accounts import Accounts, load_accounts
from ledger.entrypoints.aws_json import AwsJsonService
from ledger.entrypoints.facade import Ledger
from ledger.entrypoints.http_protocol import ServerLimits
from ledger.entrypoints.identity import Identity
from ledger.entrypoints.webui import WebUI
from ledger.service_layer.application import Limits

DEFAULT_LOCATION = "handshake-ledger-data"
LIMIT_SETTINGS = {
    "HANDSHAKE_LEDGER_ACCOUNT_LIMIT": "accounts_per_organization",
    "HANDSHAKE_LEDGER_INVITE_RATE_LIMIT": "invitations_per_day",
    "HANDSHAKE_LEDGER_INBOUND_TRANSFER_LIMIT": "inbound_transfers",
    "HANDSHAKE_LEDGER_TRANSFER_CHAIN_LENGTH": "transfer_chain_length",
    "HANDSHAKE_LEDGER_TRANSFERS_PER_CHAIN": "transfers_per_chain",
}
MAXIMUM = {"transfer_chain_length": 2}


def data_location(given: str | os.PathLike[str] | None = None) -> str:
    """Where the ledger lives: ``given``, else ``HANDSHAKE_LEDGER_DATA``, else ``./handshake-ledger-data``."""
    return str(given or os.environ.get("HANDSHAKE_LEDGER_DATA") or DEFAULT_LOCATION)


def max_workers() -> int:
    """The most ``serve --workers`` may start: 4 per CPU (more processes only starve each other)."""
    return 4 * (os.cpu_count() or 1)


def limits_from_env(environ: Mapping[str, str]) -> Limits:
    """The quotas of the environment's ``LIMIT_SETTINGS``; ValueError for a value that isn't a positive integer."""
    values: dict[str, Any] = {}
    for name, field in LIMIT_SETTINGS.items():
        if environ.get(name):
            if not environ[name].isdigit() or int(environ[name]) < 1:
                raise ValueError(f"{name} must be a positive integer, not {environ[name]!r}")
            if int(environ[name]) > MAXIMUM.get(field, int(environ[name])):
                raise ValueError(f"{name} can be at most {MAXIMUM[field]}, not {environ[name]}")
            values[field] = int(environ[name])
    return Limits(**values)


def load_settings(accounts_file: str | None, strict: bool) -> tuple[Accounts, Limits]:
    """The accounts file and the limits; AccountsFileError or ValueError when unusable."""
    accounts = load_accounts(accounts_file)
    limits = replace(limits_from_env(os.environ), billing_conditions=accounts.billing_conditions())
    if strict and not accounts_file:
        raise ValueError("--strict needs --accounts: the secrets to verify signatures against")
    return accounts, limits


@dataclass(frozen=True)
class Settings:
    """Everything a served ledger is opened and answered with."""

    location: str | None
    accounts: Accounts
    limits: Limits
    strict: bool
    server: ServerLimits = ServerLimits()
    ui: bool = True
    allowed_hosts: tuple[str, ...] = ()  # Host names the web UI answers beyond its own (``webui/hosts.py``)
    access_log: bool = False  # serve --access-log: one line per request on stderr


def register_accounts(ledger: Ledger, accounts: Accounts) -> None:
    """Names and emails of the accounts file feed MASTER_NAME/MASTER_EMAIL and EMAIL targets."""
    for entry in accounts.entries:
        if entry.email or entry.name:
            ledger.register_account(entry.id, entry.email, entry.name)


def compose_service(ledger: Ledger, settings: Settings) -> tuple[AwsJsonService, WebUI | None]:
    """The AWS JSON service (with its identity check) and the web UI over one opened ledger."""
    service = AwsJsonService(ledger, Identity(settings.accounts, strict=settings.strict, clock=ledger.clock))
    return service, (WebUI(ledger, settings.accounts, strict=settings.strict, allowed_hosts=settings.allowed_hosts)
                     if settings.ui else None)
