"""What a newcomer meets first on the command line: ``--version``, and errors in one readable line
(a negative instant that isn't one, a PostgreSQL server that isn't there)."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from ledger.entrypoints.cli import build_parser, instant_options, joined_instants
from tests.cli.runner import cli
from tests.cli.test_errors import one_line
from tests.e2e import test_as_of
from tests.e2e.conftest import free_port


def test_version_comes_from_the_package_metadata() -> None:
    done = cli("--version")
    assert (done.code, done.out, done.err) == (0, f"handshake-ledger {metadata.version('handshake-ledger')}\n", "")


@pytest.mark.parametrize("args", [
    ("list", "--account", "111111111111", "--as-of", "-3x"),
    ("show", "h-0123456789", "--as-of", "-3x"),
    ("history", "h-0123456789", "--as-of", "-1.5d"),
    ("analytics", "--as-of", "-3x"),
    ("diff", "--from", "-3x"),
    ("diff", "--from", "-3d", "--to", "-2y"),
    ("cloudtrail", "export", "out", "--from", "-3x"),
    ("cloudtrail", "export", "out", "--to", "-7"),
])
def test_a_negative_instant_is_judged_as_an_instant(tmp_path: Path, args: tuple[str, ...]) -> None:
    """Not argparse's "expected one argument": the instant's own words, whichever option takes one."""
    message = one_line(cli(*args, "--data", str(tmp_path / "none")), 2)
    assert message.startswith("argument --") and "invalid instant '-" in message, message
    assert not (tmp_path / "none").exists()


def test_every_instant_option_is_joined() -> None:
    assert instant_options(build_parser()) == {"--as-of", "--from", "--to"}
    assert joined_instants(["list", "--as-of", "-3x", "--account", "-1"], {"--as-of"}) == [
        "list", "--as-of=-3x", "--account", "-1"]


def test_a_postgresql_connection_error_is_one_readable_line() -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    for args in (("list", "--account", "111111111111"), ("analytics",)):
        message = one_line(cli(*args, "--data", url), 1)
        assert "Connection refused" in message and "\\n" not in message and "\\t" not in message, message
        assert "  " not in message


def test_the_js_sdk_skip_says_where_to_run_npm_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(test_as_of, "JS", tmp_path)
    monkeypatch.setattr(test_as_of.shutil, "which", lambda name: "/usr/bin/node")
    reason = test_as_of.js_sdk_missing()
    assert reason is not None and f"run `npm ci` in {tmp_path}" in reason and "cd tests/e2e/js && npm ci" in reason
    (tmp_path / "node_modules").mkdir()
    assert test_as_of.js_sdk_missing() is None
