"""SIGTERM/SIGINT: requests in flight finish, the ledger closes, no acknowledged write is lost."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError

from tests.conftest import ALICE, MANAGEMENT
from tests.e2e.conftest import Server

PROMPTLY = 5.0  # seconds


def invite(management: Any, account_id: str) -> str:
    answer = management.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": account_id})
    return str(answer["Handshake"]["Id"])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stops_promptly_with_0_and_keeps_the_acknowledged_write(tmp_path: Path, sig: int) -> None:
    server = Server(tmp_path / "data").start()
    management = server.client(MANAGEMENT)  # its keep-alive connection stays open across the stop
    management.create_organization(FeatureSet="CONSOLIDATED_BILLING")
    handshake_id = invite(management, ALICE)
    began = time.monotonic()
    assert server.stop(sig) == 0
    assert time.monotonic() - began < PROMPTLY

    server.start()
    try:
        assert server.client(ALICE).describe_handshake(HandshakeId=handshake_id)["Handshake"]["State"] == "OPEN"
    finally:
        assert server.stop() == 0


def test_writes_in_flight_at_sigterm_are_finished_or_refused_never_lost(tmp_path: Path) -> None:
    limits = {"HANDSHAKE_LEDGER_ACCOUNT_LIMIT": "10000", "HANDSHAKE_LEDGER_INVITE_RATE_LIMIT": "10000"}
    server = Server(tmp_path / "data", env=limits).start()
    acknowledged: list[tuple[str, str]] = []
    failures: list[BaseException] = []
    enough = threading.Event()
    lock = threading.Lock()

    def invite_until_refused(n: int) -> None:
        boss = f"9{n:011d}"
        client = server.client(boss)
        try:
            client.create_organization(FeatureSet="CONSOLIDATED_BILLING")
            for k in range(10_000):
                handshake_id = invite(client, f"8{n:05d}{k:06d}")
                with lock:
                    acknowledged.append((boss, handshake_id))
                    if len(acknowledged) >= 40:
                        enough.set()
        except BotoCoreError:
            return  # the server stopped: this request was not acknowledged
        except BaseException as failure:
            failures.append(failure)
            enough.set()

    writers = [threading.Thread(target=invite_until_refused, args=(n,)) for n in range(4)]
    for writer in writers:
        writer.start()
    assert enough.wait(timeout=60)
    assert server.stop() == 0
    for writer in writers:
        writer.join()
    assert failures == []

    server.start()
    try:
        clients = {boss: server.client(boss) for boss, _ in acknowledged}
        for boss, handshake_id in acknowledged:
            assert clients[boss].describe_handshake(HandshakeId=handshake_id)["Handshake"]["State"] == "OPEN"
    finally:
        assert server.stop() == 0
