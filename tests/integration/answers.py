"""A random story of commands at increasing instants, and every caller's answers recorded as it goes.

``play`` runs the story on a ledger under freezegun and records, after each step, what each caller's
read operations answered then (``Recorded``). Any client that can ask "as of an instant" (the
in-process ``ledger.at(T)``, boto3 through the server's ``/as-of/`` prefix, the CLI) can then be
checked against those answers with ``ask``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from botocore.exceptions import ClientError
from hypothesis import strategies as st

MANAGERS = ("100000000001", "100000000002")
ACCOUNTS = ("200000000001", "200000000002", "200000000003")
CALLERS = MANAGERS + ACCOUNTS
EMAILS = ("first@example.com", "second@example.com", "account-200000000003@example.com")
ADVANCES = (1, 61, 3_600, 86_400, 6 * 86_400, 16 * 86_400, 40 * 86_400)  # seconds: crosses expiry and retention

step = st.tuples(
    st.sampled_from(["create", "invite", "invite_email", "accept", "decline", "cancel", "leave", "remove",
                     "enable", "register", "delete"]),
    st.integers(0, len(MANAGERS) - 1), st.integers(0, len(ACCOUNTS) - 1), st.integers(0, 9),
    st.sampled_from(ADVANCES),
)
stories = st.lists(step, min_size=3, max_size=22)


@dataclass(frozen=True)
class Recorded:
    """One read as a caller asked it live, and what it answered (an error as its code)."""

    instant: datetime
    caller: str
    operation: str  # the boto3 method
    params: dict[str, Any]
    answer: Any


def ask(client: Any, operation: str, params: dict[str, Any]) -> Any:
    """A read's answer without what differs between two askings (request ids, tokens); errors as codes."""
    try:
        if operation.startswith("list_"):
            pages = client.get_paginator(operation).paginate(**params)
            key = "Accounts" if operation == "list_accounts" else "Handshakes"
            return [item for page in pages for item in page[key]]
        answer = getattr(client, operation)(**params)
        return {k: v for k, v in answer.items() if k != "ResponseMetadata"}
    except ClientError as error:
        return error.response["Error"]["Code"]


def play(ledger: Any, clock: Any, steps: list[tuple[str, int, int, int, int]]) -> list[Recorded]:
    """Run the story; after each step (time moves on first) record every caller's reads."""
    seen: list[str] = []
    recorded: list[Recorded] = []
    for move, m, a, pick, advance in steps:
        clock.tick(timedelta(seconds=advance))
        _run(ledger, move, MANAGERS[m], ACCOUNTS[a], pick, seen)
        now = datetime.now(timezone.utc)
        for caller in CALLERS:
            client = ledger.client(caller)
            reads: list[tuple[str, dict[str, Any]]] = [
                ("list_handshakes_for_account", {"PaginationConfig": {"PageSize": 2}}),
                ("list_handshakes_for_organization", {}),
                ("describe_organization", {}),
                ("list_accounts", {}),
            ]
            reads += [("describe_handshake", {"HandshakeId": h}) for h in seen[-4:]]
            reads += [("describe_account", {"AccountId": account}) for account in ACCOUNTS[:1]]
            recorded += [Recorded(now, caller, op, params, ask(client, op, params)) for op, params in reads]
    return recorded


def _run(ledger: Any, move: str, manager: str, account: str, pick: int, seen: list[str]) -> None:
    mgmt, member = ledger.client(manager), ledger.client(account)
    actions: dict[str, Callable[[], Any]] = {
        "create": lambda: mgmt.create_organization(FeatureSet=("ALL", "CONSOLIDATED_BILLING")[pick % 2]),
        "invite": lambda: seen.append(mgmt.invite_account_to_organization(
            Target={"Type": "ACCOUNT", "Id": account})["Handshake"]["Id"]),
        "invite_email": lambda: seen.append(mgmt.invite_account_to_organization(
            Target={"Type": "EMAIL", "Id": EMAILS[pick % len(EMAILS)]})["Handshake"]["Id"]),
        "accept": lambda: member.accept_handshake(HandshakeId=seen[pick % len(seen)]),
        "decline": lambda: member.decline_handshake(HandshakeId=seen[pick % len(seen)]),
        "cancel": lambda: mgmt.cancel_handshake(HandshakeId=seen[pick % len(seen)]),
        "leave": lambda: member.leave_organization(),
        "remove": lambda: mgmt.remove_account_from_organization(AccountId=account),
        "enable": lambda: seen.append(mgmt.enable_all_features()["Handshake"]["Id"]),
        "register": lambda: ledger.register_account(account, EMAILS[pick % 2], f"Account {pick}"),
        "delete": lambda: mgmt.delete_organization(),
    }
    if move in ("accept", "decline", "cancel") and not seen:
        return
    try:
        actions[move]()
    except ClientError:
        pass  # refused: part of a realistic story, and it records nothing
    except Exception as error:  # noqa: BLE001 - register_account refuses a taken address in Python
        if type(error).__name__ != "ConstraintViolationException":
            raise
