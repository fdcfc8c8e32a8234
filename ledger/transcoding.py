"""A JSON transcoder that stores any ``datetime`` subclass as a datetime.

eventsourcing looks transcodings up by exact type; freezegun hands out ``FakeDatetime``
(a subclass), which would otherwise be refused when an event is saved inside ``freeze_time``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.persistence import JSONTranscoder


class LenientDatetimeTranscoder(JSONTranscoder):
    def _encode_obj(self, o: Any) -> dict[str, Any]:
        if isinstance(o, datetime) and type(o) is not datetime and type(o) not in self.types:
            self.types[type(o)] = self.types[datetime]
        return super()._encode_obj(o)
