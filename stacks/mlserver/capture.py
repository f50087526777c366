"""Inference capture off the request path, inside MLServer (copied beside the runtime).

A request only puts what it saw and answered in a bounded queue and never waits: when the queue is
full (the stream is slow or down), the capture is dropped and counted. A thread takes captures
from the queue, turns them into records (`capture_records.py`, a copy of `core/capture.py`) and
sends them in batches to a Redis stream (trimmed to about `max_entries`) or a Kafka topic, by the
URL's scheme. What was written and what was dropped, and why, are Prometheus counters on MLServer's
metrics endpoint.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from capture_records import capture_record, encoded_batch
from metrics_compat import shared_counter

SETTINGS_FILE = "capture.json"
PASSWORD_FILE = ".capture-password"  # owner-only, beside the settings
WRITE_BATCH = 50  # captures per stream entry (Kafka message): about 40 KB at 30 features
FLUSH_SECONDS = 0.05  # how often the writer takes what requests left
RETRY_SECONDS = 1.0  # wait after the stream failed, before the next batch
DELIVERY_SECONDS = 10.0  # a Kafka message not delivered by then is counted as not captured

CAPTURED_METRIC = "model_captured_requests"
DROPPED_METRIC = "model_capture_dropped_requests"


CAPTURED = shared_counter(CAPTURED_METRIC, "Requests captured to the stream", ["model"])
DROPPED = shared_counter(
    DROPPED_METRIC, "Requests not captured: buffer_full or stream_down", ["model", "reason"]
)


@dataclass(frozen=True)
class CaptureSettings:
    url: str
    username: str | None
    stream: str
    rate: float
    buffer: int
    max_entries: int
    password: str | None

    @classmethod
    def read(cls, repository: Path) -> CaptureSettings | None:
        """The settings the deployer wrote into the repository, or None: capture is off."""
        path = repository / SETTINGS_FILE
        if not path.exists():
            return None
        settings = json.loads(path.read_text(encoding="utf-8"))
        secret = repository / PASSWORD_FILE
        password = secret.read_text(encoding="utf-8").strip() if secret.exists() else None
        return cls(password=password or None, **settings)


class CaptureWriter:
    """Captures of one model's requests, written by a thread of their own.

    A request serialises its capture (orjson: a few microseconds) and appends it to a deque (no
    lock, no wake-up); every `FLUSH_SECONDS` the thread takes what has gathered and sends it, in
    one round trip, as entries of up to `WRITE_BATCH` captures each.
    """

    def __init__(self, settings: CaptureSettings, model: str) -> None:
        self.settings = settings
        self.model = model
        self._pending: deque[bytes] = deque()  # serialised captures
        sink = _KafkaSink if settings.url.startswith("kafka://") else _RedisSink
        self._sink = sink(settings, model)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._write_forever, name="capture-writer", daemon=True)
        self._thread.start()

    def offer(
        self, request_id: str, version: str | None, inputs: dict[str, list[Any]], predictions: np.ndarray
    ) -> None:
        """Keep the request's capture (sampled at the rate): its columns as sent, and its answers,
        serialised at once (a few microseconds) so that nothing of the request stays alive for the
        writer. Dropped and counted if the buffer is full."""
        if self.settings.rate < 1.0 and random.random() >= self.settings.rate:
            return
        if len(self._pending) >= self.settings.buffer:
            DROPPED.labels(model=self.model, reason="buffer_full").inc()
            return
        capture = capture_record(request_id, version, inputs, predictions, time.time())
        self._pending.append(orjson.dumps(capture, default=_text, option=orjson.OPT_SERIALIZE_NUMPY))

    def close(self, timeout: float = 5.0) -> None:
        """Write what is buffered (within `timeout`), then stop."""
        self._stopping.set()
        self._thread.join(timeout)
        self._sink.close(timeout)

    def _write_forever(self) -> None:
        while not self._stopping.wait(FLUSH_SECONDS):
            self._write_pending()
        self._write_pending()

    def _write_pending(self) -> None:
        """Send what had gathered when the round began (requests go on appending), up to
        `WRITE_BATCH` captures to an entry."""
        entries = []
        waiting = len(self._pending)
        while waiting:
            batch = [self._pending.popleft() for _ in range(min(WRITE_BATCH, waiting))]
            waiting -= len(batch)
            entries.append((encoded_batch(batch), len(batch)))
        if entries and not self._sink.send(entries):
            self._stopping.wait(RETRY_SECONDS)


class _RedisSink:
    """Appends to a Redis stream, trimmed to about `max_entries`; a batch is written or not at all."""

    def __init__(self, settings: CaptureSettings, model: str) -> None:
        import redis

        self.settings = settings
        self.model = model
        account = {"username": settings.username, "password": settings.password} if settings.password else {}
        self._client = redis.Redis.from_url(
            settings.url, socket_timeout=5, socket_connect_timeout=2, **account
        )

    def send(self, entries: list[tuple[bytes, int]]) -> bool:
        """Append the entries (each with how many captures it holds) in one round trip; whether the
        stream took them (else they are counted as not captured)."""
        import redis

        pipe = self._client.pipeline(transaction=False)
        for payload, _ in entries:
            pipe.xadd(
                self.settings.stream, {"record": payload}, maxlen=self.settings.max_entries, approximate=True
            )
        captures = sum(count for _, count in entries)
        try:
            pipe.execute()
        except redis.RedisError:
            DROPPED.labels(model=self.model, reason="stream_down").inc(captures)
            return False
        CAPTURED.labels(model=self.model).inc(captures)
        return True

    def close(self, timeout: float) -> None:
        self._client.close()


class _KafkaSink:
    """Produces to a Kafka topic (made on first use); the client delivers in the background, and a
    message it could not deliver within `DELIVERY_SECONDS` is counted as not captured."""

    def __init__(self, settings: CaptureSettings, model: str) -> None:
        from confluent_kafka import Producer

        self.settings = settings
        self.model = model
        brokers = settings.url.removeprefix("kafka://").rstrip("/")
        client = {"bootstrap.servers": brokers, "logger": _QuietLog()}
        self._make_topic(client)
        self._producer = Producer(
            client
            | {
                "message.timeout.ms": int(DELIVERY_SECONDS * 1000),
                "queue.buffering.max.messages": settings.buffer,
                "linger.ms": 20,
            }
        )

    def send(self, entries: list[tuple[bytes, int]]) -> bool:
        """Hand the entries to the client, a message each; False if its queue is full (the rest
        are counted as not captured)."""
        handed = 0
        try:
            for payload, captures in entries:
                self._producer.produce(self.settings.stream, payload, on_delivery=self._delivered(captures))
                handed += 1
        except BufferError:
            DROPPED.labels(model=self.model, reason="stream_down").inc(sum(c for _, c in entries[handed:]))
            return False
        finally:
            self._producer.poll(0)  # serves the delivery reports
        return True

    def close(self, timeout: float) -> None:
        self._producer.flush(timeout)

    def _delivered(self, captures: int) -> Callable[[Any, Any], None]:
        def report(error: Any, message: Any) -> None:
            if error is None:
                CAPTURED.labels(model=self.model).inc(captures)
            else:
                DROPPED.labels(model=self.model, reason="stream_down").inc(captures)

        return report

    def _make_topic(self, client: dict[str, Any]) -> None:
        """The topic, if the brokers do not have it yet (one partition: make your own for more)."""
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

        admin = AdminClient(client)
        try:
            if self.settings.stream not in admin.list_topics(timeout=5).topics:
                new = NewTopic(self.settings.stream, num_partitions=1, replication_factor=-1)
                admin.create_topics([new], request_timeout=5)[self.settings.stream].result()
        except KafkaException:
            pass  # down or made meanwhile: the deliveries tell, and are counted


class _QuietLog:
    """librdkafka's log off MLServer's: a broker that is down is counted, not logged every 50 ms."""

    def log(self, level: int, message: str, *args: object) -> None:
        return None


def _text(value: Any) -> Any:
    """What orjson cannot write by itself: text sent as bytes, and a column of text (an object
    array, such as the answers of a model with string classes), as a list."""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, np.ndarray):
        return [v.decode(errors="replace") if isinstance(v, bytes) else v for v in value.tolist()]
    raise TypeError(f"cannot capture a {type(value).__name__}")
