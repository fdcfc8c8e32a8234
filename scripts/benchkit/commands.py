"""Figure 1: durable commands/s in-process (invite, then decline, accept or cancel), command only and
through the client (incl. the read-your-writes view catch-up), beside raw one-row commits."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Sequence

from benchkit.figures import Figure, Plan, throughput_figure, timed
from benchkit.seeding import invitee, management
from benchkit.stores import RawCommits
from ledger import open_ledger
from ledger.service_layer.application import Caller

INVITES_PER_ORG = 6  # then 2 declines, 2 accepts, 2 cancels: 12 commands per organization


class CommandDriver:
    """The command mix, sent through ``ledger.app`` (command only) or ``ledger.client`` (as users do)."""

    def __init__(self, ledger: Any, through_client: bool):
        self.ledger = ledger
        self.through_client = through_client

    def create_organization(self, org: int) -> None:
        caller = management(org)
        if self.through_client:
            self.ledger.client(caller).create_organization(FeatureSet="ALL")
        else:
            self.ledger.app.create_organization(Caller(caller))

    def invite(self, org: int, n: int) -> str:
        caller, target = management(org), invitee(org, n)
        if self.through_client:
            answer = self.ledger.client(caller).invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": target})
            return str(answer["Handshake"]["Id"])
        return str(self.ledger.app.invite_account_to_organization(Caller(caller), "ACCOUNT", target).id)

    def respond(self, org: int, n: int, handshake_id: str) -> None:
        method = ("decline_handshake", "accept_handshake", "cancel_handshake")[n % 3]
        caller = management(org) if method == "cancel_handshake" else invitee(org, n)
        if self.through_client:
            getattr(self.ledger.client(caller), method)(HandshakeId=handshake_id)
        else:
            getattr(self.ledger.app, method)(Caller(caller), handshake_id)


def command_mix(driver: CommandDriver, orgs: Sequence[int], threads: int = 1) -> int:
    """Invitations from every organization of ``orgs``, then their answers; the number of commands.
    With ``threads``, each thread sends the mix of its own share of the organizations, all at once."""
    if threads > 1:
        counts = [0] * threads
        shares = [list(orgs)[n::threads] for n in range(threads)]
        workers = [threading.Thread(target=lambda n=n: counts.__setitem__(n, command_mix(driver, shares[n])))
                   for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return sum(counts)
    invited = {(org, n): driver.invite(org, n) for n in range(INVITES_PER_ORG) for org in orgs}
    for (org, n), handshake_id in invited.items():
        driver.respond(org, n, handshake_id)
    return 2 * len(invited)


def recorded_bytes(app: Any, after: int) -> int:
    total, position = 0, after
    while True:
        page = app.recorder.select_notifications(start=position, limit=1000, inclusive_of_start=False)
        if not page:
            return total
        total += sum(len(n.state) + len(n.topic) + len(n.originator_id) for n in page)
        position = page[-1].id


@dataclass
class CommandRun:
    commands: int = 0
    seconds: float = 0.0
    bytes: int = 0
    raw_seconds: float = 0.0


def run_commands(ledger: Any, raw: RawCommits, orgs: int, through_client: bool, chunk: int = 10,
                 threads: int = 1) -> CommandRun:
    """Chunks of the command mix, each followed by as many raw one-row commits of the same size:
    both see the same disk (its fsync latency drifts with whatever else runs on the machine)."""
    driver, total = CommandDriver(ledger, through_client), CommandRun()
    for org in range(orgs):
        driver.create_organization(org)
    ledger.catch_up()
    for first in range(0, orgs, chunk):
        start = ledger.app.recorder.max_notification_id() or 0
        seconds, commands = timed(lambda: command_mix(driver, range(first, min(orgs, first + chunk)), threads))
        written = recorded_bytes(ledger.app, start)
        total.raw_seconds += raw.commit(commands, written // commands)
        total.commands, total.seconds, total.bytes = total.commands + commands, total.seconds + seconds, \
            total.bytes + written
    return total


COMMAND_RUNS = (  # (key, title, through the client, threads, target)
    ("commands_app", "Commands/s, command only (ledger.app), 1 thread", False, 1, None),
    ("commands_app_8", "Commands/s, command only, 8 threads (group commit)", False, 8, 0.7),
    ("commands_client", "Commands/s, boto3 client incl. view catch-up, 8 threads", True, 8, 0.7),
)


def bench_commands(store: Any, plan: Plan) -> list[Figure]:
    """Durable commands in-process beside raw one-row commits of the same size, taking turns."""
    figures = []
    for key, title, through_client, threads, target in COMMAND_RUNS:
        with open_ledger(store.location(key)) as ledger, store.raw_table(ledger) as raw:
            done = run_commands(ledger, raw, plan.command_orgs, through_client, threads=threads,
                                chunk=max(10, 2 * threads))
        per_command = done.bytes // done.commands
        figures.append(throughput_figure(
            key, title, done.commands / done.seconds, f"{raw.title}, {per_command} B",
            done.commands / done.raw_seconds, "cmd/s", target=target, commands=done.commands,
            bytes_per_command=per_command,
        ))
    return figures
