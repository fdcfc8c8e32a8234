"""The ``handshake-ledger`` command line: a thin shell over the ledger.

Audit (``history``; ``cloudtrail export``, in ``cloudtrail/cli.py``), time travel (``show``,
``list --as-of``), ``analytics``, ``rebuild``, the change feed (``events``), a ``demo`` ledger, and ``serve``. Errors are one line on
stderr: exit 2 for a bad argument, 1 for what the ledger refuses or can't read, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sqlite3
import sys
import threading
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, NoReturn

from botocore.exceptions import ClientError
from eventsourcing.persistence import PersistenceError

from ledger import errors
from ledger.clock import Clock, system_clock
from ledger.commands import is_valid, parse_request
from ledger.entrypoints import cli_format as fmt
from ledger.instants import RELATIVE, parse_instant

if TYPE_CHECKING:
    from ledger.entrypoints.bootstrap import Ledger, LedgerReader

PROG = "handshake-ledger"
ACTIONS = ("INVITE", "ENABLE_ALL_FEATURES", "APPROVE_ALL_FEATURES")


class UsageError(Exception):
    """A bad command line: exit 2."""


class Failure(Exception):
    """Something the command could not do: one line and ``code``."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


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


def count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.isdigit() or int(text) < minimum:
            raise argparse.ArgumentTypeError(f"invalid number {text!r}: a whole number >= {minimum} expected")
        return int(text)
    return parse


# -- opening the data -----------------------------------------------------------------------------

def location(args: argparse.Namespace) -> str:
    from ledger.entrypoints.bootstrap import DEFAULT_LOCATION

    return str(args.data or os.environ.get("HANDSHAKE_LEDGER_DATA") or DEFAULT_LOCATION)


@contextmanager
def opened(args: argparse.Namespace, *, existing: bool = True, clock: Clock = system_clock) -> Iterator[Ledger]:
    """The ledger at ``--data``; reading commands refuse a folder that isn't there."""
    from ledger.entrypoints.bootstrap import open_ledger
    from projections.stores import is_postgres

    where = location(args)
    if existing and not is_postgres(where) and where != ":memory:" and not Path(where).is_dir():
        raise Failure(f"no ledger at {where} (make one with `{PROG} demo` or `{PROG} serve`, or pass --data)")
    try:
        ledger = open_ledger(where, clock=clock)
    except (OSError, sqlite3.Error, PersistenceError) as error:
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
    return emit(args, {"Handshake": shape}, lambda: fmt.handshake(shape))


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
    with opened(args) as ledger:
        reader = ledger.at(args.as_of) if args.as_of else ledger
        rows, now = reader.analytics(by=args.by), reader.now()
    if args.csv:
        print(fmt.analytics_csv(rows))
        return 0
    return emit(args, {"AsOf": now, "By": args.by, "Analytics": rows}, lambda: fmt.analytics(rows))


def diff(args: argparse.Namespace) -> int:
    """Every handshake whose answer differs between --from and --to, with both answers."""
    with opened(args) as ledger:
        until = args.to or ledger.now()
        found = ledger.changes(args.since, until, organization_id=args.organization, account_id=args.account)
    return emit(args, {"From": args.since, "To": until, "Changes": found}, lambda: fmt.diff(found, args.since, until))


def rebuild(args: argparse.Namespace) -> int:
    with opened(args) as ledger:
        total = ledger.app.recorder.max_notification_id() or 0
        try:
            with fmt.RebuildProgress(total) as progress:
                position = ledger.rebuild(progress=progress.update)
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
    from ledger.entrypoints import demo as story

    clock = story.StepClock(story.demo_start(system_clock.now()))
    with opened(args, existing=False, clock=clock) as ledger:
        events = ledger.app.recorder.max_notification_id() or 0
        if events:
            raise Failure(f"{location(args)} already holds a ledger ({events} events); the demo needs an empty location")
        seeded = story.seed(ledger, clock, handshakes=args.handshakes, seed=args.seed, location=location(args))
        clock.move_to(system_clock.now())  # the summary reads the story from the present
        summary = story.summary(ledger, seeded)
    data = f" --data {args.data}" if args.data else ""
    return emit(args, summary, lambda: fmt.demo(summary, data))


def serve(args: argparse.Namespace) -> int:
    from ledger.entrypoints.http_protocol import ServerLimits
    from ledger.entrypoints.http_server import serve as run_server

    given = {"max_connections": args.max_connections, "header_timeout": args.header_timeout,
             "body_timeout": args.body_timeout, "idle_timeout": args.idle_timeout}
    limits = ServerLimits(**{name: value for name, value in given.items() if value is not None})
    if args.workers > 1:
        from ledger.entrypoints.workers import serve as run_workers

        return run_workers(args.data, host=args.host, port=args.port, accounts_file=args.accounts,
                           strict=args.strict, workers=args.workers, limits=limits, ui=args.ui)
    return run_server(args.data, host=args.host, port=args.port, accounts_file=args.accounts, strict=args.strict,
                      limits=limits, ui=args.ui)


# -- the parser -----------------------------------------------------------------------------------

def build_parser() -> Parser:
    parser = Parser(prog=PROG, description="An event-sourced ledger of AWS Organizations handshakes.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data = Parser(add_help=False)
    data.add_argument("--data", default=None, help="data location (default: $HANDSHAKE_LEDGER_DATA or ./handshake-ledger-data)")
    as_json = Parser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def command(name: str, run: Callable[[argparse.Namespace], int], help: str, *parents: Parser) -> Parser:
        sub = commands.add_parser(name, help=help, description=help, parents=list(parents))
        sub.set_defaults(run=run)
        return sub

    serve_ = command("serve", serve, "serve the AWS Organizations JSON 1.1 API over HTTP, and a web UI under /ui/")
    serve_.add_argument("--host", default="127.0.0.1")
    serve_.add_argument("--port", type=int, default=4566)
    serve_.add_argument("--data", default=None, help="data location (default: $HANDSHAKE_LEDGER_DATA or ./handshake-ledger-data)")
    serve_.add_argument("--accounts", default=None, help="accounts file (TOML)")
    serve_.add_argument("--strict", action="store_true",
                        help="verify SigV4 signatures against the accounts file (the web UI asks for a key and secret)")
    serve_.add_argument("--no-ui", dest="ui", action="store_false", help="no read-only web UI under /ui/")
    serve_.add_argument("--workers", type=count(1), default=1, metavar="N",
                        help="server processes sharing the port, plus one view runner (default: 1, one process)")
    serve_.add_argument("--max-connections", type=count(1), metavar="N",
                        help="open connections per server process; past them, 503 (default: 256)")
    serve_.add_argument("--header-timeout", type=seconds, metavar="S",
                        help="seconds from a request's first byte to the end of its headers, else 408 (default: 10)")
    serve_.add_argument("--body-timeout", type=seconds, metavar="S",
                        help="seconds from the end of the headers to the end of the body, else 408 (default: 30)")
    serve_.add_argument("--idle-timeout", type=seconds, metavar="S",
                        help="seconds a connection may wait for its next request before it is closed (default: 60)")

    history_ = command("history", history, "the audit trail of one handshake", data, as_json)
    history_.add_argument("handshake_id", type=handshake_id, metavar="HANDSHAKE_ID")
    history_.add_argument("--as-of", type=instant, metavar="INSTANT", help="the trail as it read then")

    show_ = command("show", show, "one handshake as DescribeHandshake answers it, now or then", data, as_json)
    show_.add_argument("handshake_id", type=handshake_id, metavar="HANDSHAKE_ID")
    when = show_.add_mutually_exclusive_group()
    when.add_argument("--as-of", type=instant, metavar="INSTANT", help="as it stood at this instant")
    when.add_argument("--version", type=count(1), metavar="N", help="as it stood after its N-th event")
    show_.add_argument("--account", type=account_id, metavar="ID", help="as this account's DescribeHandshake answered")

    list_cmd = command("list", list_, "handshakes as the List operations answer, every page", data, as_json)
    list_cmd.add_argument("--account", type=account_id, metavar="ID",
                          help="the caller: the recipient, or with --organization the management account")
    list_cmd.add_argument("--organization", action="store_true", help="ListHandshakesForOrganization")
    list_cmd.add_argument("--as-of", type=instant, metavar="INSTANT", help="as the List answered then")
    list_cmd.add_argument("--page-size", type=count(1), metavar="N", help="MaxResults of each page asked (1-20)")
    kind = list_cmd.add_mutually_exclusive_group()
    kind.add_argument("--action", choices=ACTIONS, metavar="TYPE", help="filter: " + ", ".join(ACTIONS))
    kind.add_argument("--parent", type=handshake_id, metavar="ID", help="filter: children of this ENABLE_ALL_FEATURES handshake")

    analytics_ = command("analytics", analytics, "outcomes, acceptance rate, time to decision", data, as_json)
    analytics_.add_argument("--as-of", type=instant, metavar="INSTANT", help="the figures as they stood then")
    analytics_.add_argument("--by", choices=("organization", "action"), default="organization")
    analytics_.add_argument("--csv", action="store_true", help="print CSV")

    diff_ = command("diff", diff, "what changed between two instants: every handshake whose answer differs",
                    data, as_json)
    diff_.add_argument("--from", dest="since", type=instant, required=True, metavar="INSTANT")
    diff_.add_argument("--to", type=instant, metavar="INSTANT", help="default: now")
    whose = diff_.add_mutually_exclusive_group()
    whose.add_argument("--organization", type=organization_id, metavar="ID", help="only this organization's")
    whose.add_argument("--account", type=account_id, metavar="ID", help="as this account's DescribeHandshake saw them")

    command("rebuild", rebuild, "replay the log into fresh views (Ctrl-C keeps the old ones)", data)

    events_ = command("events", events, "the change feed as JSON Lines", data)
    events_.add_argument("--after", type=count(0), default=0, metavar="POSITION", help="start after this position")
    events_.add_argument("--follow", action="store_true", help="keep printing new events until Ctrl-C or SIGTERM")

    demo_ = command("demo", demo, "seed an empty location with six weeks of realistic handshakes", data, as_json)
    demo_.add_argument("--handshakes", type=count(1), default=200, metavar="N", help="about how many (default 200)")
    demo_.add_argument("--seed", type=int, default=7, help="random seed of the story (default 7)")

    from ledger.entrypoints.cloudtrail.cli import add_commands as add_cloudtrail  # it uses this module's helpers

    add_cloudtrail(commands, data, as_json)
    return parser


def joined_instants(argv: list[str]) -> list[str]:
    """``--as-of -3d`` as ``--as-of=-3d``: argparse would take ``-3d`` for an option."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in ("--as-of", "--from", "--to") and RELATIVE.fullmatch(arg):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {fmt.printable(message)}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(joined_instants(sys.argv[1:] if argv is None else argv))
        if getattr(args, "csv", False) and getattr(args, "json", False):
            raise UsageError("--csv and --json can't be combined")
        return int(args.run(args))
    except UsageError as error:
        return fail(str(error), 2)
    except Failure as error:
        return fail(str(error), error.code)
    except errors.OrganizationsError as error:
        return fail(str(error), 2 if isinstance(error, errors.InvalidInputException) else 1)
    except ClientError as error:  # the same refusal, through an in-process boto3 client
        answer = error.response
        code, reason = answer["Error"]["Code"], answer.get("Reason")
        text = f"{code}{f' ({reason})' if reason else ''}: {answer['Error'].get('Message', '')}"
        return fail(text, 2 if code == "InvalidInputException" else 1)
    except BrokenPipeError:  # e.g. `events | head`: the reader is gone, and that is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (sqlite3.Error, PersistenceError) as error:
        return fail(f"can't read the ledger: {error}", 1)
    except OSError as error:
        return fail(str(error), 1)
    except KeyboardInterrupt:
        return fail("interrupted", 130)


if __name__ == "__main__":  # run as ledger.entrypoints.cli, the module the subcommands' modules import
    from ledger.entrypoints.cli import main as main_of_the_module

    sys.exit(main_of_the_module())
