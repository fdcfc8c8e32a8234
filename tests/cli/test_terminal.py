"""Control characters stored in the data (recorded before decision 2 refused them) never reach the
operator's terminal: history, show and list print them as escapes."""

from __future__ import annotations

import pytest

from ledger import open_ledger
from ledger.service_layer.application import Caller
from ledger.entrypoints.cli_format import printable
from tests.cli.runner import cli
from tests.conftest import MANAGEMENT

HOSTILE = "ops\x1b[2J\x1b]0;pwned\x07\x00\x7f\x9b31m@example.com"


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A ledger holding an EMAIL invitation whose address carries escape sequences (the domain
    layer is called directly: the wire refuses such an address today)."""
    data = str(tmp_path_factory.mktemp("legacy") / "data")
    with open_ledger(data) as ledger:
        ledger.app.create_organization(Caller(MANAGEMENT))
        handshake = ledger.app.invite_account_to_organization(Caller(MANAGEMENT), "EMAIL", HOSTILE)
        ledger.catch_up()
    return data, str(handshake.id)


@pytest.mark.parametrize("command", [("history", "{id}"), ("show", "{id}"),
                                     ("list", "--organization", "--account", MANAGEMENT)],
                         ids=["history", "show", "list"])
def test_no_control_character_reaches_the_terminal(legacy: tuple[str, str], command: tuple[str, ...]) -> None:
    data, handshake_id = legacy
    shown = cli(*(part.format(id=handshake_id) for part in command), "--data", data)
    assert shown.code == 0, shown.err
    assert "ops\\x1b[2J\\x1b]0;pwned\\x07\\x00\\x7f\\x9b31m@example.com" in shown.out
    assert [c for c in shown.out if ord(c) < 32 and c != "\n" or 0x7F <= ord(c) <= 0x9F] == []


def test_json_output_escapes_them_too(legacy: tuple[str, str]) -> None:
    data, handshake_id = legacy
    shown = cli("show", handshake_id, "--data", data, "--json")
    assert shown.json()["Handshake"]["Parties"][1]["Id"] == HOSTILE
    assert shown.out.isascii() and "\x1b" not in shown.out


def test_printable_leaves_ordinary_text_alone() -> None:
    assert printable("Jürgen Müller <j@b.io> 100%") == "Jürgen Müller <j@b.io> 100%"
    assert printable("a\tb\nc") == "a\\tb\\nc"


def test_error_messages_are_escaped_too(legacy: tuple[str, str]) -> None:
    shown = cli("history", "h-\x1b[2Jnothing", "--data", legacy[0])
    assert shown.code == 2 and "\x1b" not in shown.err and "INVALID_PATTERN" in shown.err
