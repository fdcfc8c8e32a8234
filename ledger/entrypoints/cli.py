"""The ``handshake-ledger`` command line: a thin shell over the ledger.

Audit (``history``; ``cloudtrail export``, in ``cloudtrail/cli.py``), time travel (``show``,
``list --as-of``, ``diff``), billing transfers (``show rt-…``, ``transfers``, in ``cli_transfers.py``), ``analytics``, ``rebuild``, the change feed (``events``), a ``demo``
ledger, and ``serve``; what each does is in ``cli_commands.py``. Errors are one line on stderr:
exit 2 for a bad argument, 1 for what the ledger refuses or can't read, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import re
from importlib import metadata
import sys
from typing import Callable, NoReturn

from botocore.exceptions import ClientError
from ledger.storage.stores import STORE_ERRORS

from ledger.domain import errors
from ledger.entrypoints.cli_commands import (ACTIONS, PROG, Failure, UsageError, account_id, analytics, count,
                                             address_list, demo, diff, events, handshake_id, history, host,
                                             instant, list_, organization_id, port, rebuild, seconds, serve, show,
                                             workers)
from ledger.entrypoints import cli_format as fmt
from ledger.entrypoints.cli_transfers import list_transfers, show_transfer, transfer_id

DISTRIBUTION = "handshake-ledger"
NEGATIVE = re.compile(r"-[0-9.]")  # what argparse would misread as an option: a negative relative instant


def handshake_or_transfer_id(text: str) -> str:
    return transfer_id(text) if text.startswith("rt-") else handshake_id(text)


def show_any(args: argparse.Namespace) -> int:
    """``show h-…`` (a handshake) or ``show rt-…`` (a billing transfer, ``cli_transfers.py``)."""
    return show_transfer(args) if args.handshake_id.startswith("rt-") else show(args)


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


# -- the parser -----------------------------------------------------------------------------------

def build_parser() -> Parser:
    parser = Parser(prog=PROG, description="An event-sourced ledger of AWS Organizations handshakes.")
    parser.add_argument("--version", action="version", version=f"{PROG} {package_version()}")
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
    serve_.add_argument("--host", type=host, default="127.0.0.1",
                        help="address to bind (default: 127.0.0.1; 0.0.0.0 is every interface, with a warning)")
    serve_.add_argument("--port", type=port, default=4566, help="0 to 65535 (default: 4566; 0: any free port)")
    serve_.add_argument("--data", default=None, help="data location (default: $HANDSHAKE_LEDGER_DATA or ./handshake-ledger-data)")
    serve_.add_argument("--accounts", default=None, help="accounts file (TOML)")
    serve_.add_argument("--strict", action="store_true",
                        help="verify SigV4 signatures against the accounts file (the web UI asks for a key and secret)")
    serve_.add_argument("--no-ui", dest="ui", action="store_false", help="no read-only web UI under /ui/")
    serve_.add_argument("--allowed-hosts", nargs="+", default=[], metavar="HOST",
                        help="Host names the web UI answers besides 127.0.0.1, localhost, [::1] and --host "
                             "(name, name:port, or * for any); others get 421 (DNS rebinding)")
    serve_.add_argument("--workers", type=workers, default=1, metavar="N",
                        help="server processes sharing the port, plus one view runner (default: 1, one process; "
                             "at most 4 per CPU)")
    serve_.add_argument("--forwarded-allow-ips", type=address_list, default=None, metavar="LIST",
                        help="proxies (comma-separated addresses, or *) whose X-Forwarded-For/-Proto are believed "
                             "(default: none; the peer's address is the caller's)")
    serve_.add_argument("--access-log", action="store_true",
                        help="one line per request on stderr: time, caller, operation, status, duration (ms)")
    serve_.add_argument("--max-connections", type=count(1, 1_000_000), metavar="N",
                        help="open connections per server process; past them, 503 (default: 256)")
    serve_.add_argument("--max-body-memory", type=count(1 << 20, 1 << 40), metavar="BYTES",
                        help="bytes of request bodies a server process holds at once; past them, 503 with "
                             "Retry-After (default: 33554432, 32 MiB; at least 1 MiB, the largest body)")
    serve_.add_argument("--header-timeout", type=seconds, metavar="S",
                        help="seconds from a request's first byte to the end of its headers, else 408 (default: 10)")
    serve_.add_argument("--body-timeout", type=seconds, metavar="S",
                        help="seconds from the end of the headers to the end of the body, else 408 (default: 30)")
    serve_.add_argument("--idle-timeout", type=seconds, metavar="S",
                        help="seconds a connection may wait for its next request before it is closed (default: 60)")

    history_ = command("history", history, "the audit trail of one handshake", data, as_json)
    history_.add_argument("handshake_id", type=handshake_id, metavar="HANDSHAKE_ID")
    history_.add_argument("--as-of", type=instant, metavar="INSTANT", help="the trail as it read then")

    show_ = command("show", show_any, "one handshake as DescribeHandshake answers it, or a billing transfer "
                    "(rt-...) as DescribeResponsibilityTransfer does with its history, now or then", data, as_json)
    show_.add_argument("handshake_id", type=handshake_or_transfer_id, metavar="HANDSHAKE_OR_TRANSFER_ID")
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

    transfers_ = command("transfers", list_transfers, "billing transfers, now or then, and who paid for whom "
                         "(every transfer, or as an account's List answers, every page)", data, as_json)
    transfers_.add_argument("--account", type=account_id, metavar="ID",
                            help="the caller: ListInboundResponsibilityTransfers (it pays), or with --outbound "
                                 "ListOutboundResponsibilityTransfers (it is paid for)")
    transfers_.add_argument("--outbound", action="store_true", help="ListOutboundResponsibilityTransfers")
    transfers_.add_argument("--as-of", type=instant, metavar="INSTANT", help="as they stood then")

    analytics_ = command("analytics", analytics, "outcomes, acceptance rate, time to decision", data, as_json)
    analytics_.add_argument("--as-of", type=instant, metavar="INSTANT", help="the figures as they stood then")
    analytics_.add_argument("--by", choices=("organization", "action"), default="organization")
    analytics_.add_argument("--csv", action="store_true", help="print CSV")
    analytics_.add_argument("--transfers", action="store_true",
                            help="billing transfers instead: by status, in effect, time to answer")

    diff_ = command("diff", diff, "what changed between two instants: every handshake whose answer differs",
                    data, as_json)
    diff_.add_argument("--from", dest="since", type=instant, required=True, metavar="INSTANT")
    diff_.add_argument("--to", type=instant, metavar="INSTANT", help="default: now")
    whose = diff_.add_mutually_exclusive_group()
    whose.add_argument("--organization", type=organization_id, metavar="ID", help="only this organization's")
    whose.add_argument("--account", type=account_id, metavar="ID", help="as this account's DescribeHandshake saw them")

    command("rebuild", rebuild, "replay the log into fresh views, also while a server serves them (Ctrl-C keeps the old ones)", data)

    events_ = command("events", events, "the change feed as JSON Lines", data)
    events_.add_argument("--after", type=count(0), default=0, metavar="POSITION", help="start after this position")
    events_.add_argument("--follow", action="store_true", help="keep printing new events until Ctrl-C or SIGTERM")

    demo_ = command("demo", demo, "seed an empty location with six weeks of realistic handshakes", data, as_json)
    demo_.add_argument("--handshakes", type=count(1, 10_000_000), default=200, metavar="N",
                       help="about how many (default 200; beyond 1,000 written in bulk, an organization per 1,000)")
    demo_.add_argument("--seed", type=int, default=7, help="random seed of the story (default 7)")

    from ledger.entrypoints.tables import run_export

    export_ = command("export", run_export, "the history as Parquet tables (handshakes, versions, events, audit)",
                      data)
    export_.add_argument("directory", metavar="DIR", help="a new (or empty) folder for the four .parquet files")
    export_.add_argument("--as-of", type=instant, metavar="INSTANT", help="the tables as they stood then (default: now)")

    from ledger.entrypoints.cloudtrail.cli import add_commands as add_cloudtrail  # it uses this module's helpers

    add_cloudtrail(commands, data, as_json)
    return parser


def package_version() -> str:
    """The installed distribution's version (its metadata), or "unknown" when run from a bare checkout."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


def instant_options(parser: argparse.ArgumentParser) -> set[str]:
    """Every option, of every subcommand, whose value is an instant (``type=instant``)."""
    found: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= instant_options(sub)
        elif action.type is instant:
            found.update(action.option_strings)
    return found


def joined_instants(argv: list[str], options: set[str]) -> list[str]:
    """``--as-of -3d`` as ``--as-of=-3d`` for each of ``options``: argparse would take a value that begins
    with ``-`` and a digit (``-3d``, and a mistyped ``-3x`` too) for an option, and say "expected one
    argument"; joined, the instant's own parser judges it and says what is wrong."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in options and NEGATIVE.match(arg):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {fmt.one_line(message)}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(joined_instants(sys.argv[1:] if argv is None else argv, instant_options(parser)))
        if getattr(args, "csv", False) and getattr(args, "json", False):
            raise UsageError("--csv and --json can't be combined")
        return int(args.run(args))
    except UsageError as error:
        return fail(str(error), 2)
    except Exception as error:
        if _interrupted(error):  # Ctrl-C inside a library's callback comes back as its own error
            return fail("interrupted", 130)
        return _answer(error)
    except KeyboardInterrupt:
        return fail("interrupted", 130)


def _interrupted(error: BaseException) -> bool:
    """Whether a KeyboardInterrupt is among the causes of ``error``."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _answer(error: Exception) -> int:
    """The exit code (and one line on stderr) for an error a command raised; any other is raised on."""
    if isinstance(error, Failure):
        return fail(str(error), error.code)
    if isinstance(error, errors.OrganizationsError):
        return fail(str(error), 2 if isinstance(error, errors.InvalidInputException) else 1)
    if isinstance(error, ClientError):  # the same refusal, through an in-process boto3 client
        answer = error.response
        code, reason = answer["Error"]["Code"], answer.get("Reason")
        text = f"{code}{f' ({reason})' if reason else ''}: {answer['Error'].get('Message', '')}"
        return fail(text, 2 if code == "InvalidInputException" else 1)
    if isinstance(error, BrokenPipeError):  # e.g. `events | head`: the reader is gone, and that is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if isinstance(error, STORE_ERRORS):
        busy = " (another process held it too long: try again)" if "locked" in str(error) else ""
        return fail(f"the ledger's store failed: {error}{busy}", 1)
    if isinstance(error, OSError):
        return fail(str(error), 1)
    raise error


if __name__ == "__main__":  # run as ledger.entrypoints.cli, the module the subcommands' modules import
    from ledger.entrypoints.cli import main as main_of_the_module

    sys.exit(main_of_the_module())
