"""One demo ledger per test module, seeded by the ``demo`` command itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from tests.cli.runner import cli


@dataclass(frozen=True)
class Demo:
    data: str
    summary: dict[str, Any]

    def run(self, *args: str) -> Any:
        return cli(*args, "--data", self.data)

    def tried(self, label: str) -> str:
        return str(self.summary["Try"][label])

    def organization(self, feature_set: str = "ALL") -> dict[str, Any]:
        return next(o for o in self.summary["Organizations"] if o["FeatureSet"] == feature_set)

    def expiry(self) -> datetime:
        return datetime.fromisoformat(self.summary["Expiry"]["ExpirationTimestamp"])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    data = str(tmp_path_factory.mktemp("cli") / "ledger")
    seeded = cli("demo", "--data", data, "--json")
    assert seeded.code == 0, seeded.err
    return Demo(data, seeded.json())
