"""Browser tests: the real server on 127.0.0.1 with a demo ledger, Debian's headless Chromium driven
by Playwright (``executable_path``: Playwright's own browser download is never used). Without
chromium they are skipped, and say why; on CI (``CI`` set) that is a failure instead.

``HANDSHAKE_LEDGER_SCREENSHOTS=docs/screenshots`` keeps a screenshot of each page there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.conftest import new_location
from tests.e2e.conftest import ROOT, Server

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]
DEMO_HANDSHAKES = "120"
MANAGEMENT_KEY = ("AKIADEMOMANAGEMENT01", "management-secret")  # account 100000000001 (the demo's first)
MEMBER_KEY = ("AKIADEMOMEMBER000001", "member-secret")  # account 200000000001
VIEWPORT = {"width": 1400, "height": 900}


def chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found is None:
        message = "no chromium: apt-get install chromium (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A demo ledger (six weeks of every kind of handshake), seeded once by the CLI."""
    with new_location(tmp_path_factory.mktemp("webui")) as location:
        subprocess.run([sys.executable, "-m", "ledger.entrypoints.cli", "demo", "--data", location,
                        "--handshakes", DEMO_HANDSHAKES], cwd=ROOT, check=True, capture_output=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
        yield location


@pytest.fixture(scope="session")
def server(demo_data: str) -> Iterator[Server]:
    running = Server(demo_data).start()
    yield running
    assert running.stop() == 0


@pytest.fixture(scope="session")
def strict_server(demo_data: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The same ledger with --strict: keys only, so the accounts file registers nothing."""
    accounts = tmp_path_factory.mktemp("strict") / "accounts.toml"
    lines = []
    for account, (key, secret) in (("100000000001", MANAGEMENT_KEY), ("200000000001", MEMBER_KEY)):
        lines += ["[[accounts]]", f'id = "{account}"', "", "[[accounts.keys]]", f'access_key_id = "{key}"',
                  f'secret_access_key = "{secret}"', ""]
    accounts.write_text("\n".join(lines))
    running = Server(demo_data, accounts=accounts, strict=True).start()
    yield running
    assert running.stop() == 0


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], errors  # no script failed on any page


def screenshot(page: Any, name: str) -> None:
    """Keep a picture of the page for the README when HANDSHAKE_LEDGER_SCREENSHOTS names a folder."""
    folder = os.environ.get("HANDSHAKE_LEDGER_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))
