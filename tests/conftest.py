"""Shared fixtures. The store is chosen by HANDSHAKE_LEDGER_TEST_STORE (sqlite, the default,
or postgres with HANDSHAKE_LEDGER_TEST_POSTGRES=postgresql://...)."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import freezegun
import pytest

from ledger import open_ledger
from ledger.service_layer.application import Limits

MANAGEMENT = "111111111111"
ALICE = "222222222222"
BOB = "333333333333"
OUTSIDER = "444444444444"

# psycopg's pool keeps house on threads timed by time.monotonic: under freeze_time they never
# see time pass, and closing each pool then waits out its timeout (seconds per ledger).
freezegun.configure(extend_ignore_list=["psycopg_pool", "psycopg"])


def store_kind() -> str:
    return os.environ.get("HANDSHAKE_LEDGER_TEST_STORE", "sqlite")


@contextmanager
def new_location(folder: Path) -> Iterator[str]:
    """A fresh, empty data location on the store under test (a new database, or a folder in ``folder``)."""
    if store_kind() == "postgres":
        from tests.pg import fresh_database

        with fresh_database() as url:
            yield url
    else:
        yield str(folder / f"data-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def data_location(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty data location on the store under test."""
    with new_location(tmp_path) as location:
        yield location


@pytest.fixture
def ledger(data_location: str):
    with open_ledger(data_location) as opened:
        yield opened


@pytest.fixture
def memory_ledger():
    with open_ledger(":memory:") as opened:
        yield opened


@pytest.fixture
def small_limits() -> Limits:
    return Limits(accounts_per_organization=10, invitations_per_day=20)
