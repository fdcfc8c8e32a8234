"""Throw-away PostgreSQL databases for tests, on the server of HANDSHAKE_LEDGER_TEST_POSTGRES.

The server URL must name a role that may CREATE DATABASE (default: the ``postgres``
superuser on 127.0.0.1, which .ci/run lets in without a password).
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import Iterator
from urllib.parse import urlparse, urlunparse

import psycopg
from psycopg import sql

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("HANDSHAKE_LEDGER_TEST_POSTGRES") or DEFAULT_SERVER


def with_database(url: str, dbname: str) -> str:
    return urlunparse(urlparse(url)._replace(path="/" + dbname))


def check_server() -> None:
    """Raise (never skip) when the server under test can't be reached."""
    with psycopg.connect(server_url(), autocommit=True, connect_timeout=5) as conn:
        conn.execute("SELECT 1")


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a brand-new, empty database; dropped afterwards with its connections."""
    server = server_url()
    dbname = f"hl_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    try:
        yield with_database(server, dbname)
    finally:
        with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
