"""The endpoint's captured requests in Redis (`stacks/mlserver/capture.py` writes them) read back
as rows, and the labels that arrive later for them (`captured_kafka.py`: the same on Kafka).

Captures are read like any Redis stream (a consumer per run, acknowledged after the run succeeded,
a capture that cannot become rows moved to the dead letter); labels live in a hash keyed by
`<request id>/<row>` (`core.capture.label_key`), so a label may arrive before or after its
capture is read, and is joined by whichever run reads the capture.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from core.sources import CapturedSource
from stacks.streams.records import capture_rows, parse_record
from stacks.streams.redis_streams import RedisStreamReader, redis_errors

LOOKUP_CHUNK = 10_000  # keys per HMGET / HSET


class CapturedReader(RedisStreamReader):
    source: CapturedSource

    def _rows(self, raw: str) -> list[dict[str, Any]]:
        return capture_rows(parse_record(raw))

    def labels(self, keys: Sequence[str]) -> list[Any]:
        """The label of each key, or None where none has arrived yet."""
        found: list[Any] = []
        with redis_errors(f"{self.label}: cannot read labels '{self.source.labels_key()}'"):
            for start in range(0, len(keys), LOOKUP_CHUNK):
                chunk = list(keys[start : start + LOOKUP_CHUNK])
                values: Any = self.client.hmget(self.source.labels_key(), chunk)
                found += [None if value is None else json.loads(value) for value in values]
        return found

    def add_labels(self, labels: dict[str, Any]) -> None:
        """Store labels by key (a later label for a key replaces the earlier)."""
        items = list(labels.items())
        with redis_errors(f"{self.label}: cannot write labels '{self.source.labels_key()}'"):
            for start in range(0, len(items), LOOKUP_CHUNK):
                chunk: dict[Any, str] = {k: json.dumps(v) for k, v in items[start : start + LOOKUP_CHUNK]}
                self.client.hset(self.source.labels_key(), mapping=chunk)
