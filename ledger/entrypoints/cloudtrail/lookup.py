"""LookupEvents: an account's event history, as CloudTrail answers it.

Validated by botocore's ``cloudtrail`` model through ``ledger.service_layer.requests.parse_request`` (the same
machinery as the Organizations requests), each fault answered with the error shape the model
lists for it:

- ``LookupAttributes``: at most one (InvalidLookupAttributesException otherwise, as CloudTrail
  allows one per request); its key one of EventId, EventName, ReadOnly, Username, ResourceType,
  ResourceName, EventSource, AccessKeyId, its value 1-2000 characters; ReadOnly ``true`` or ``false``.
- ``StartTime`` / ``EndTime``: epoch seconds, both included, to the second; StartTime after
  EndTime is InvalidTimeRangeException. The ledger keeps its whole history (CloudTrail's event
  history keeps 90 days), so any range is answered.
- ``MaxResults`` 1-50, 50 by default (InvalidMaxResultsException); ``NextToken`` opaque, signed and
  bound to the caller, the lookup and the moment (InvalidNextTokenException otherwise,
  ``projections/paging.py``); ``EventCategory`` ``insight`` answers no events (the ledger makes
  no Insights events), anything else is InvalidEventCategoryException.
- A value of the wrong type (a string for MaxResults, a date string for StartTime): SerializationException.

Each caller sees the history of its own account (``recipient_account_id``): its calls, accepted
and refused, and for a management account its organization's membership events. Newest first.
As of an instant (``/as-of/<instant>``): only what had happened by then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger.domain import errors
from ledger.service_layer.audit import Caller
from ledger.service_layer.requests import Fault, fault_message, is_constraint, parse_request, serialization_error
from ledger.entrypoints.cloudtrail.errors import (InvalidEventCategoryException, InvalidLookupAttributesException,
                                                  InvalidMaxResultsException, InvalidNextTokenException,
                                                  InvalidTimeRangeException)
from projections.cloudtrail import Lookup, lookup_event
from ledger.domain.instants import to_us
from projections.aws_reads import pin, token_moment

SERVICE = "cloudtrail"
DEFAULT_PAGE = 50
# The first member a fault is in -> the error the model lists for it.
_FAULTS: dict[str, type[errors.OrganizationsError]] = {
    "LookupAttributes": InvalidLookupAttributesException,
    "StartTime": InvalidTimeRangeException,
    "EndTime": InvalidTimeRangeException,
    "MaxResults": InvalidMaxResultsException,
    "NextToken": InvalidNextTokenException,
    "EventCategory": InvalidEventCategoryException,
}


def lookup_events(ledger: Any, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    """``{"Events": [Event, ...], "NextToken"?}`` for ``caller``'s account at the ledger's moment."""
    request = parse_request("LookupEvents", params, SERVICE, as_error=_as_cloudtrail_error)
    attribute = _one_attribute(request.LookupAttributes or [])
    if request.StartTime and request.EndTime and request.StartTime > request.EndTime:
        raise InvalidTimeRangeException("StartTime is after EndTime.")
    moment = ledger.moment_for(request.NextToken)
    lookup = Lookup(caller.account_id, attribute, request.StartTime, request.EndTime,
                    until=None if moment.position is None else moment.instant)
    scope = _scope(lookup, request.EventCategory, moment)
    after = _read_token(ledger.reads.tokens, request.NextToken, scope) if request.NextToken else None
    if request.EventCategory == "insight":
        return {"Events": []}
    calls, more = ledger.trail.lookup(lookup, after=after, limit=request.MaxResults or DEFAULT_PAGE)
    answer: dict[str, Any] = {"Events": [lookup_event(call) for call in calls]}
    if more:
        answer["NextToken"] = ledger.reads.tokens.issue(scope, [to_us(calls[-1].event_time), calls[-1].position],
                                                        pin(moment))
    return answer


def _as_cloudtrail_error(fault: Fault) -> Exception:
    error = _FAULTS.get(str(fault["loc"][0])) if fault["loc"] else None
    if error is None or not (is_constraint(fault) or error is InvalidNextTokenException):
        return serialization_error(fault)
    if error is InvalidNextTokenException:
        return error()
    return error(fault_message(fault))


def _one_attribute(attributes: list[Any]) -> tuple[str, str] | None:
    if len(attributes) > 1:
        raise InvalidLookupAttributesException("You can specify only one lookup attribute per request.")
    if not attributes:
        return None
    key, value = attributes[0].AttributeKey, attributes[0].AttributeValue
    if key == "ReadOnly" and value not in ("true", "false"):
        raise InvalidLookupAttributesException("The value of the ReadOnly lookup attribute must be true or false.")
    return key, value


def _scope(lookup: Lookup, category: str | None, moment: Any) -> dict[str, Any]:
    """What a NextToken is bound to: the caller, the lookup, and the moment it was issued for."""
    def us(instant: datetime | None) -> int | None:
        return None if instant is None else to_us(instant)

    return {"op": "LookupEvents", "caller": lookup.account_id, "attr": list(lookup.attribute or ()),
            "start": us(lookup.start), "end": us(lookup.end), "category": category,
            "at": token_moment(moment)}


def _read_token(tokens: Any, token: str, scope: dict[str, Any]) -> tuple[int, int]:
    try:
        key = tokens.read(token, scope)
    except errors.InvalidInputException:  # the codec speaks Organizations' INVALID_NEXT_TOKEN
        raise InvalidNextTokenException() from None
    if len(key) != 2 or not all(isinstance(part, int) for part in key):
        raise InvalidNextTokenException()
    return key[0], key[1]
