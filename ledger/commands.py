"""Request models: frozen pydantic models named after the AWS operations (decision 2).

Their fields, patterns, lengths, enums and ranges are read from botocore's model of the
service (``organizations/2016-11-28/service-2.json``) rather than written by hand, so they
follow AWS exactly. A bad request becomes ``InvalidInputException`` with the model's Reason
and nothing is recorded.

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
from functools import cache
from typing import Annotated, Any, Callable, Literal, Optional

import botocore.session
from botocore.model import Shape
from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError,
                      create_model)
from pydantic_core import PydanticCustomError

from ledger.errors import InvalidInputException, SerializationException

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

class Request(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")


@cache
def service_model() -> Any:
    return botocore.session.get_session().get_service_model("organizations")


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
def request_model(operation: str) -> type[Request]:
    """The pydantic model of an operation's input, named after the operation."""
    op = service_model().operation_model(operation)
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
    "ListHandshakesForAccount": _check_filter,
    "ListHandshakesForOrganization": _check_filter,
    "EnableAWSServiceAccess": _check_service_principal,
    "DisableAWSServiceAccess": _check_service_principal,
}


def parse_request(operation: str, params: dict[str, Any]) -> Any:
    """Validate boto3-style parameters; raise the AWS error a bad request deserves."""
    try:
        request = request_model(operation).model_validate(params)
    except ValidationError as invalid:
        raise _as_aws_error(invalid) from None
    _EXTRA_CHECKS.get(operation, lambda _: None)(request)
    return request


def _as_aws_error(invalid: ValidationError) -> Exception:
    first = invalid.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "request"
    if first["loc"][-1:] == ("NextToken",) and first["type"] in _STRING_FAULTS:
        return InvalidInputException(_INVALID_NEXT_TOKEN, "INVALID_NEXT_TOKEN")
    reason = _REASONS.get(first["type"])
    if reason == "INVALID_ENUM" and first["loc"][-1:] == ("PolicyType",):
        reason = "INVALID_ENUM_POLICY_TYPE"
    if reason is None:
        return SerializationException(f"{where}: {first['msg']}")
    message = first["msg"]
    pattern = (first.get("ctx") or {}).get("pattern")
    if isinstance(pattern, str) and pattern.startswith("\\A(?:"):  # say the model's pattern, not our translation
        message = f"String should match the pattern {pattern[5:-3]!r} (in ASCII, whole)"
    return InvalidInputException(f"Invalid value for {where}: {message}.", reason)
