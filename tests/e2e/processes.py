"""What the tests of ``serve --workers`` look at: the supervisor's children and their connections
(Linux /proc), and afterwards the ledger's log against its views."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ledger import open_ledger
from ledger.domain.handshake import Handshake

ESTABLISHED = "01"  # the state column of /proc/net/tcp


def children(pid: int) -> list[int]:
    """The children of a single-threaded process (Linux /proc)."""
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def serving_connections(port: int) -> set[int]:
    """Socket inodes of the server ends of established connections on ``port``."""
    inodes: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == ESTABLISHED:
                inodes.add(int(fields[9]))
    return inodes


def sockets_of(pid: int) -> set[int]:
    inodes: set[int] = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:["):-1]))
    return inodes


def busiest_child(pid: int, port: int) -> int:
    """The child of ``pid`` holding the most client connections on ``port``: a worker at work."""
    serving = serving_connections(port)
    held = {child: len(sockets_of(child) & serving) for child in children(pid)}
    busiest = max(held, key=held.__getitem__)
    assert held[busiest], f"no child of {pid} holds a connection on {port}"
    return busiest


def notifications(ledger: Any) -> list[Any]:
    """The whole log, in order."""
    found: list[Any] = []
    while batch := ledger.app.recorder.select_notifications(
        start=found[-1].id if found else None, limit=1000, inclusive_of_start=not found
    ):
        found += batch
    return found


def assert_views_hold_the_log_once(ledger: Any) -> None:
    """One view row per handshake of the log, one event_times row per event: nothing twice or missing."""
    log = notifications(ledger)
    created = [n.originator_id for n in log if isinstance(ledger.app.mapper.to_domain_event(n), Handshake.Created)]
    rows = [row["id"] for row in ledger.view.facts()]
    assert sorted(map(str, rows)) == sorted(map(str, created))
    times = ledger.view._query("SELECT notification_id FROM {p}event_times ORDER BY notification_id")
    assert [row["notification_id"] for row in times] == [n.id for n in log]
    assert ledger.view.position() == log[-1].id


def view_answers(ledger: Any, managements: list[str], invitees: list[str]) -> list[Any]:
    """Both Lists of every account involved, and Describe of every handshake listed."""
    answers: list[Any] = []
    for account, method in [*((m, "list_handshakes_for_organization") for m in managements),
                            *((i, "list_handshakes_for_account") for i in invitees)]:
        client = ledger.client(account)
        listed = [h for page in client.get_paginator(method).paginate(MaxResults=7) for h in page["Handshakes"]]
        answers.append((account, listed))
        if method == "list_handshakes_for_organization":
            answers += [client.describe_handshake(HandshakeId=h["Id"])["Handshake"] for h in listed]
    return answers


def assert_views_equal_a_rebuild(location: str, managements: list[str], invitees: list[str]) -> None:
    with open_ledger(location) as ledger:
        assert_views_hold_the_log_once(ledger)
        before = view_answers(ledger, managements, invitees)
        ledger.rebuild()
        assert view_answers(ledger, managements, invitees) == before
        assert_views_hold_the_log_once(ledger)
