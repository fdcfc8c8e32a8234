"""Configuration, read in one place: the data location, the accounts file, the quotas, and how a
served ledger is composed with them (the single-process server and each worker alike).

Settings read from the environment (positive integers for the limits):

- ``HANDSHAKE_LEDGER_DATA``: the data location when ``--data`` is not given (a folder, ``:memory:``
  or a ``postgresql://`` URL; default ``./handshake-ledger-data``).
- ``HANDSHAKE_LEDGER_ACCOUNT_LIMIT``: accounts per organization, open invitations included (10).
- ``HANDSHAKE_LEDGER_INVITE_RATE_LIMIT``: invitations per organization in any 24 hours (20).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

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
}


def data_location(given: str | os.PathLike[str] | None = None) -> str:
    """Where the ledger lives: ``given``, else ``HANDSHAKE_LEDGER_DATA``, else ``./handshake-ledger-data``."""
    return str(given or os.environ.get("HANDSHAKE_LEDGER_DATA") or DEFAULT_LOCATION)


def limits_from_env(environ: Mapping[str, str]) -> Limits:
    """The quotas of the environment's ``LIMIT_SETTINGS``; ValueError for a value that isn't a positive integer."""
    values: dict[str, int] = {}
    for name, field in LIMIT_SETTINGS.items():
        if environ.get(name):
            if not environ[name].isdigit() or int(environ[name]) < 1:
                raise ValueError(f"{name} must be a positive integer, not {environ[name]!r}")
            values[field] = int(environ[name])
    return Limits(**values)


def load_settings(accounts_file: str | None, strict: bool) -> tuple[Accounts, Limits]:
    """The accounts file and the limits; AccountsFileError or ValueError when unusable."""
    accounts = load_accounts(accounts_file)
    limits = limits_from_env(os.environ)
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
    access_log: bool = False  # serve --access-log: one line per request on stderr


def register_accounts(ledger: Ledger, accounts: Accounts) -> None:
    """Names and emails of the accounts file feed MASTER_NAME/MASTER_EMAIL and EMAIL targets."""
    for entry in accounts.entries:
        if entry.email or entry.name:
            ledger.register_account(entry.id, entry.email, entry.name)


def compose_service(ledger: Ledger, settings: Settings) -> tuple[AwsJsonService, WebUI | None]:
    """The AWS JSON service (with its identity check) and the web UI over one opened ledger."""
    service = AwsJsonService(ledger, Identity(settings.accounts, strict=settings.strict, clock=ledger.clock))
    return service, WebUI(ledger, settings.accounts, strict=settings.strict) if settings.ui else None
