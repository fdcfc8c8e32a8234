"""The bulk demo's events as stored events' rows, the bytes ``mapper.to_stored_event`` would store.

eventsourcing's JSONTranscoder encodes with the json module (compact separators, ``ensure_ascii``
off, datetimes through the transcoder's ``{"_type_": ..., "_data_": ...}`` wrapping). orjson writes
the same bytes for what the bulk demo's events hold (str, int, bool, None, lists and dicts of them,
datetimes handed back to the transcoder), in insertion order. It would not for a float, a UUID or an
enum (orjson writes those natively): ``encodes_like_mapper`` checks one event of every topic
against the mapper before the bulk is written, and the mapper writes any topic that differs.
"""

from __future__ import annotations

from typing import Any

import orjson
from eventsourcing.utils import get_topic

from ledger.storage.bulk import Row

OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


class BulkEncoder:
    """``encode(events) -> list[Row]``: ``(originator_id, originator_version, topic, state)`` as
    ``mapper.to_stored_event`` makes them, byte for byte.

    Falls back to the mapper for a mapper that compresses or enciphers, and for any topic whose first
    event orjson would encode differently (checked once per topic: a ``class_version`` above 1, which
    the mapper adds to the state, differs too).
    """

    def __init__(self, mapper: Any):
        self.mapper = mapper
        self.default = mapper.transcoder._encode_obj
        self.plain = mapper.compressor is None and mapper.cipher is None and hasattr(mapper.transcoder, "_encode_obj")
        self._fast: dict[type, str | None] = {}  # event class -> its topic if orjson agrees, else None

    def encode(self, events: list[Any]) -> list[Row]:
        if not self.plain:
            return [self._mapped(event) for event in events]
        stored: list[Row] = []
        fast, default = self._fast, self.default
        for event in events:
            cls = type(event)
            topic = fast[cls] if cls in fast else self._check(event)
            if topic is None:
                stored.append(self._mapped(event))
                continue
            state = dict(vars(event))
            originator_id, version = state.pop("originator_id"), state.pop("originator_version")
            stored.append((originator_id, version, topic, orjson.dumps(state, default=default, option=OPTIONS)))
        return stored

    def _mapped(self, event: Any) -> Row:
        stored = self.mapper.to_stored_event(event)
        return stored.originator_id, stored.originator_version, stored.topic, stored.state

    def _check(self, event: Any) -> str | None:
        """The topic if orjson encodes this event as the mapper does, else None (the mapper's way)."""
        expected = self.mapper.to_stored_event(event)
        state = dict(vars(event))
        state.pop("originator_id"), state.pop("originator_version")
        try:
            same = orjson.dumps(state, default=self.default, option=OPTIONS) == expected.state
        except (TypeError, orjson.JSONEncodeError):
            same = False
        topic = get_topic(type(event)) if same else None
        self._fast[type(event)] = topic
        return topic
