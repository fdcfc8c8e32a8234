"""CloudTrail's error shapes for LookupEvents, named as botocore's ``cloudtrail`` model names them.

They answer as every AWS JSON error does (``{"__type", "Message"}``, HTTP 400; CloudTrail's shapes
carry no Reason), so they share the wire's base class with the Organizations errors.
"""

from __future__ import annotations

from ledger.domain.errors import OrganizationsError


class InvalidLookupAttributesException(OrganizationsError):
    default_message = "Occurs when a lookup attribute is specified that is not valid."


class InvalidTimeRangeException(OrganizationsError):
    default_message = "Occurs if the timestamp values are not valid. Either the start time occurs after the end time, " \
                      "or the time range is outside the range of possible values."


class InvalidMaxResultsException(OrganizationsError):
    default_message = "This exception is thrown if the limit specified is not valid."


class InvalidNextTokenException(OrganizationsError):
    default_message = "A token that is not valid, or a token that was previously used in a request with different " \
                      "parameters. This exception is thrown if the token is not valid."


class InvalidEventCategoryException(OrganizationsError):
    default_message = "Occurs if an event category that is not valid is specified as a value of EventCategory."


class UnsupportedOperationException(OrganizationsError):
    default_message = "This exception is thrown when the requested operation is not supported."


class OperationNotPermittedException(OrganizationsError):
    default_message = "This exception is thrown when the requested operation is not permitted."
