"""Request models: frozen pydantic models named after the AWS operations (decision 2).

Their fields, patterns, lengths, enums and ranges are read from botocore's model of the
service (``organizations/2016-11-28/service-2.json``; ``cloudtrail`` for LookupEvents)
rather than written by hand, so they follow AWS exactly. A bad Organizations request becomes
``InvalidInputException`` with the model's Reason and changes nothing; another service passes
its own translation of the fault to ``parse_request`` (``ledger/entrypoints/cloudtrail``).
Timestamps arrive as the JSON protocol sends them, epoch seconds (botocore, the AWS CLI), and
become aware UTC datetimes.

This module is the one place that decides what a valid string is (``model_string``):

- the model's pattern, matched in full and in ASCII: ``\\d`` is 0-9 and ``\\w`` is
  [0-9A-Za-z_] (pydantic's Rust engine reads both as Unicode classes, so fullwidth or
  Arabic-Indic digits would pass), ``$`` is the end of the string (the Rust engine already
  reads it so; Python's ``re`` would match before a trailing newline);
- no control character (U+0000-U+001F, U+007F-U+009F) but tab, line feed and carriage
  return, and no lone surrogate: what the model constrains is text, never terminal or
  database control (PostgreSQL refuses NUL);
- a NextToken is valid only if this server issued it, whatever its characters: any fault in
  one is ``INVALID_NEXT_TOKEN``.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from functools import cache
from typing import Annotated, Any, Callable, Literal, Optional

import botocore.session
from botocore.model import Shape
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, TypeAdapter,
                      ValidationError, create_model)
from pydantic_core import PydanticCustomError

from ledger.domain.errors import InvalidInputException, SerializationException

# pydantic error type -> InvalidInputException Reason (the model's enum spellings).
_REASONS = {
    "missing": "INPUT_REQUIRED",
    "string_too_short": "MIN_LENGTH_EXCEEDED",
    "too_short": "MIN_LENGTH_EXCEEDED",
    "string_too_long": "MAX_LENGTH_EXCEEDED",
    "too_long": "MAX_LENGTH_EXCEEDED",
    "string_pattern_mismatch": "INVALID_PATTERN",
    "string_unicode": "INVALID_PATTERN",  # a lone surrogate (JSON "\\ud800")
    "literal_error": "INVALID_ENUM",
    "greater_than_equal": "MIN_VALUE_EXCEEDED",
    "less_than_equal": "MAX_VALUE_EXCEEDED",
}
_STRING_FAULTS = {"string_too_short", "string_too_long", "string_pattern_mismatch", "string_unicode"}
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# Perl classes of the model's patterns, in ASCII: outside a [...] class, and inside one.
_ASCII_CLASSES = {"d": ("[0-9]", "0-9"), "w": ("[0-9A-Za-z_]", "0-9A-Za-z_"), "D": ("[^0-9]", None),
                  "W": ("[^0-9A-Za-z_]", None)}
_INVALID_NEXT_TOKEN = "The NextToken value is not valid for this request."
_AWS_SERVICE = re.compile(r"([a-z0-9-]+\.)+amazonaws\.com", re.ASCII)
ORGANIZATIONS = "organizations"


class Request(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")


@cache
def service_model(service: str = ORGANIZATIONS) -> Any:
    """botocore's model of ``service`` (its name in botocore: ``organizations``, ``cloudtrail``)."""
    return botocore.session.get_session().get_service_model(service)


def enum_of(shape_name: str, service: str = ORGANIZATIONS) -> tuple[str, ...]:
    """The values of an enum shape of the service's model (e.g. ``ActionType``), in its order."""
    return tuple(service_model(service).shape_for(shape_name).enum)


def ascii_pattern(pattern: str) -> str:
    """The model's pattern for pydantic's Rust engine, matched in full, its Perl classes in ASCII."""
    out, in_class, i = [], False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escaped = pattern[i + 1]
            ascii = _ASCII_CLASSES.get(escaped, (None, None))[in_class]
            out.append(ascii if ascii is not None else pattern[i:i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
            out.append(char)
            if pattern[i + 1:i + 2] == "^":
                out.append("^")
                i += 1
            if pattern[i + 1:i + 2] == "]":  # a literal ] first in the class
                out.append("\\]")
                i += 1
        else:
            in_class = in_class and char != "]"
            out.append(char)
        i += 1
    return "\\A(?:" + "".join(out) + ")\\z"


def _text(value: str) -> str:
    if _CONTROL.search(value):
        raise PydanticCustomError("string_pattern_mismatch", "String should not contain control characters")
    return value


def model_string(shape: Shape) -> Any:
    """The one definition of a valid string of the model's shape (see the module's docstring)."""
    meta = shape.metadata
    pattern = meta.get("pattern")
    return Annotated[str, StringConstraints(
        min_length=meta.get("min"), max_length=meta.get("max"),
        pattern=ascii_pattern(pattern) if pattern else None,
    ), AfterValidator(_text)]


def _instant_from_epoch_seconds(value: Any) -> Any:
    """A timestamp of the JSON protocol: epoch seconds (fractions allowed), as an aware UTC datetime."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, timezone.utc)
        except (OverflowError, OSError, ValueError):
            pass
    raise PydanticCustomError("timestamp_type", "Timestamp should be epoch seconds (a number) in a usable range")


Timestamp = Annotated[datetime, BeforeValidator(_instant_from_epoch_seconds)]


@cache
def _shape_adapter(shape_name: str) -> TypeAdapter[str]:
    return TypeAdapter(model_string(service_model().shape_for(shape_name)))


def is_valid(shape_name: str, text: object) -> bool:
    """Whether ``text`` is a valid string of the model's shape (e.g. ``AccountId``, ``Email``)."""
    try:
        _shape_adapter(shape_name).validate_python(text, strict=True)
    except ValidationError:
        return False
    return True


def _python_type(shape: Shape, models: dict[str, type[Request]]) -> Any:
    meta = shape.metadata
    if shape.type_name == "string":
        return Literal[tuple(shape.enum)] if shape.enum else model_string(shape)
    if shape.type_name in ("integer", "long"):
        return Annotated[int, Field(ge=meta.get("min"), le=meta.get("max"))]
    if shape.type_name == "boolean":
        return bool
    if shape.type_name == "timestamp":
        return Timestamp
    if shape.type_name == "list":
        return Annotated[list[_python_type(shape.member, models)], Field(min_length=meta.get("min"), max_length=meta.get("max"))]  # type: ignore[misc]
    if shape.type_name == "structure":
        return _structure_model(shape.name, shape, models)
    return Any


def _structure_model(name: str, shape: Shape, models: dict[str, type[Request]]) -> type[Request]:
    if name not in models:
        required = set(shape.required_members)
        fields: dict[str, Any] = {}
        for member, member_shape in shape.members.items():
            kind = _python_type(member_shape, models)
            fields[member] = (kind, ...) if member in required else (Optional[kind], None)
        models[name] = create_model(name, __base__=Request, **fields)
    return models[name]


@cache
def request_model(operation: str, service: str = ORGANIZATIONS) -> type[Request]:
    """The pydantic model of an operation's input, named after the operation."""
    op = service_model(service).operation_model(operation)
    if op.input_shape is None:
        return create_model(operation, __base__=Request)
    return _structure_model(operation, op.input_shape, {})


# -- rules the model can't express ------------------------------------------------------

def _check_invite(request: Any) -> None:
    target = request.Target
    if target.Type == "ORGANIZATION":
        raise InvalidInputException("You can invite only an ACCOUNT or an EMAIL target.", "INVALID_PARTY_TYPE_TARGET")
    if target.Type == "ACCOUNT" and not is_valid("AccountId", target.Id):
        raise InvalidInputException("Target.Id must be a 12-digit account id.", "INVALID_PATTERN")
    if target.Type == "EMAIL" and not is_valid("Email", target.Id):
        raise InvalidInputException(f"{target.Id!r} is not a valid email address.", "INVALID_EMAIL_ADDRESS_TARGET")
    keys = [tag.Key for tag in request.Tags or ()]
    if any(key.lower().startswith("aws:") for key in keys):
        raise InvalidInputException("Tag keys can't start with the reserved prefix 'aws:'.", "INVALID_SYSTEM_TAGS_PARAMETER")
    if len(set(keys)) != len(keys):
        raise InvalidInputException("Each tag key can appear only once.", "DUPLICATE_TAG_KEY")


def _check_filter(request: Any) -> None:
    if request.Filter and request.Filter.ActionType and request.Filter.ParentHandshakeId:
        raise InvalidInputException(
            "Specify either ActionType or ParentHandshakeId in Filter, not both.", "MAX_LIMIT_EXCEEDED_FILTER"
        )


def _check_service_principal(request: Any) -> None:
    """AWS knows its services; we know their principals' form (``<service>.amazonaws.com``).
    The model's pattern (in ASCII, whole) has already refused other characters: INVALID_PATTERN."""
    principal = request.ServicePrincipal
    if not _AWS_SERVICE.fullmatch(principal):
        raise InvalidInputException(
            f"{principal} is not the service principal of an AWS service.", "UNRECOGNIZED_SERVICE_PRINCIPAL"
        )


_EXTRA_CHECKS: dict[str, Callable[[Any], None]] = {
    "InviteAccountToOrganization": _check_invite,
    "InviteOrganizationToTransferResponsibility": _check_invite,
    "ListHandshakesForAccount": _check_filter,
    "ListHandshakesForOrganization": _check_filter,
    "EnableAWSServiceAccess": _check_service_principal,
    "DisableAWSServiceAccess": _check_service_principal,
}


Fault = dict[str, Any]  # the first of pydantic's errors: "type", "loc", "msg", "ctx"


def parse_request(operation: str, params: dict[str, Any], service: str = ORGANIZATIONS,
                  as_error: Callable[[Fault], Exception] | None = None) -> Any:
    """Validate boto3-style parameters; raise the AWS error a bad request deserves (``as_error`` of
    the first fault; by default Organizations' InvalidInputException with its Reason)."""
    try:
        request = request_model(operation, service).model_validate(params)
    except ValidationError as invalid:
        raise (as_error or _as_aws_error)(dict(invalid.errors(include_url=False)[0])) from None
    if service == ORGANIZATIONS:
        _EXTRA_CHECKS.get(operation, lambda _: None)(request)
    return request


def is_constraint(fault: Fault) -> bool:
    """A value of the right type outside what the model allows (length, pattern, enum, range,
    missing), as opposed to a value of the wrong type (a SerializationException)."""
    return fault["type"] in _REASONS


def _where(fault: Fault) -> str:
    return ".".join(str(part) for part in fault["loc"]) or "request"


def fault_message(fault: Fault) -> str:
    """``Invalid value for <where>: <what>.``, naming the model's pattern, not our translation of it."""
    message = fault["msg"]
    pattern = (fault.get("ctx") or {}).get("pattern")
    if isinstance(pattern, str) and pattern.startswith("\\A(?:"):
        message = f"String should match the pattern {pattern[5:-3]!r} (in ASCII, whole)"
    return f"Invalid value for {_where(fault)}: {message}."


def serialization_error(fault: Fault) -> SerializationException:
    return SerializationException(f"{_where(fault)}: {fault['msg']}")


def _as_aws_error(fault: Fault) -> Exception:
    if fault["loc"][-1:] == ("NextToken",) and fault["type"] in _STRING_FAULTS:
        return InvalidInputException(_INVALID_NEXT_TOKEN, "INVALID_NEXT_TOKEN")
    reason = _REASONS.get(fault["type"])
    if reason == "INVALID_ENUM" and fault["loc"][-1:] == ("PolicyType",):
        reason = "INVALID_ENUM_POLICY_TYPE"
    if reason is None:
        return serialization_error(fault)
    return InvalidInputException(fault_message(fault), reason)
