"""CloudTrail on the ledger's endpoint: the second AWS API it speaks.

``X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Op>`` (AWS JSON 1.1, the
same caller identity and strict mode as Organizations, SigV4 scoped to ``cloudtrail``) reaches
``dispatch``; ``AwsJsonService`` routes it by that prefix. Its one operation is LookupEvents
(``lookup.py``), a read; ``export.py`` writes the same records as CloudTrail log files, and
``cli.py`` is ``handshake-ledger cloudtrail export``. The records themselves, and their queries,
are a read model of the audit log: ``projections/cloudtrail.py``.
"""

from __future__ import annotations

from typing import Any

from ledger.service_layer.audit import Caller
from ledger.entrypoints.cloudtrail.lookup import SERVICE, lookup_events
from ledger.domain.errors import UnknownOperationException

TARGET_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
OPERATIONS = {"LookupEvents": lookup_events}

__all__ = ["OPERATIONS", "SERVICE", "TARGET_PREFIX", "dispatch"]


def dispatch(ledger: Any, caller: Caller, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """Answer one CloudTrail operation for ``caller`` from ``ledger`` (live, or as of a moment)."""
    handler = OPERATIONS.get(operation)
    if handler is None:
        raise UnknownOperationException(f"Unknown operation {operation}: this endpoint's CloudTrail "
                                        "answers LookupEvents.")
    return handler(ledger, caller, params)
