"""Request models: frozen pydantic models named after the AWS operations.

Their fields, patterns, lengths, enums and ranges are read from botocore's model of the
service (``organizations/2016-11-28/service-2.json``) rather than written by hand, so they
follow AWS exactly. A bad request becomes ``InvalidInputException`` with the model's Reason
and nothing is recorded.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any, Callable, Literal, Optional

import botocore.session
from botocore.model import Shape
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, create_model

from ledger.errors import InvalidInputException, SerializationException

# pydantic error type -> InvalidInputException Reason (the model's enum spellings).
_REASONS = {
    "missing": "INPUT_REQUIRED",
    "string_too_short": "MIN_LENGTH_EXCEEDED",
    "too_short": "MIN_LENGTH_EXCEEDED",
    "string_too_long": "MAX_LENGTH_EXCEEDED",
    "too_long": "MAX_LENGTH_EXCEEDED",
    "string_pattern_mismatch": "INVALID_PATTERN",
    "literal_error": "INVALID_ENUM",
    "greater_than_equal": "MIN_VALUE_EXCEEDED",
    "less_than_equal": "MAX_VALUE_EXCEEDED",
}
_ANY_TEXT = "[\\s\\S]*"
_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_SERVICE_PRINCIPAL = re.compile(r"[A-Za-z0-9_+=,.@-]+")  # the model's [\w+=,.@-]*, in ASCII, whole
_AWS_SERVICE = re.compile(r"([a-z0-9-]+\.)+amazonaws\.com")


class Request(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")


@cache
def service_model() -> Any:
    return botocore.session.get_session().get_service_model("organizations")


def _python_type(shape: Shape, models: dict[str, type[Request]]) -> Any:
    meta = shape.metadata
    if shape.type_name == "string":
        if shape.enum:
            return Literal[tuple(shape.enum)]
        pattern = meta.get("pattern")
        return Annotated[str, StringConstraints(
            min_length=meta.get("min"), max_length=meta.get("max"),
            pattern=None if pattern in (None, _ANY_TEXT) else pattern,
        )]
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
    if target.Type == "ACCOUNT" and not _ACCOUNT_ID.match(target.Id):
        raise InvalidInputException("Target.Id must be a 12-digit account id.", "INVALID_PATTERN")
    if target.Type == "EMAIL" and not (6 <= len(target.Id) <= 64 and _EMAIL.match(target.Id)):
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
    """AWS knows its services; we know their principals' form (``<service>.amazonaws.com``)."""
    principal = request.ServicePrincipal
    if not _SERVICE_PRINCIPAL.fullmatch(principal):
        raise InvalidInputException(f"Invalid value for ServicePrincipal: {principal!r}.", "INVALID_PATTERN")
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
    reason = _REASONS.get(first["type"])
    if reason == "INVALID_ENUM" and first["loc"][-1:] == ("PolicyType",):
        reason = "INVALID_ENUM_POLICY_TYPE"
    if reason is None:
        return SerializationException(f"{where}: {first['msg']}")
    return InvalidInputException(f"Invalid value for {where}: {first['msg']}.", reason)
