"""The command line's billing transfers (``docs/decisions.md`` decisions 20-28): ``show rt-…`` (the
DescribeResponsibilityTransfer answer of one side, and the transfer's history) and ``transfers`` (a
list, as one side's List answers it or every transfer of the ledger), now or as of an instant.

The history is the transfer's recorded events plus what is derived from their instants at read time
(marked ``*``: the invitation's expiry, the start and end of the transfer's effect, decision 22).
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime
from typing import Any

from ledger.domain.instants import from_us
from ledger.domain.transfer import in_effect_at, status_at
from ledger.entrypoints import cli_format as fmt
from ledger.entrypoints.cli_commands import Failure, UsageError, emit, opened
from ledger.service_layer.transfer_history import transfer_history as history

TRANSFER_ID = re.compile(r"rt-[0-9a-z]{8,32}")


def transfer_id(text: str) -> str:
    if not TRANSFER_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(f"not a transfer id: {text!r} (rt- and 8 to 32 lower-case letters or digits)")
    return text


def show_transfer(args: argparse.Namespace) -> int:
    """One transfer as DescribeResponsibilityTransfer answers ``--account`` (default: the inviter,
    the inbound side), with its history; ``--as-of``: both as they stood then."""
    if getattr(args, "version", None):
        raise UsageError("--version is for handshakes; give a transfer --as-of INSTANT")
    with opened(args) as ledger:
        reader = ledger.at(args.as_of) if args.as_of else ledger
        moment = reader.moment()
        row = ledger.reads.transfer_queries.transfer(args.handshake_id, moment)
        if row is None:
            raise Failure(f"no transfer {args.handshake_id}" + (f" as of {fmt.when(args.as_of)}" if args.as_of else ""))
        caller = args.account or row["inviter_account_id"]
        shape = dict(reader.client(caller).describe_responsibility_transfer(Id=args.handshake_id)[
            "ResponsibilityTransfer"])
        entries = history(ledger.app, args.handshake_id, moment.instant)
    return emit(args, {"ResponsibilityTransfer": shape, "History": entries}, lambda: render(shape, entries))


def render(shape: dict[str, Any], entries: list[dict[str, Any]]) -> str:
    def party(value: dict[str, str]) -> str:
        return " ".join(v for v in (value.get("ManagementAccountId"), value.get("ManagementAccountEmail")) if v)

    lines = [f"{label:<12}{fmt.printable(value)}" for label, value in (
        ("Id", shape["Id"]), ("Name", shape["Name"]), ("Status", shape["Status"]), ("Type", shape["Type"]),
        ("Source", party(shape["Source"]) + "  (is paid for)"), ("Target", party(shape["Target"]) + "  (pays)"),
        ("Start", fmt.when(shape["StartTimestamp"])), ("End", fmt.when(shape.get("EndTimestamp"))),
        ("Handshake", shape.get("ActiveHandshakeId") or "-"), ("Arn", shape["Arn"]),
    )]
    rows = [(e["Version"] or "-", fmt.when(e["Timestamp"]), e["What"] + ("*" if e["Derived"] else ""),
             e["Actor"] or "-", e["RequestId"] or "-", _details(e["Details"])) for e in entries]
    lines += ["", fmt.table(("VERSION", "TIMESTAMP", "WHAT", "ACTOR", "REQUEST ID", "DETAILS"), rows)]
    if any(e["Derived"] for e in entries):
        lines += ["", "* derived from the stored instants at read time, not a recorded event"]
    return "\n".join(lines)


def _details(details: dict[str, Any]) -> str:
    shown = {k: fmt.when(v) if isinstance(v, datetime) else v for k, v in details.items()
             if k not in ("tags", "notes", "type") and v not in (None, [], "")}
    return ", ".join(f"{k}={fmt.printable(v)}" for k, v in shown.items())


def list_transfers(args: argparse.Namespace) -> int:
    """Every transfer (or, with ``--account``, ListInbound/ListOutboundResponsibilityTransfers as that
    account answered, every page), now or ``--as-of``, with whether each was in effect then."""
    with opened(args) as ledger:
        reader = ledger.at(args.as_of) if args.as_of else ledger
        moment = reader.moment()
        if args.account:
            client = reader.client(args.account)
            method = client.list_outbound_responsibility_transfers if args.outbound \
                else client.list_inbound_responsibility_transfers
            shapes: list[dict[str, Any]] = []
            params: dict[str, Any] = {"Type": "BILLING"}
            while True:
                page = method(**params)
                shapes += page["ResponsibilityTransfers"]
                if not page.get("NextToken"):
                    break
                params["NextToken"] = page["NextToken"]
        else:
            if args.outbound:
                raise UsageError("--outbound lists as the invitee: give it with --account ID")
            shapes = [_neutral(row, moment.instant) for row in ledger.reads.transfer_queries.facts(moment)
                      if row["visible_until_us"] > moment.instant_us]
            shapes.sort(key=lambda s: (s.pop("_requested"), s["Id"]), reverse=True)
        for shape in shapes:
            end = shape.get("EndTimestamp")
            shape["InEffect"] = in_effect_at(shape["Status"], shape["StartTimestamp"], end, moment.instant)
    return emit(args, {"AsOf": moment.instant, "ResponsibilityTransfers": shapes}, lambda: _table(shapes))


def _neutral(row: Any, instant: datetime) -> dict[str, Any]:
    """A transfer as the inviter's List answers it (ids only)."""
    shape: dict[str, Any] = {
        "Id": row["id"], "Name": row["inbound_name"], "Type": row["type"],
        "Status": status_at(row["status"], from_us(row["expires_us"]), instant),
        "Source": {"ManagementAccountId": row["source_account_id"]} if row["source_account_id"]
        else {"ManagementAccountEmail": row["target_id"]},
        "Target": {"ManagementAccountId": row["inviter_account_id"]},
        "StartTimestamp": from_us(row["start_us"]), "_requested": row["requested_us"]}
    if row["end_us"] is not None:
        shape["EndTimestamp"] = from_us(row["end_us"])
    return shape


def _table(shapes: list[dict[str, Any]]) -> str:
    def who(party: dict[str, str]) -> str:
        return party.get("ManagementAccountId") or party.get("ManagementAccountEmail") or "-"

    rows = [(s["Id"], s["Status"], who(s["Target"]), who(s["Source"]), fmt.when(s["StartTimestamp"]),
             fmt.when(s.get("EndTimestamp")), "yes" if s["InEffect"] else "no", s["Name"]) for s in shapes]
    body = fmt.table(("ID", "STATUS", "PAYER", "PAID FOR", "START", "END", "IN EFFECT", "NAME"), rows)
    return f"{body}\n\n{len(shapes)} transfer{'s' if len(shapes) != 1 else ''}"
