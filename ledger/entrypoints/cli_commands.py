"""What the ``handshake-ledger`` subcommands do: their argument types, opening the data, and one
function per subcommand (the parser that calls them is ``cli.py``; ``cloudtrail export`` is in
``cloudtrail/cli.py``). Errors: ``UsageError`` (exit 2), ``Failure`` (one line and its code).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ledger.storage.stores import STORE_ERRORS

from ledger.domain.clock import Clock, system_clock
from ledger.service_layer.requests import is_valid, parse_request
from ledger.entrypoints import cli_format as fmt
from ledger.domain.instants import parse_instant
from ledger.service_layer.requests import enum_of

if TYPE_CHECKING:
    from ledger.entrypoints.facade import Ledger, LedgerReader

PROG = "handshake-ledger"
ACTIONS = enum_of("ActionType")  # every handshake action a Filter may name (botocore's model)
WILDCARD_HOSTS = ("0.0.0.0", "::", "[::]")
OPEN_ERRORS: tuple[type[Exception], ...] = (OSError, *STORE_ERRORS)  # what opening a data location may raise


class UsageError(Exception):
    """A bad command line: exit 2."""


class Failure(Exception):
    """Something the command could not do: one line and ``code``."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


# -- argument types -------------------------------------------------------------------------------

def instant(text: str) -> datetime:
    """ISO 8601 (a date is its midnight UTC; no offset means UTC), ``now``, or ``-3d``/``+12h``/``-1w2d``."""
    try:
        return parse_instant(text, system_clock.now())
    except ValueError as problem:
        raise argparse.ArgumentTypeError(str(problem)) from None


def account_id(text: str) -> str:
    if not is_valid("AccountId", text):
        raise argparse.ArgumentTypeError(f"invalid account id {text!r}: 12 digits expected")
    return text


def handshake_id(text: str) -> str:
    """A handshake id as the API checks it: InvalidInputException INVALID_PATTERN (exit 2) otherwise."""
    parse_request("DescribeHandshake", {"HandshakeId": text})
    return text


def organization_id(text: str) -> str:
    if not is_valid("OrganizationId", text):
        raise argparse.ArgumentTypeError(f"invalid organization id {text!r}: o- and 10-32 lower-case letters or digits")
    return text


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < 86400:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: seconds, more than 0 and less than a day")
    return value


LARGEST = 2**63 - 1  # what a store's BIGINT holds: no count or position of the ledger is larger


def count(minimum: int, most: int = LARGEST) -> Callable[[str], int]:
    """A whole number from ``minimum`` to ``most`` (argparse type); anything else one clear line."""
    def parse(text: str) -> int:
        if not (text.isascii() and text.isdigit()) or len(text) > 40 or not minimum <= int(text) <= most:
            upto = f" and <= {most:,}" if most != LARGEST else ""
            raise argparse.ArgumentTypeError(f"invalid number {text[:40]!r}: a whole number >= {minimum}{upto} expected")
        return int(text)
    return parse


def port(text: str) -> int:
    """A TCP port, 0 (any free one) to 65535."""
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: a whole number from 0 to 65535 expected")
    return int(text)


def host(text: str) -> str:
    """The address to bind: a name or an address, never empty (``''`` would bind every interface)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty host: give an address (127.0.0.1, or 0.0.0.0 for every interface)")
    return text


def workers(text: str) -> int:
    """Server processes: 1 to ``settings.max_workers()`` (4 per CPU); more only starve each other."""
    from ledger.entrypoints.settings import max_workers

    most = max_workers()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= most:
        raise argparse.ArgumentTypeError(f"invalid number of workers {text!r}: 1 to {most} (4 per CPU) expected")
    return int(text)


def address_list(text: str) -> str:
    """``--forwarded-allow-ips``: comma-separated addresses or networks of the proxies to trust, or ``*``."""
    import ipaddress

    parts = [part.strip() for part in text.split(",")]
    for part in parts:
        if part == "*":
            continue
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"invalid proxy address {part!r}: comma-separated IP addresses or networks, or *") from None
    return ",".join(parts)


# -- opening the data -----------------------------------------------------------------------------

def location(args: argparse.Namespace) -> str:
    from ledger.entrypoints.settings import data_location

    return data_location(args.data)


@contextmanager
def opened(args: argparse.Namespace, *, existing: bool = True, clock: Clock = system_clock) -> Iterator[Ledger]:
    """The ledger at ``--data``; reading commands refuse a folder that isn't there."""
    from ledger.entrypoints.bootstrap import open_ledger
    from ledger.storage.stores import is_postgres

    where = location(args)
    if existing and not is_postgres(where) and where != ":memory:" and not Path(where).is_dir():
        raise Failure(f"no ledger at {where} (make one with `{PROG} demo` or `{PROG} serve`, or pass --data)")
    try:
        ledger = open_ledger(where, clock=clock)
    except OPEN_ERRORS as error:
        raise Failure(f"can't open the data location {where}: {error}") from None
    try:
        yield ledger
    finally:
        ledger.close()


def emit(args: argparse.Namespace, value: Any, render: Callable[[], str]) -> int:
    print(fmt.as_json(value) if getattr(args, "json", False) else render())
    return 0


# -- commands -------------------------------------------------------------------------------------

def history(args: argparse.Namespace) -> int:
    with opened(args) as ledger:
        entries = [e.as_dict() for e in ledger.history(args.handshake_id, as_of=args.as_of)]
    return emit(args, {"HandshakeId": args.handshake_id, "History": entries},
                lambda: fmt.history(args.handshake_id, entries))


def show(args: argparse.Namespace) -> int:
    with opened(args) as ledger:
        version = args.version and checked_version(ledger, args.handshake_id, args.version)
        if args.account:
            shape = described(ledger, args, version)
        else:
            instant = args.as_of or (None if version else ledger.now())
            shape = ledger.handshake_as_of(args.handshake_id, version=args.version, instant=instant)
            hidden = instant and past_retention(ledger, args.handshake_id, instant)
            if hidden:
                note = (f"\nnote: ended more than 30 days before (retention ended {fmt.when(hidden)}): "
                        "DescribeHandshake and the Lists no longer show it; its history stays")
                return emit(args, {"Handshake": shape}, lambda: fmt.handshake(shape) + note)
    return emit(args, {"Handshake": shape}, lambda: fmt.handshake(shape))


def past_retention(ledger: Ledger, handshake_id: str, instant: datetime) -> datetime | None:
    """When the handshake's retention ended, if it had by ``instant`` (None: the API still shows it)."""
    from ledger.domain.handshake import LIVE_STATES, RETENTION

    ended = next((e.timestamp for e in ledger.history(handshake_id) if e.state not in LIVE_STATES), None)
    return ended + RETENTION if ended is not None and ended + RETENTION <= instant else None


def checked_version(ledger: Ledger, handshake_id: str, version: int) -> datetime:
    """When the handshake reached ``version``; a version it never had is an error."""
    recorded = [e for e in ledger.history(handshake_id) if e.version is not None]
    if version > len(recorded):
        raise Failure(f"handshake {handshake_id} has {len(recorded)} version(s), not {version}")
    return recorded[version - 1].timestamp


def described(ledger: Ledger, args: argparse.Namespace, version_time: datetime | None) -> dict[str, Any]:
    """As DescribeHandshake answered ``--account`` then: the party and retention rules apply."""
    then = args.as_of or version_time
    reader: LedgerReader = ledger.at(then) if then else ledger
    answer = reader.client(args.account).describe_handshake(HandshakeId=args.handshake_id)
    return dict(answer["Handshake"])


def list_(args: argparse.Namespace) -> int:
    if args.account is None:
        raise UsageError("--organization lists as the management account: give it with --account MGMT_ID"
                         if args.organization else "give --account ID (or --organization --account MGMT_ID)")
    method = "list_handshakes_for_organization" if args.organization else "list_handshakes_for_account"
    params: dict[str, Any] = {"MaxResults": args.page_size} if args.page_size else {}
    if args.action or args.parent:
        params["Filter"] = {"ActionType": args.action} if args.action else {"ParentHandshakeId": args.parent}
    with opened(args) as ledger:
        reader = ledger.at(args.as_of) if args.as_of else ledger
        pages = reader.client(args.account).get_paginator(method).paginate(**params)
        shapes = [shape for page in pages for shape in page["Handshakes"]]
    return emit(args, {"Handshakes": shapes}, lambda: fmt.handshakes(shapes))


def analytics(args: argparse.Namespace) -> int:
    if args.transfers and (args.csv or args.by != "organization"):
        raise UsageError("--transfers gives one summary: no --by or --csv with it")
    with opened(args) as ledger:
        reader = ledger.at(args.as_of) if args.as_of else ledger
        if args.transfers:
            summary, now = reader.transfer_analytics(), reader.now()
            return emit(args, {"AsOf": now, "Transfers": summary}, lambda: fmt.transfer_analytics(summary))
        rows, now = reader.analytics(by=args.by), reader.now()
    if args.csv:
        print(fmt.analytics_csv(rows))
        return 0
    return emit(args, {"AsOf": now, "By": args.by, "Analytics": rows}, lambda: fmt.analytics(rows))


def diff(args: argparse.Namespace) -> int:
    """Every handshake whose answer differs between --from and --to, with both answers."""
    if args.to is not None and args.since > args.to:
        raise UsageError(f"--from {args.since:%Y-%m-%dT%H:%M:%SZ} is after --to {args.to:%Y-%m-%dT%H:%M:%SZ}: "
                         "give the earlier instant first")
    with opened(args) as ledger:
        until = args.to or ledger.now()
        if args.since > until:
            raise UsageError(f"--from {args.since:%Y-%m-%dT%H:%M:%SZ} is after now: give an instant before --to")
        changes = ledger.iter_changes(args.since, until, organization_id=args.organization, account_id=args.account)
        if getattr(args, "json", False):  # streamed: memory stays flat however many changes the window holds
            for text in fmt.json_streamed({"From": args.since, "To": until}, "Changes", changes):
                sys.stdout.write(text)
            sys.stdout.write("\n")
            return 0
        found = list(changes)  # the table's columns are as wide as their widest cell: every row first
    return emit(args, {"From": args.since, "To": until, "Changes": found}, lambda: fmt.diff(found, args.since, until))


def rebuild(args: argparse.Namespace, *, after_batch: Callable[[int, int], None] | None = None) -> int:
    """Replay the log into fresh views. ``after_batch(position, batch_count)``, if given, runs after
    each replayed batch has been shown (a seam: a test interrupts the rebuild there as Ctrl-C would).
    Raises ``Failure`` (exit 130) when interrupted: the previous views stay in service."""
    with opened(args) as ledger:
        total = ledger.app.recorder.max_notification_id() or 0
        try:
            with fmt.RebuildProgress(total) as progress:
                def replayed(position: int, batch_count: int) -> None:
                    progress.update(position, batch_count)
                    if after_batch is not None:
                        after_batch(position, batch_count)

                position = ledger.rebuild(progress=replayed)
        except KeyboardInterrupt:
            raise Failure("rebuild interrupted: the previous view is still in service (run rebuild again)", 130) from None
    print(f"Rebuilt the handshake view from {position} events in {progress.seconds():.1f}s.")
    return 0


def events(args: argparse.Namespace) -> int:
    """JSON Lines, one flush per event; SIGINT or SIGTERM ends a follow cleanly (exit 0)."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with opened(args) as ledger:
        for record in ledger.events(after=args.after, follow=args.follow, stop=stop):
            sys.stdout.write(json.dumps(record, default=str) + "\n")
            sys.stdout.flush()
    return 0


def demo(args: argparse.Namespace) -> int:
    """Seed an empty location: the hand-played story up to ``ORG_SIZE`` handshakes, in bulk beyond.
    The location is taken for the demo alone: one a server is using, or that holds events, is refused."""
    from ledger.entrypoints import bulk_demo, bulk_rebuild, demo as story
    from ledger.storage.stores import LocationBusy, Occupancy

    where = location(args)
    try:
        occupancy = Occupancy(where, alone=True)
    except LocationBusy:
        raise Failure(f"{where} is in use (a server is serving it); the demo writes a backdated story and needs "
                      "a location of its own: stop the server or pass another --data", 2) from None
    except OPEN_ERRORS as error:
        raise Failure(f"can't open the data location {where}: {error}", 2) from None
    with occupancy:
        clock = story.StepClock(story.demo_start(system_clock.now()))
        with opened(args, existing=False, clock=clock) as ledger:
            events = ledger.app.recorder.max_notification_id() or 0
            if events:
                raise Failure(f"{where} already holds a ledger ({events} events); the demo needs an empty location "
                              "(an interrupted demo leaves what it wrote: remove it to seed again)", 2)
            if args.handshakes <= bulk_demo.ORG_SIZE:
                seeded = story.seed(ledger, clock, handshakes=args.handshakes, seed=args.seed, location=where)
                clock.move_to(system_clock.now())  # the summary reads the story from the present
                summary = story.summary(ledger, seeded)
            else:
                clock.move_to(system_clock.now())
                # The fresh view in bulk (indexes built after the rows), rebuilt as the log is written.
                bulk = bulk_rebuild.seed_and_rebuild(ledger, handshakes=args.handshakes, seed=args.seed,
                                                     end=story.demo_start(clock.now()) + story.SPAN, location=where,
                                                     batch=1_000 if ledger.store.kind == "postgres" else 10_000)
                summary = story.bulk_summary(ledger, bulk)
    data = f" --data {args.data}" if args.data else ""
    return emit(args, summary, lambda: fmt.demo(summary, data))


def _not_seeding(args: argparse.Namespace) -> None:
    """Refuse at once a location a demo is seeding (it holds it alone), before the server opens it."""
    from ledger.storage.stores import LocationBusy, Occupancy

    where = location(args)
    try:
        Occupancy(where, alone=False).close()
    except LocationBusy:
        raise Failure(f"{where} is in use by a demo that is seeding it; serve it once the demo has finished",
                      2) from None
    except OPEN_ERRORS:
        pass  # the server's own opening says what is wrong with the location


def serve(args: argparse.Namespace) -> int:
    from ledger.entrypoints.http_protocol import ServerLimits
    from ledger.entrypoints.http_server import serve as run_server

    given = {"max_connections": args.max_connections, "max_body_memory": args.max_body_memory,
             "header_timeout": args.header_timeout,
             "body_timeout": args.body_timeout, "idle_timeout": args.idle_timeout,
             "forwarded_allow_ips": args.forwarded_allow_ips}
    limits = ServerLimits(**{name: value for name, value in given.items() if value is not None})
    hosts = (args.host, *args.allowed_hosts)  # the name it was asked to bind, as browsers will write it
    if args.host in WILDCARD_HOSTS:
        print(f"{PROG}: warning: --host {args.host} serves every network interface"
              f"{'' if args.strict else ', and without --strict anyone who reaches it is any account'}",
              file=sys.stderr, flush=True)
    _not_seeding(args)
    if args.workers > 1:
        from ledger.entrypoints.workers import serve as run_workers

        return run_workers(args.data, host=args.host, port=args.port, accounts_file=args.accounts,
                           strict=args.strict, workers=args.workers, limits=limits, ui=args.ui,
                           allowed_hosts=hosts, access_log=args.access_log)
    return run_server(args.data, host=args.host, port=args.port, accounts_file=args.accounts, strict=args.strict,
                      limits=limits, ui=args.ui, allowed_hosts=hosts, access_log=args.access_log)
