"""A JSON transcoder that stores any ``datetime`` subclass as a datetime.

eventsourcing looks transcodings up by exact type; freezegun hands out ``FakeDatetime``
(a subclass), which would otherwise be refused when an event is saved inside ``freeze_time``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from eventsourcing.persistence import JSONTranscoder


class LenientDatetimeTranscoder(JSONTranscoder):
    def _encode_obj(self, o: Any) -> dict[str, Any]:
        # Looked up by name: under freezegun even this module's ``datetime`` may be patched.
        if isinstance(o, dt.date) and type(o) not in self.types and hasattr(o, "hour"):
            self.types[type(o)] = self.names["datetime_iso"]
        return super()._encode_obj(o)
