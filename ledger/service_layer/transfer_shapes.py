"""The ResponsibilityTransfer wire shape, one side of it (``docs/decisions.md`` decision 25).

Commands answer from the aggregate (``ResponsibilityTransfer.as_row``), reads from the view's row;
both are a mapping with the same fields, turned into the caller's side here: its ARN (inbound
for the inviter, outbound for the invitee), its Name, Source and Target (with emails in
Describe, ids only in Lists and Terminate), the status at the instant read, EndTimestamp once
withdrawn, ActiveHandshakeId while REQUESTED.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Mapping

from ledger.domain.ids import transfer_arn
from ledger.domain.transfer import INBOUND, OUTBOUND, REQUESTED, status_at


def transfer_shape(row: Mapping[str, Any], *, caller: str, caller_organization: str | None, now: datetime,
                   email_of: Callable[[str], str], with_emails: bool) -> dict[str, Any]:
    """``row``: the fields of ``ResponsibilityTransfer.as_row`` (instants as datetimes).
    ``caller``: the account answered (one of the sides); ``caller_organization``: its organization
    then, for an outbound ARN before the invitee's organization is recorded."""
    side = INBOUND if caller == row["inviter_account_id"] else OUTBOUND
    if side == INBOUND:
        arn = transfer_arn(caller, row["inviter_organization_id"], row["type"], INBOUND, row["id"])
    else:
        organization = row["source_organization_id"] or caller_organization or ""
        arn = transfer_arn(caller, organization, row["type"], OUTBOUND, row["id"])
    status = status_at(row["status"], row["expires_at"], now)
    source: dict[str, str]
    if row["source_account_id"] is None:  # an unanswered EMAIL invitation: the address alone
        source = {"ManagementAccountEmail": row["target_id"]}
    else:
        source = {"ManagementAccountId": row["source_account_id"]}
        if with_emails:
            source["ManagementAccountEmail"] = email_of(row["source_account_id"])
    target = {"ManagementAccountId": row["inviter_account_id"]}
    if with_emails:
        target["ManagementAccountEmail"] = email_of(row["inviter_account_id"])
    shape: dict[str, Any] = {
        "Arn": arn,
        "Name": row[f"{side}_name"],
        "Id": row["id"],
        "Type": row["type"],
        "Status": status,
        "Source": source,
        "Target": target,
        "StartTimestamp": row["start_at"],
    }
    if row["end_at"] is not None:
        shape["EndTimestamp"] = row["end_at"]
    if status == REQUESTED:
        shape["ActiveHandshakeId"] = row["handshake_id"]
    return shape
