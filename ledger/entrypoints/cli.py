"""The ``handshake-ledger`` command line: a thin shell over the ledger.

Audit (``history``; ``cloudtrail export``, in ``cloudtrail/cli.py``), time travel (``show``,
``list --as-of``, ``diff``), ``analytics``, ``rebuild``, the change feed (``events``), a ``demo``
ledger, and ``serve``; what each does is in ``cli_commands.py``. Errors are one line on stderr:
exit 2 for a bad argument, 1 for what the ledger refuses or can't read, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, NoReturn

from botocore.exceptions import ClientError
from ledger.storage.stores import STORE_ERRORS

from ledger.domain import errors
from ledger.entrypoints.cli_commands import (ACTIONS, PROG, Failure, UsageError, account_id, analytics, count,
                                             demo, diff, events, handshake_id, history, instant, list_,
                                             organization_id, rebuild, seconds, serve, show)
from ledger.entrypoints import cli_format as fmt
from ledger.domain.instants import RELATIVE


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


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
    demo_.add_argument("--handshakes", type=count(1, 10_000_000), default=200, metavar="N",
                       help="about how many (default 200; beyond 1,000 written in bulk, an organization per 1,000)")
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
    except STORE_ERRORS as error:
        return fail(f"can't read the ledger: {error}", 1)
    except OSError as error:
        return fail(str(error), 1)
    except KeyboardInterrupt:
        return fail("interrupted", 130)


if __name__ == "__main__":  # run as ledger.entrypoints.cli, the module the subcommands' modules import
    from ledger.entrypoints.cli import main as main_of_the_module

    sys.exit(main_of_the_module())
