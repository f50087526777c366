"""The endpoint's captured requests in a Kafka topic read back as rows, and the labels that arrive
later for them (`captured.py`: the same on Redis).

Captures are read as any Kafka source is (claims, acknowledged after the run succeeded, a capture
that cannot become rows moved to the dead-letter topic). Labels are messages of their own topic,
keyed by `<request id>/<row>` (`core.capture.label_key`), the latest of a key winning: the topic is
read whole at each run, as a table, so a label may arrive before or after its capture is read.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from core.errors import DataSourceError
from core.sources import CapturedSource, Login
from stacks.streams.base import NamedLock, unshared
from stacks.streams.kafka_streams import (
    KafkaStreamReader,
    consumer_settings,
    kafka_errors,
    message_record,
    poll_partitions,
)
from stacks.streams.records import UnreadableRecord, capture_rows


class CapturedKafkaReader(KafkaStreamReader):
    def __init__(
        self,
        source: CapturedSource,
        login: Login | None,
        consumer: str | None = None,
        lock: NamedLock = unshared,
    ) -> None:
        super().__init__(source.as_kafka(), login, consumer, lock)
        self.captured = source

    def _rows(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        return capture_rows(record)

    def labels(self, keys: Sequence[str]) -> list[Any]:
        """The label of each key, or None where none has arrived yet."""
        topic = self.captured.labels_key()
        with kafka_errors(f"{self.label}: cannot read labels '{topic}'"):
            partitions = self._partitions(topic)
            if partitions is None:
                return [None] * len(keys)
            table: dict[str, Any] = {}
            reader = self._clients.enter_context(
                Consumer(self.settings | consumer_settings(f"{topic}.reader"))
            )
            starts = [TopicPartition(topic, partition, OFFSET_BEGINNING) for partition in partitions]
            messages, complete = poll_partitions(reader, starts, sys.maxsize, 0.0)
            if not complete:
                raise DataSourceError(f"{self.label}: the labels topic '{topic}' reported no end")
            for message in messages:
                try:
                    table[(message.key() or b"").decode()] = message_record(message.value())["label"]
                except (UnreadableRecord, KeyError, UnicodeDecodeError):
                    continue  # not a label: `run.py labels` writes every one
        return [table.get(key) for key in keys]

    def add_labels(self, labels: dict[str, Any]) -> None:
        """Store labels by key (a later label for a key replaces the earlier)."""
        topic = self.captured.labels_key()
        with kafka_errors(f"{self.label}: cannot write labels '{topic}'"):
            if self._partitions(topic) is None:
                self._create(topic, partitions=1)  # a table of labels, read whole at each run
            messages: list[tuple[Any, Any, list[tuple[str, Any]]]] = [
                (json.dumps({"label": value}), key, []) for key, value in labels.items()
            ]
            self._produce(topic, messages)
