"""NextToken: opaque, tamper-evident, keyset-based, bound to caller, operation and filter.

The token carries the sort key of the last item served, so a page never repeats or skips
an item when handshakes are added meanwhile (decision 17). An HMAC with a secret kept in
the data makes forged, altered or foreign tokens detectable.

Form: ``<signature>.<base64url of nonce + sealed JSON>``, the signature first so that the token as a
whole never decodes as base64 JSON: botocore's paginators take a StartingToken that does for a token
of their own making (``{"NextToken": ...}``), and would read ours so and send its fields as
parameters. The JSON is sealed (XOR with an HMAC-SHA256 keystream of the secret and a random nonce,
then signed): the keys and pinned moments a token carries (log and audit positions, instants) count
every account's events, which the caller may not see (docs/strict-mode.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Any

from ledger.domain.errors import InvalidInputException


NONCE_BYTES = 12


class TokenCodec:
    def __init__(self, secret: bytes):
        self._secret = secret

    def issue(self, scope: dict[str, Any], key: list[Any], pinned: list[int] | None = None) -> str:
        """A token for the page after ``key``; ``pinned``: the moment (position, instant in µs) the
        next pages must read, when it was asked for relative to when it was asked (``/as-of/-3d``)."""
        data = {"s": scope, "k": key, **({"m": pinned} if pinned else {})}
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keystream_xor(nonce, json.dumps(data, separators=(",", ":")).encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{self._sign(body)}.{body}"

    def read(self, token: str, scope: dict[str, Any]) -> list[Any]:
        """The key a token carries, if it was issued by us for this very scope; any other text,
        whatever its characters, is INVALID_NEXT_TOKEN."""
        data = self._verified(token)
        if data.get("s") != scope or not isinstance(data.get("k"), list):
            raise self._invalid()
        return list(data["k"])

    def pinned(self, token: str) -> tuple[int, int] | None:
        """The moment a token of ours pins (position, instant in µs), if any; None for any other text."""
        try:
            moment = self._verified(token).get("m")
        except InvalidInputException:
            return None
        if isinstance(moment, list) and len(moment) == 2 and all(type(part) is int for part in moment):
            return moment[0], moment[1]
        return None

    def _verified(self, token: str) -> dict[str, Any]:
        signature, _, body = token.partition(".")
        try:
            if not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
                raise self._invalid()
            raw = base64.urlsafe_b64decode(body.encode())
            data = json.loads(self._keystream_xor(raw[:NONCE_BYTES], raw[NONCE_BYTES:]))
        except (ValueError, UnicodeError):  # binascii.Error and JSONDecodeError are ValueErrors
            raise self._invalid() from None
        if not isinstance(data, dict):
            raise self._invalid()
        return data

    def _keystream_xor(self, nonce: bytes, data: bytes) -> bytes:
        """``data`` XOR HMAC-SHA256(secret, "seal" + nonce + counter) blocks: sealing and unsealing alike."""
        stream = b"".join(hmac.new(self._secret, b"seal" + nonce + n.to_bytes(4, "big"), hashlib.sha256).digest()
                          for n in range(len(data) // 32 + 1))
        return bytes(a ^ b for a, b in zip(data, stream))

    def _sign(self, body: str) -> str:
        return hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()[:32]

    @staticmethod
    def _invalid() -> InvalidInputException:
        return InvalidInputException("The NextToken value is not valid for this request.", "INVALID_NEXT_TOKEN")
