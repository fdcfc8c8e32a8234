"""The audit: every command call of the audit log (``ledger/service_layer/audit.py``) up to the slider's moment,
newest first, filtered by operation, caller, outcome, error, request id or resource; refused calls
stand out. A scope sees its own account's records, as CloudTrail shows an account its own trail."""

from __future__ import annotations

from typing import Any

from ledger.service_layer.requests import is_valid
from ledger.entrypoints.webui.context import Page, PageRequest
from ledger.entrypoints.webui.params import KEYSET, TEXT, WORD, Rule, choice, shape
from ledger.domain.instants import to_us

PAGE_SIZE = 50
OUTCOMES = ("accepted", "refused")
PARAMETERS: dict[str, Rule] = {
    "operation": WORD, "account": shape("AccountId"), "error": WORD, "request_id": TEXT, "resource": TEXT,
    "outcome": choice(OUTCOMES), "before": KEYSET,
}


def audit_page(request: PageRequest) -> Page:
    where, params = ["event_time_us <= ?"], [request.moment.instant_us]
    for column, value in (
        ("event_name", request.value("operation")),
        ("account_id", request.value("account")),
        ("error_code", request.value("error")),
        ("request_id", request.value("request_id")),
        ("resource_name", request.value("resource")),
        ("recipient_account_id", request.scope.account_id),
    ):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    outcome = request.value("outcome")
    if outcome:
        where.append("error_code IS NULL" if outcome == "accepted" else "error_code IS NOT NULL")
    before = request.cursor("before")
    if before:
        where.append("(event_time_us < ? OR (event_time_us = ? AND event_id < ?))")
        params += [before[0], before[0], before[1]]
    calls = request.ledger.app.audit_log.select_calls(
        " AND ".join(where), params, order="event_time_us DESC, event_id DESC", limit=PAGE_SIZE + 1)
    shown, last = calls[:PAGE_SIZE], calls[PAGE_SIZE - 1] if len(calls) > PAGE_SIZE else None
    return Page("audit.html", {
        "section": "audit", "title": "Audit", "calls": [_call(call) for call in shown], "outcomes": OUTCOMES,
        "next_page": request.here(before=f"{to_us(last.event_time)}.{last.event_id}") if last else None,
        "first_page": request.here(before=None) if before else None,
    })


def _call(call: Any) -> dict[str, Any]:
    """A row; its first resource links to the handshake's page when it names a handshake."""
    kind, name = call.resources[0] if call.resources else (None, None)
    return {"call": call, "resource": name,
            "handshake": name if kind == "AWS::Organizations::Handshake" and is_valid("HandshakeId", name) else None}
