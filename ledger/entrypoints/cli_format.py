"""How the command line prints: aligned tables, JSON, CSV and the rebuild's progress bar.

Text from the data never reaches the terminal raw: ``printable`` writes its control
characters as escapes (``\\x1b``), so a stored escape sequence can't drive the operator's
terminal. JSON output escapes them by itself (ASCII only); CSV holds only what the ledger made.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import datetime, timedelta
from typing import Any, Iterable, Iterator, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.text import Text

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
ANALYTICS_COLUMNS = ("OrganizationId", "Action", "Total", "Accepted", "Declined", "Canceled", "Expired", "Open",
                     "AcceptanceRate", "DecisionSecondsP50", "DecisionSecondsP90", "RequestsPerDay")


def printable(value: Any) -> str:
    """``str(value)`` with its control characters (C0, DEL, C1, line separators) as escapes."""
    return _CONTROL.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), str(value))


def one_line(value: Any) -> str:
    """A message as one readable line: its runs of whitespace (newlines, tabs) as one space, and
    the control characters left as escapes (``printable``)."""
    return printable(" ".join(str(value).split()))


def as_json(value: Any) -> str:
    """JSON with datetimes as ISO 8601 (as the AWS CLI prints timestamps)."""
    return json.dumps(value, indent=2, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v))


def json_streamed(head: dict[str, Any], key: str, items: Iterable[Any]) -> Iterator[str]:
    """``as_json({**head, key: list(items)})`` in pieces, one item at a time (never the whole list)."""
    opening = as_json({**head, key: []})
    assert opening.endswith("[]\n}")
    yield opening[:-len("[]\n}")] + "["
    first = True
    for item in items:
        yield ("\n    " if first else ",\n    ") + as_json(item).replace("\n", "\n    ")
        first = False
    yield ("]" if first else "\n  ]") + "\n}"


def when(value: datetime | str | None) -> str:
    """A timestamp to the second, in UTC: ``2026-03-01T12:00:00Z``."""
    if value is None:
        return "-"
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = int(seconds // 60)
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins}m" if hours else f"{mins}m"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], right: Sequence[int] = ()) -> str:
    """Plain columns two spaces apart; the columns numbered in ``right`` are right-aligned."""
    cells = [[printable(h) for h in headers]] + [["-" if c is None else printable(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
             for row in cells]
    return "\n".join(line.rstrip() for line in lines)


# -- history ----------------------------------------------------------------------------------

def history(handshake_id: str, entries: list[dict[str, Any]]) -> str:
    first = next(e for e in entries if e["Version"] == 1)["Details"]
    title = f"{handshake_id}  {first.get('action', '?')} in {first.get('organization_id', '?')}"
    if first.get("target_type") in ("ACCOUNT", "EMAIL"):
        title += f" to {first['target_type']} {first['target_id']}"
    rows = [(e["Version"] or "-", when(e["Timestamp"]), e["What"] + ("*" if e["Derived"] else "!" if e["Refused"] else ""),
             e["Actor"], e["RequestId"], e["State"], _details(e)) for e in entries]
    lines = [printable(title), "", table(("VERSION", "TIMESTAMP", "WHAT", "ACTOR", "REQUEST ID", "STATE", "DETAILS"), rows)]
    notes = (["* derived from ExpirationTimestamp, not a recorded event (no timer ever writes it)"]
             if any(e["Derived"] for e in entries) else [])
    notes += ["! refused: the call is in the audit log with its error; it changed nothing"] \
        if any(e["Refused"] for e in entries) else []
    return "\n".join(lines + ([""] + notes if notes else []))


def _details(entry: dict[str, Any]) -> str:
    details = entry["Details"]
    if entry["Refused"]:
        return f"{details['errorCode']}: {details['errorMessage']}"
    if entry["What"] == "Requested":
        children = f", {len(details['children'])} approvals asked" if details.get("children") else ""
        return f"expires {when(details.get('expires_at'))}{children}"
    return ", ".join(f"{k}={v}" for k, v in details.items())


# -- handshakes ---------------------------------------------------------------------------------

def handshake(shape: dict[str, Any]) -> str:
    """One handshake as labelled lines, its resources indented as a tree."""
    parties = ", ".join(f"{p['Type']} {p['Id']}" for p in shape["Parties"])
    lines = [f"{label:<11}{printable(value)}" for label, value in (
        ("Id", shape["Id"]), ("Action", shape["Action"]), ("State", shape["State"]), ("Parties", parties),
        ("Requested", when(shape["RequestedTimestamp"])), ("Expires", when(shape["ExpirationTimestamp"])),
        ("Arn", shape["Arn"]),
    )]
    lines.append("Resources")
    lines += _resources(shape.get("Resources") or [], "  ")
    return "\n".join(lines)


def _resources(resources: list[dict[str, Any]], indent: str) -> list[str]:
    lines: list[str] = []
    for resource in resources:
        lines.append(f"{indent}{printable(resource['Type'])}: {printable(resource['Value'])}")
        lines += _resources(resource.get("Resources") or [], indent + "  ")
    return lines


def handshakes(shapes: list[dict[str, Any]]) -> str:
    rows = [(h["Id"], h["Action"], h["State"], when(h["RequestedTimestamp"]), when(h["ExpirationTimestamp"]),
             _party(h, "ORGANIZATION"), _target(h)) for h in shapes]
    body = table(("ID", "ACTION", "STATE", "REQUESTED", "EXPIRES", "ORGANIZATION", "TARGET"), rows)
    return f"{body}\n\n{len(shapes)} handshake{'s' if len(shapes) != 1 else ''}"


def _party(shape: dict[str, Any], kind: str) -> str:
    return next((p["Id"] for p in shape["Parties"] if p["Type"] == kind), "-")


def _target(shape: dict[str, Any]) -> str:
    other = [p for p in shape["Parties"] if p["Type"] != "ORGANIZATION"]
    return f"{other[0]['Type']} {other[0]['Id']}" if other else "(management account)"


# -- analytics ----------------------------------------------------------------------------------

def analytics(rows: list[dict[str, Any]]) -> str:
    by_org = bool(rows) and "OrganizationId" in rows[0]
    headers = (("ORGANIZATION",) if by_org else ()) + (
        "ACTION", "TOTAL", "ACCEPTED", "DECLINED", "CANCELED", "EXPIRED", "OPEN", "ACCEPT %",
        "DECISION P50", "DECISION P90", "PEAK/DAY")
    lines = []
    for row in rows:
        rate = row["AcceptanceRate"]
        per_day = row["RequestsPerDay"]
        lines.append(((row["OrganizationId"],) if by_org else ()) + (
            row["Action"], row["Total"], row["Accepted"], row["Declined"], row["Canceled"], row["Expired"],
            row["Open"], "-" if rate is None else f"{rate * 100:.1f}", duration(row["DecisionSecondsP50"]),
            duration(row["DecisionSecondsP90"]), max(per_day.values()) if per_day else 0))
    first = 2 if by_org else 1
    return table(headers, lines, right=range(first, len(headers))) if rows else "(no handshakes)"


def transfer_analytics(summary: dict[str, Any]) -> str:
    """Billing transfers by status, in effect, and time to answer (``Ledger.transfer_analytics``)."""
    headers = ("TOTAL", *summary["ByStatus"], "IN EFFECT", "ANSWER P50", "ANSWER P90")
    line = (summary["Total"], *summary["ByStatus"].values(), summary["InEffect"],
            duration(summary["AnswerSecondsP50"]), duration(summary["AnswerSecondsP90"]))
    return table(headers, [line], right=range(len(headers))) if summary["Total"] else "(no transfers)"


def analytics_csv(rows: list[dict[str, Any]]) -> str:
    """One line per summary; RequestsPerDay as a compact JSON object in its cell."""
    columns = [c for c in ANALYTICS_COLUMNS if not rows or c in rows[0]]
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "RequestsPerDay": json.dumps(row["RequestsPerDay"], separators=(",", ":"))})
    return out.getvalue().rstrip("\n")


# -- rebuild ------------------------------------------------------------------------------------

class _Rate(ProgressColumn):
    """Events per second since the start (rich's own speed column speaks in bytes)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} events/s" if speed else "- events/s", style="progress.data.speed")


class RebuildProgress:
    """A progress bar over log positions, on stderr; ``update`` is the rebuild's callback."""

    def __init__(self, total: int):
        self.started = time.monotonic()
        self._total = total
        self._bar = Progress(TextColumn("rebuilding"), BarColumn(), MofNCompleteColumn(), _Rate(),
                             TextColumn("left"), TimeRemainingColumn(), console=Console(stderr=True))
        self._task = self._bar.add_task("rebuild", total=total or None)

    def __enter__(self) -> RebuildProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def update(self, position: int, batch_count: int) -> None:
        self._total = max(self._total, position)  # events appended meanwhile are replayed too
        self._bar.update(self._task, completed=position, total=self._total)

    def seconds(self) -> float:
        return time.monotonic() - self.started


# -- demo -----------------------------------------------------------------------------------------

def demo(summary: dict[str, Any], data: str) -> str:
    """What the demo seeded, and commands worth trying on it."""
    organizations = table(("ORGANIZATION", "MANAGEMENT", "NAME", "FEATURE SET", "MEMBERS"),
                          [(o["Id"], o["ManagementAccountId"], o["Name"], o["FeatureSet"], o["Members"])
                           for o in summary["Organizations"]], right=(4,))
    tries = summary["Try"]
    width = max(map(len, tries), default=0)
    lines = [
        f"Seeded {summary['Location']}: {summary['Handshakes']} handshakes, {summary['Events']} events, "
        f"{summary['Accounts']} accounts, from {when(summary['From'])} to {when(summary['To'])}.",
        "", organizations, "", analytics(summary["Outcomes"]), "", "Handshakes to try:",
        *(f"  {label:<{width}}  {handshake_id}" for label, handshake_id in tries.items()), "", "Next:",
    ]
    sample = tries.get("invitation accepted by email") or next(iter(tries.values()), "h-...")
    expiry = summary.get("Expiry")
    pending = next((o for o in summary["Organizations"] if o["FeatureSet"] != "ALL"), summary["Organizations"][0])
    lines += [f"  handshake-ledger history {sample}{data}"]
    if expiry:
        before = expiry["ExpirationTimestamp"] - timedelta(days=1)
        after = expiry["ExpirationTimestamp"] + timedelta(minutes=1)  # shown to the second: past the instant
        lines += [f"  handshake-ledger history {expiry['Id']}{data}",
                  f"  handshake-ledger show {expiry['Id']} --as-of {when(before)}{data}    # OPEN",
                  f"  handshake-ledger show {expiry['Id']} --as-of {when(after)}{data}    # EXPIRED"]
    lines += [f"  handshake-ledger list --organization --account {pending['ManagementAccountId']} --as-of -3w{data}",
              f"  handshake-ledger analytics --by action{data}"]
    transfers = summary.get("Transfers") or {}
    if transfers:
        width = max(map(len, transfers))
        sample = transfers.get("transfer withdrawn") or next(iter(transfers.values()))
        lines += ["", "Billing transfers to try:",
                  *(f"  {label:<{width}}  {transfer_id}" for label, transfer_id in transfers.items()),
                  f"  handshake-ledger show {sample}{data}", f"  handshake-ledger transfers{data}"]
    return "\n".join(lines)


# -- diff -----------------------------------------------------------------------------------------

def diff(found: list[dict[str, Any]], since: datetime, until: datetime) -> str:
    """One line per changed handshake: its state before and after ("-": not visible then); then one
    per changed billing transfer, with the start or end of its effect when that fell in between."""
    changes = [change for change in found if "HandshakeId" in change]
    transfers = [change for change in found if "ResponsibilityTransferId" in change]
    rows = []
    for change in changes:
        shape = change["After"] or change["Before"]
        rows.append((change["HandshakeId"], shape["Action"], _party(shape, "ORGANIZATION"), _target(shape),
                     (change["Before"] or {}).get("State"), (change["After"] or {}).get("State")))
    body = table(("ID", "ACTION", "ORGANIZATION", "TARGET", "BEFORE", "AFTER"), rows)
    count = f"{len(changes)} handshake{'s' if len(changes) != 1 else ''} changed"
    legend = ("-: not shown by the API then (not yet requested, or ended more than 30 days before)\n"
              if any(change["Before"] is None or change["After"] is None for change in changes) else "")
    if transfers:
        moved = [(c["ResponsibilityTransferId"], (c["Before"] or {}).get("Status"), (c["After"] or {}).get("Status"),
                  "yes" if c["InEffect"]["Before"] else "no", "yes" if c["InEffect"]["After"] else "no",
                  " ".join(f"{label} {when(c[key])}" for label, key in (("started", "EffectStarted"),
                                                                         ("ended", "EffectEnded")) if c[key]) or "-")
                 for c in transfers]
        body += "\n\n" + table(("TRANSFER", "BEFORE", "AFTER", "IN EFFECT BEFORE", "AFTER", "EFFECT"), moved)
        count += f", {len(transfers)} transfer{'s' if len(transfers) != 1 else ''}"
    return f"{body}\n\n{legend}{count} between {when(since)} and {when(until)}"
