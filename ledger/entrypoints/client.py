"""An in-process client with boto3's face: snake_case methods, boto3's keyword arguments,
boto3's answers (timestamps as aware datetimes), errors under ``client.exceptions``."""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any, Callable

from botocore import xform_name

from ledger import errors
from ledger.application import Caller
from ledger.commands import service_model


@cache
def operation_names() -> dict[str, str]:
    """boto3 method name -> AWS operation name, for every Organizations operation."""
    return {xform_name(name): name for name in service_model().operation_names}


class LedgerClient:
    exceptions = errors

    def __init__(self, ledger: Any, account_id: str):
        self.ledger = ledger
        self.account_id = account_id

    def __getattr__(self, method: str) -> Callable[..., dict[str, Any]]:
        operation = operation_names().get(method)
        if operation is None:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{method}'")

        def call(**params: Any) -> dict[str, Any]:
            request_id = str(uuid.uuid4())
            answer = self.ledger.call(operation, params, Caller(self.account_id, request_id))
            answer["ResponseMetadata"] = {"RequestId": request_id, "HTTPStatusCode": 200}
            return answer

        call.__name__ = method
        return call

    def get_paginator(self, method: str) -> Paginator:
        return Paginator(getattr(self, method))


class Paginator:
    """Follows NextToken like boto3's paginators do."""

    def __init__(self, call: Callable[..., dict[str, Any]]):
        self._call = call

    def paginate(self, **params: Any) -> Any:
        token = None
        while True:
            page = self._call(**params, **({"NextToken": token} if token else {}))
            yield page
            token = page.get("NextToken")
            if not token:
                return
