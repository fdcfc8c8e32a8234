"""Billing transfers (``docs/decisions.md`` decisions 20-28) in the web UI: who pays for whom at the
slider's moment, and one transfer's page with its timeline from invitation to answer, start,
withdrawal and end.

The list reads the versioned ``transfers`` rows as they stood at the moment; status (EXPIRED), "in
effect" and retention are judged at the moment's instant (decisions 13, 14, 22, 26). A viewer in
strict mode sees what its own DescribeResponsibilityTransfer answered then: only the transfers its
account is a side of, with its side's name and ARN.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from ledger.domain import errors
from ledger.domain.instants import from_us
from ledger.domain.transfer import in_effect_at, status_at
from ledger.entrypoints.webui.context import Page, PageRequest
from ledger.entrypoints.webui.errors import NotFound
from ledger.entrypoints.webui.timeline import LEFT, RIGHT, WIDTH, Mark, place_labels, ticks_between
from ledger.entrypoints.webui.params import Rule, choice, shape, shown
from ledger.service_layer.transfer_history import transfer_history

STATUSES = ("REQUESTED", "ACCEPTED", "DECLINED", "CANCELED", "EXPIRED", "WITHDRAWN")
TRANSFER_ID = re.compile(r"rt-[0-9a-z]{8,32}")
PARAMETERS: dict[str, Rule] = {"status": choice(STATUSES), "account": shape("AccountId"),
                               "effect": choice(("yes", "no"))}
TRANSFER_PARAMETERS: dict[str, Rule] = {}


def transfers_page(request: PageRequest) -> Page:
    """Every transfer shown at the moment, newest invitation first; filters: ``status`` (as read then),
    ``account`` (either side), ``effect`` (in effect then: yes/no)."""
    status, account, effect = request.value("status"), request.value("account"), request.value("effect")
    transfers = [t for t in visible_transfers(request)
                 if (status is None or t["status"] == status)
                 and (account is None or account in (t["payer"], t["paid_for"]))
                 and (effect is None or t["in_effect"] == (effect == "yes"))]
    return Page("transfers.html", {
        "section": "transfers", "title": "Billing transfers", "transfers": transfers, "statuses": STATUSES,
        "status": status, "account": account, "effect": effect,
        "paying": [t for t in transfers if t["in_effect"]],
    })


def visible_transfers(request: PageRequest) -> list[dict[str, Any]]:
    """``[{"id", "status", "payer", "paid_for", "start", "end", "in_effect", "name", "side", "requested"}]``
    at the moment: those the API showed then (a scope: those its account is a side of)."""
    moment, viewer = request.moment, request.scope.account_id
    found = []
    for row in request.ledger.reads.transfer_queries.facts(moment):
        if row["visible_until_us"] <= moment.instant_us:
            continue  # past retention: gone from every answer (decision 26)
        name, side = row["inbound_name"], None
        if viewer is not None:
            answer = _described(request, row["id"])
            if answer is None:
                continue
            name = answer["Name"]
            side = "pays" if viewer == row["inviter_account_id"] else "is paid for"
        stored, start = row["status"], from_us(row["start_us"])
        end = from_us(row["end_us"]) if row["end_us"] is not None else None
        found.append({
            "id": row["id"], "status": status_at(stored, from_us(row["expires_us"]), moment.instant),
            "payer": row["inviter_account_id"], "paid_for": row["source_account_id"] or row["target_id"],
            "start": start, "end": end, "in_effect": in_effect_at(stored, start, end, moment.instant),
            "name": name, "side": side, "requested": from_us(row["requested_us"]),
        })
    found.sort(key=lambda t: (t["requested"], t["id"]), reverse=True)
    return found


def _described(request: PageRequest, transfer_id: str) -> dict[str, Any] | None:
    """The viewer's DescribeResponsibilityTransfer answer at the moment; None if it was refused."""
    assert request.scope.account_id is not None
    try:
        answer = request.ledger.reads.describe_responsibility_transfer(request.scope.account_id, transfer_id,
                                                                      request.moment)
    except errors.OrganizationsError:
        return None
    return dict(answer["ResponsibilityTransfer"])


def transfer_page(request: PageRequest, transfer_id: str) -> Page:
    """One transfer: its answer as of the moment, its events and derived instants, its timeline."""
    if not TRANSFER_ID.fullmatch(transfer_id):
        raise NotFound(f"{shown(transfer_id)} is not a transfer id (rt- and 8 to 32 lower-case letters or digits).")
    not_found = NotFound(f"We can't find a transfer with the Id {transfer_id}.")  # as the API says it
    moment = request.moment
    row = request.ledger.reads.transfer_queries.transfer(transfer_id, moment)
    shape_now, note = None, None
    if request.scope.account_id is not None:
        shape_now = _described(request, transfer_id)
        if shape_now is None:
            raise not_found  # a viewer is not told whether it exists
    elif row is None:
        note = "not yet invited as of this moment"
    else:
        note = "past retention: gone from every API view" if row["visible_until_us"] <= moment.instant_us else None
        shape_now = _whole(row, moment.instant)
    present = max(request.ledger.now(), moment.instant)
    entries = transfer_history(request.ledger.app, transfer_id, present)
    if not entries:
        raise not_found
    invited = entries[0]["Details"]
    for entry in entries:
        entry["Later"] = entry["Timestamp"] > moment.instant
        if request.scope.account_id not in (None, entry["Actor"]):
            entry["RequestId"] = None  # a viewer sees the request ids of its own calls only
    return Page("transfer.html", {
        "section": "transfers", "title": transfer_id, "transfer_id": transfer_id, "invited": invited,
        "shape": shape_now, "note": note, "entries": entries, "timeline": timeline(entries, invited, moment.instant),
    })


def _whole(row: Any, instant: datetime) -> dict[str, Any]:
    """The transfer as the whole ledger reads it at ``instant`` (both sides' names)."""
    start, end = from_us(row["start_us"]), from_us(row["end_us"]) if row["end_us"] is not None else None
    return {"Id": row["id"], "Type": row["type"], "Status": status_at(row["status"], from_us(row["expires_us"]), instant),
            "Payer": row["inviter_account_id"], "PaidFor": row["source_account_id"] or row["target_id"],
            "InboundName": row["inbound_name"], "OutboundName": row["outbound_name"], "Start": start, "End": end,
            "Expires": from_us(row["expires_us"]), "InEffect": in_effect_at(row["status"], start, end, instant),
            "HandshakeId": row["handshake_id"]}


def timeline(entries: list[dict[str, Any]], invited: dict[str, Any], moment: datetime) -> dict[str, Any]:
    """Marks on an axis from the invitation to the last instant the transfer names (or the moment):
    recorded events, derived instants, and the instants still ahead (expiry, start, end)."""
    whats = {e["What"] for e in entries}
    start_at, expires_at = invited["start_at"], invited["expires_at"]
    end_at = next((e["Details"]["end_at"] for e in entries if e["What"] == "Withdrawn"), None)
    answered = whats & {"Accepted", "Declined", "Canceled"}
    ahead: list[tuple[datetime, str]] = []
    if not answered and "Expired" not in whats:
        ahead.append((expires_at, "ExpirationTimestamp"))
    if "EffectStarted" not in whats and "Declined" not in whats and "Canceled" not in whats and "Expired" not in whats:
        ahead.append((start_at, "StartTimestamp"))
    if end_at is not None and "EffectEnded" not in whats:
        ahead.append((end_at, "EndTimestamp"))
    instants = [e["Timestamp"] for e in entries] + [at for at, _ in ahead] + [moment]
    first, last = min(instants), max(instants)
    scale = (RIGHT - LEFT) / max((last - first).total_seconds(), 1.0)

    def x(when: datetime) -> float:
        return round(LEFT + (when - first).total_seconds() * scale, 1)

    marks = [Mark(x(e["Timestamp"]), e["Timestamp"], e["What"] + (" (derived)" if e["Derived"] else ""),
                  "derived" if e["Derived"] else "event", e["Timestamp"] > moment) for e in entries]
    marks += [Mark(x(at), at, label, "expires", at > moment) for at, label in ahead]
    marks = place_labels(marks)
    effect = [e["Timestamp"] for e in entries if e["What"] in ("EffectStarted", "EffectEnded")]
    effect_from = x(effect[0]) if effect else None
    effect_to = x(effect[1]) if len(effect) > 1 else x(last) if effect else None
    return {
        "width": WIDTH, "left": LEFT, "right": RIGHT, "marks": marks, "rows": 1 + max(m.row for m in marks),
        "moment": Mark(x(moment), moment, "as of", "moment"), "ticks": [(x(t), t) for t in ticks_between(first, last)],
        "effect_from": effect_from, "effect_to": effect_to,
    }
