"""What changed in the billing transfers between two moments (``docs/decisions.md`` decisions 22, 28).

A transfer's answer changes with a new version (an event: accepted, declined, canceled, renamed,
withdrawn) or with time alone (its invitation's expiry, its retention's end); and, with no answer
changing, a transfer starts or stops being **in effect** when its StartTimestamp or EndTimestamp
passes. All of it is found from the view's indexes and derived at read time: the versions made
between the two positions, and the versions current at both moments whose expiry, retention end,
start or end lies between the two instants. ``changes()`` (``projections/changes.py``) appends
these entries to the handshakes'.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger.domain.directory import default_email
from ledger.domain.errors import OrganizationsError
from ledger.domain.instants import from_us
from ledger.domain.transfer import in_effect_at
from ledger.service_layer.transfer_shapes import transfer_shape
from projections.aws_reads import LedgerReads
from projections.queries import Moment, email_changes
from projections.transfer_reads import row_fields
from projections.versions import valid_at

TIME_COLUMNS = ("expires_us", "visible_until_us", "start_us", "end_us")


def transfer_changes(reads: LedgerReads, before: Moment, after: Moment, *, organization_id: str | None = None,
                     account_id: str | None = None) -> list[dict[str, Any]]:
    """``[{"ResponsibilityTransferId", "Before", "After", "InEffect": {"Before", "After"},
    "EffectStarted", "EffectEnded"}]``, newest invitation first.

    Before/After: the transfer as the inviter's List answers it (ids only), or None where it was not
    (yet, or any longer) visible; with ``account_id``, that account's DescribeResponsibilityTransfer
    answer (None where it had none). InEffect: whether responsibility was transferred at each instant
    (decision 22). EffectStarted / EffectEnded: the StartTimestamp / EndTimestamp (datetimes) when it
    lies between the two instants and the transfer, as it stood at the later moment, took effect
    then, else None. With ``organization_id``, only the transfers that organization is a side of.
    An entry is kept when anything of it differs or an effect started or ended.
    """
    queries = reads.transfer_queries
    found = []
    for transfer_id in _candidates(queries.view, before, after):
        rows = queries.transfer(transfer_id, before), queries.transfer(transfer_id, after)
        row: Any = rows[1] or rows[0]
        if organization_id and organization_id not in (row["inviter_organization_id"], row["source_organization_id"]):
            continue
        answers = tuple(_answer(reads, transfer_id, r, m, account_id) for r, m in zip(rows, (before, after)))
        effect = tuple(r is not None and _in_effect(r, m.instant) for r, m in zip(rows, (before, after)))
        started, ended = _crossed(row, before, after)
        if answers[0] != answers[1] or effect[0] != effect[1] or started or ended:
            found.append((row["requested_us"], transfer_id, answers, effect, started, ended))
    found.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
    return [{"ResponsibilityTransferId": transfer_id, "Before": was, "After": now,
             "InEffect": {"Before": effect[0], "After": effect[1]}, "EffectStarted": started, "EffectEnded": ended}
            for _, transfer_id, (was, now), effect, started, ended in found]


def _candidates(view: Any, before: Moment, after: Moment) -> set[str]:
    """Ids of the transfers whose entry may differ: a new version between the positions, a stored
    instant between the instants, or a side whose account (its email, decision 19) changed."""
    low, high = sorted((before.position or 0, after.position or 0))
    ids = {row["id"] for row in view.query(
        "SELECT DISTINCT id FROM {p}transfers WHERE valid_from > ? AND valid_from <= ?", [low, high])}
    first, first_params = valid_at(before.position)
    second, second_params = valid_at(after.position)
    early, late = sorted((before.instant_us, after.instant_us))
    for column in TIME_COLUMNS:
        ids |= {row["id"] for row in view.query(
            f"SELECT id FROM {{p}}transfers WHERE {column} > ? AND {column} <= ? AND ({first} OR {second})",
            [early, late, *first_params, *second_params])}
    accounts = email_changes(view, low, high)  # a party's email is in a transfer's Describe answer
    if accounts:
        names = sorted({row["account_id"] for row in accounts})
        keys = sorted({row["email_key"] for row in accounts} | {row["was"] for row in accounts if row["was"]}
                      | {default_email(name) for name in names})
        for start in range(0, max(len(names), len(keys)), 300):
            some, emails = names[start:start + 300] or [""], keys[start:start + 300] or [""]
            marks, email_marks = ", ".join("?" * len(some)), ", ".join("?" * len(emails))
            ids |= {row["id"] for row in view.query(
                f"SELECT DISTINCT id FROM {{p}}transfers WHERE inviter_account_id IN ({marks}) "
                f"OR source_account_id IN ({marks}) OR target_email IN ({email_marks})", [*some, *some, *emails])}
    return ids


def _answer(reads: LedgerReads, transfer_id: str, row: Any, moment: Moment, account_id: str | None) -> Any:
    if account_id is not None:
        try:
            return reads.describe_responsibility_transfer(account_id, transfer_id, moment)["ResponsibilityTransfer"]
        except OrganizationsError:
            return None
    if row is None or row["visible_until_us"] <= moment.instant_us:
        return None
    return transfer_shape(row_fields(row), caller=row["inviter_account_id"],
                          caller_organization=row["inviter_organization_id"], now=moment.instant,
                          email_of=lambda _: "", with_emails=False)


def _in_effect(row: Any, instant: datetime) -> bool:
    end = from_us(row["end_us"]) if row["end_us"] is not None else None
    return in_effect_at(row["status"], from_us(row["start_us"]), end, instant)


def _crossed(row: Any, before: Moment, after: Moment) -> tuple[datetime | None, datetime | None]:
    """The start and end of ``row``'s effect that lie in (earlier instant, later instant], when it
    took effect at all (accepted, and not withdrawn to end before it started)."""
    if row["status"] not in ("ACCEPTED", "WITHDRAWN") or (row["end_us"] is not None and row["end_us"] < row["start_us"]):
        return None, None
    early, late = sorted((before.instant_us, after.instant_us))
    started = from_us(row["start_us"]) if early < row["start_us"] <= late else None
    ended = from_us(row["end_us"]) if row["end_us"] is not None and early < row["end_us"] <= late else None
    return started, ended
