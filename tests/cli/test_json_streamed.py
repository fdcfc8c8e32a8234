"""`diff --json` is written change by change: the text equals the JSON of the whole answer at once."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from ledger.entrypoints import cli_format as fmt

WHEN = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("items", [[], [{"a": 1, "b": [1, {"c": WHEN}]}], [{"x": None}, {"y": "z\nw", "n": []}]])
def test_streamed_json_is_the_whole_answers_json(items: list[Any]) -> None:
    head = {"From": WHEN, "To": WHEN}
    assert "".join(fmt.json_streamed(head, "Changes", iter(items))) == fmt.as_json({**head, "Changes": items})
