"""One exception per AWS Organizations error shape, named exactly as on the wire."""

from __future__ import annotations


class OrganizationsError(Exception):
    """An AWS error answer: ``code`` is the shape name, ``reason`` only on shapes that model it."""

    status = 400
    has_reason = False
    default_message = ""

    def __init__(self, message: str | None = None, reason: str | None = None) -> None:
        self.message = message or self.default_message or self.code
        self.reason = reason if self.has_reason else None
        super().__init__(self.message)

    @property
    def code(self) -> str:
        return type(self).__name__

    def to_wire(self) -> dict[str, str]:
        body = {"__type": self.code, "Message": self.message}
        if self.reason is not None:
            body["Reason"] = self.reason
        return body

    def __str__(self) -> str:
        reason = f" ({self.reason})" if self.reason else ""
        return f"{self.code}{reason}: {self.message}"


class _WithReason(OrganizationsError):
    has_reason = True


class AWSOrganizationsNotInUseException(OrganizationsError):
    default_message = "Your account is not a member of an organization."


class AccessDeniedException(OrganizationsError):
    default_message = "You don't have permissions to perform the requested operation."


class AccessDeniedForDependencyException(_WithReason):
    pass


class AccountNotFoundException(OrganizationsError):
    default_message = "We can't find an AWS account with the AccountId that you specified."


class AccountOwnerNotVerifiedException(OrganizationsError):
    pass


class AlreadyInOrganizationException(OrganizationsError):
    default_message = "This account is already a member of an organization."


class ConcurrentModificationException(OrganizationsError):
    default_message = "The target of the operation is currently being modified by a different request. Try again later."


class ConstraintViolationException(_WithReason):
    pass


class DuplicateHandshakeException(OrganizationsError):
    default_message = "A handshake with the same action and target already exists."


class FinalizingOrganizationException(OrganizationsError):
    pass


class HandshakeAlreadyInStateException(OrganizationsError):
    pass


class HandshakeConstraintViolationException(_WithReason):
    pass


class HandshakeNotFoundException(OrganizationsError):
    default_message = "We can't find a handshake with the HandshakeId that you specified."


class InvalidHandshakeTransitionException(OrganizationsError):
    pass


class InvalidInputException(_WithReason):
    pass


class MasterCannotLeaveOrganizationException(OrganizationsError):
    default_message = "You can't remove a management account from an organization."


class OrganizationNotEmptyException(OrganizationsError):
    default_message = "The organization isn't empty. Remove all member accounts first."


class TooManyRequestsException(OrganizationsError):
    pass


class PolicyChangesInProgressException(OrganizationsError):
    pass


class PolicyTypeAlreadyEnabledException(OrganizationsError):
    default_message = "The specified policy type is already enabled in the specified root."


class PolicyTypeNotAvailableForOrganizationException(OrganizationsError):
    default_message = (
        "You can't use the specified policy type with the feature set currently enabled for this organization."
    )


class PolicyTypeNotEnabledException(OrganizationsError):
    default_message = "The specified policy type isn't currently enabled in this root."


class RootNotFoundException(OrganizationsError):
    default_message = "We can't find a root with the RootId that you specified."


class UnsupportedAPIEndpointException(OrganizationsError):
    pass


class ResponsibilityTransferNotFoundException(OrganizationsError):
    default_message = "We can't find a transfer that you specified."


class ResponsibilityTransferAlreadyInStatusException(OrganizationsError):
    default_message = "The responsibility transfer is already in the status that you specified."


class InvalidResponsibilityTransferTransitionException(OrganizationsError):
    default_message = ("The responsibility transfer can't transition to the requested state because it's not in a "
                       "valid state for this operation.")


class ServiceException(OrganizationsError):
    status = 500
    default_message = "AWS Organizations can't complete your request because of an internal service error."


# Protocol-level errors: not Organizations shapes, but what AWS JSON services answer.
class UnknownOperationException(OrganizationsError):
    pass


class SerializationException(OrganizationsError):
    pass


class UnrecognizedClientException(OrganizationsError):
    status = 403
    default_message = "The security token included in the request is invalid."


class InvalidSignatureException(OrganizationsError):
    status = 403
    default_message = "The request signature we calculated does not match the signature you provided."


# HTTP-level refusals (decision 2: whatever bytes arrive, an AWS-style answer).
class MethodNotAllowedException(OrganizationsError):
    status = 405


class RequestTimeoutException(OrganizationsError):
    status = 408
    default_message = "The request was not received in time; the connection is closed."


class RequestEntityTooLargeException(OrganizationsError):
    status = 413


class RequestHeaderFieldsTooLargeException(OrganizationsError):
    status = 431


class ServiceUnavailableException(OrganizationsError):
    status = 503
    default_message = "The server is at its connection limit; try again later."


def error_classes() -> dict[str, type[OrganizationsError]]:
    """Every concrete error by its wire code."""
    found: dict[str, type[OrganizationsError]] = {}
    pending = list(OrganizationsError.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if not cls.__name__.startswith("_"):
            found[cls.__name__] = cls
    return found
