"""NextToken: opaque, tamper-evident, keyset-based, bound to caller, operation and filter.

The token carries the sort key of the last item served, so a page never repeats or skips
an item when handshakes are added meanwhile (decision 17). An HMAC with a secret kept in
the data makes forged, altered or foreign tokens detectable.

Form: ``<signature>.<base64url JSON>``, the signature first so that the token as a whole never
decodes as base64 JSON: botocore's paginators take a StartingToken that does for a token of their
own making (``{"NextToken": ...}``), and would read ours so and send its fields as parameters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from ledger.errors import InvalidInputException


class TokenCodec:
    def __init__(self, secret: bytes):
        self._secret = secret

    def issue(self, scope: dict[str, Any], key: list[Any]) -> str:
        body = base64.urlsafe_b64encode(json.dumps({"s": scope, "k": key}, separators=(",", ":")).encode()).decode()
        return f"{self._sign(body)}.{body}"

    def read(self, token: str, scope: dict[str, Any]) -> list[Any]:
        """The key a token carries, if it was issued by us for this very scope; any other text,
        whatever its characters, is INVALID_NEXT_TOKEN."""
        signature, _, body = token.partition(".")
        try:
            if not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
                raise self._invalid()
            data = json.loads(base64.urlsafe_b64decode(body.encode()))
        except (ValueError, UnicodeError):  # binascii.Error and JSONDecodeError are ValueErrors
            raise self._invalid() from None
        if not isinstance(data, dict) or data.get("s") != scope or not isinstance(data.get("k"), list):
            raise self._invalid()
        return list(data["k"])

    def _sign(self, body: str) -> str:
        return hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()[:32]

    @staticmethod
    def _invalid() -> InvalidInputException:
        return InvalidInputException("The NextToken value is not valid for this request.", "INVALID_NEXT_TOKEN")
