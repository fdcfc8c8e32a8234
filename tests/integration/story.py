"""A random but reproducible history: several organizations and accounts, every action."""

from __future__ import annotations

import random
from typing import Any

from botocore.exceptions import ClientError

MANAGERS = [f"10000000000{i}" for i in range(3)]
ACCOUNTS = [f"20000000000{i}" for i in range(8)]


def play(ledger: Any, clock: Any, *, seed: int, steps: int) -> list[str]:
    """Run ``steps`` random commands (time moving between them); return every handshake id seen."""
    rng = random.Random(seed)
    for n, account in enumerate(ACCOUNTS[:4]):
        ledger.register_account(account, f"user{n}@example.com", f"User {n}")
    for n, manager in enumerate(MANAGERS):
        ledger.client(manager).create_organization(FeatureSet="CONSOLIDATED_BILLING" if n else "ALL")
    seen: list[str] = []
    for _ in range(steps):
        clock.tick(rng.choice([1, 60, 3600, 3 * 3600, 12 * 3600, 2 * 86400]))
        manager = rng.choice(MANAGERS)
        account = rng.choice(ACCOUNTS)
        move = rng.choices(["invite", "invite_email", "accept", "decline", "cancel", "leave", "enable"],
                           weights=[6, 2, 4, 2, 2, 1, 1])[0]
        try:
            if move in ("invite", "invite_email"):
                target = ({"Type": "EMAIL", "Id": f"user{ACCOUNTS.index(account)}@example.com"}
                          if move == "invite_email" else {"Type": "ACCOUNT", "Id": account})
                seen.append(ledger.client(manager).invite_account_to_organization(Target=target)["Handshake"]["Id"])
            elif move == "enable":
                seen.append(ledger.client(manager).enable_all_features()["Handshake"]["Id"])
            elif move == "leave":
                ledger.client(account).leave_organization()
            else:
                actor = manager if move == "cancel" else account
                received = ledger.client(actor).list_handshakes_for_account()["Handshakes"]
                pool = [h["Id"] for h in received] or seen
                if move == "cancel":
                    pool = [h["Id"] for h in ledger.client(manager).list_handshakes_for_organization()["Handshakes"]
                            if h["State"] in ("OPEN", "REQUESTED")] if _in_org(ledger, manager) else seen
                if pool:
                    getattr(ledger.client(actor), f"{move}_handshake")(HandshakeId=rng.choice(pool))
        except ClientError:
            pass  # refused commands are part of a realistic history; they record nothing
    return sorted(set(seen))


def _in_org(ledger: Any, account: str) -> bool:
    return ledger.app.organization_of(account) is not None
