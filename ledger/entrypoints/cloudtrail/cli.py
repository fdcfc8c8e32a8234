"""``handshake-ledger cloudtrail export DIR [--from T] [--to T]``: the audit log as CloudTrail log files.

Registered by ``ledger/entrypoints/cli.py`` (``add_commands``), with its helpers and its rules:
one line on stderr and exit 2 for a bad argument (an instant it can't read, ``--from`` after
``--to``), 1 for what can't be done (no ledger there, a DIR that can't be written).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ledger.entrypoints.cli_commands import UsageError, emit, instant, opened
from ledger.entrypoints.cloudtrail.export import WINDOW, export


def add_commands(commands: Any, *parents: argparse.ArgumentParser) -> None:
    """``cloudtrail`` and its subcommands, under the main parser's ``commands``; ``parents``: the
    shared options (``--data``, ``--json``)."""
    about = "the audit log as CloudTrail sees it"
    group = commands.add_parser("cloudtrail", help=about, description=about)
    subcommands = group.add_subparsers(dest="cloudtrail_command", required=True, metavar="COMMAND")
    about = (f"write CloudTrail log files (AWSLogs/<account>/CloudTrail/...; one gzipped file per account per "
             f"{int(WINDOW.total_seconds() // 60)}-minute window) of every call, accepted or refused")
    export_ = subcommands.add_parser("export", help=about, description=about, parents=list(parents))
    export_.add_argument("directory", type=Path, metavar="DIR", help="where AWSLogs/ goes (created if need be)")
    export_.add_argument("--from", dest="since", type=instant, metavar="INSTANT", help="the first second (default: the start)")
    export_.add_argument("--to", type=instant, metavar="INSTANT", help="the last second (default: the end)")
    export_.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    if args.since and args.to and args.since > args.to:
        raise UsageError(f"--from {args.since.isoformat()} is after --to {args.to.isoformat()}")
    with opened(args) as ledger:
        done = export(ledger.trail, args.directory, args.since, args.to)
    accounts = sorted(done.accounts)
    summary = {"Directory": str(args.directory), "Records": done.records, "Accounts": accounts,
               "Files": [str(path.relative_to(args.directory)) for path in done.files]}
    return emit(args, summary, lambda: _sentence(args.directory, done.records, len(done.files), accounts))


def _sentence(directory: Path, records: int, files: int, accounts: list[str]) -> str:
    if not records:
        return "No records in that range: nothing written."
    named = ", ".join(accounts[:4]) + (", ..." if len(accounts) > 4 else "")
    return (f"Exported {records} record{'s' * (records != 1)} in {files} log file{'s' * (files != 1)} "
            f"to {directory / 'AWSLogs'} for {len(accounts)} account{'s' * (len(accounts) != 1)} ({named}).")
