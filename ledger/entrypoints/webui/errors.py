"""The UI's refusals: each a 4xx page (a client's fault is never a 5xx)."""

from __future__ import annotations


class PageError(Exception):
    """A page the UI can't show; ``status`` is its HTTP status, the message is shown as text."""

    status = 400
    title = "Bad request"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(PageError):
    pass


class NotFound(PageError):
    status, title = 404, "Not found"


class Unauthorized(PageError):
    """Strict mode without a valid access key and secret (HTTP Basic)."""

    status, title = 401, "Sign in"


class MethodNotAllowed(PageError):
    status, title = 405, "Method not allowed"


class Misdirected(PageError):
    """A ``Host`` that is not this server's (``hosts.py``): a page of another site rebound to it."""

    status, title = 421, "Misdirected request"
