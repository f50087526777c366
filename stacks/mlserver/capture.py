"""Inference capture off the request path, inside MLServer (copied beside the runtime).

A request only puts what it saw and answered in a bounded queue and never waits: when the queue is
full (the stream is slow or down), the capture is dropped and counted. A thread takes captures
from the queue, turns them into records (`capture_records.py`, a copy of `core/capture.py`) and
appends them to a Redis stream in batches, trimmed to about `max_entries`. What was written and
what was dropped, and why, are Prometheus counters on MLServer's metrics endpoint.
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from capture_records import capture_record
from prometheus_client import REGISTRY, Counter

SETTINGS_FILE = "capture.json"
PASSWORD_FILE = ".capture-password"  # owner-only, beside the settings
WRITE_BATCH = 500  # captures per round trip to the stream
RETRY_SECONDS = 1.0  # wait after the stream failed, before the next batch

CAPTURED_METRIC = "model_captured_requests"
DROPPED_METRIC = "model_capture_dropped_requests"


def _counter(name: str, documentation: str, labels: list[str]) -> Counter:
    """One counter per name: MLServer imports the runtime again on every model load."""
    existing = REGISTRY._names_to_collectors.get(name)  # no public lookup by name
    if existing is not None:
        return existing  # type: ignore[return-value]
    return Counter(name, documentation, labels)


CAPTURED = _counter(CAPTURED_METRIC, "Requests captured to the stream", ["model"])
DROPPED = _counter(DROPPED_METRIC, "Requests not captured: buffer_full or stream_down", ["model", "reason"])


@dataclass(frozen=True)
class CaptureSettings:
    url: str
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
    """Captures of one model's requests, written by a thread of their own."""

    def __init__(self, settings: CaptureSettings, model: str) -> None:
        import redis

        self.settings = settings
        self.model = model
        self._queue: queue.Queue[tuple[str, str | None, dict[str, np.ndarray], np.ndarray, float]] = (
            queue.Queue(maxsize=settings.buffer)
        )
        account = {"password": settings.password} if settings.password else {}
        self._client = redis.Redis.from_url(
            settings.url, socket_timeout=5, socket_connect_timeout=2, **account
        )
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._write_forever, name="capture-writer", daemon=True)
        self._thread.start()

    def offer(
        self, request_id: str, version: str | None, inputs: dict[str, np.ndarray], predictions: np.ndarray
    ) -> None:
        """Queue the request's capture (sampled at the rate); drop and count it if the queue is full."""
        if self.settings.rate < 1.0 and random.random() >= self.settings.rate:
            return
        try:
            self._queue.put_nowait((request_id, version, inputs, predictions, time.time()))
        except queue.Full:
            DROPPED.labels(model=self.model, reason="buffer_full").inc()

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (within `timeout`), then stop."""
        self._stopping.set()
        self._thread.join(timeout)
        self._client.close()

    def _write_forever(self) -> None:
        while not (self._stopping.is_set() and self._queue.empty()):
            batch = self._next_batch()
            if batch:
                self._write(batch)

    def _next_batch(self) -> list[tuple[str, str | None, dict[str, np.ndarray], np.ndarray, float]]:
        try:
            batch = [self._queue.get(timeout=0.2)]
        except queue.Empty:
            return []
        while len(batch) < WRITE_BATCH:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write(self, batch: list[tuple[str, str | None, dict[str, np.ndarray], np.ndarray, float]]) -> None:
        import redis

        pipe = self._client.pipeline(transaction=False)
        for request_id, version, inputs, predictions, at in batch:
            record = capture_record(
                request_id, version, {n: _plain(v) for n, v in inputs.items()}, _plain(predictions), at
            )
            pipe.xadd(
                self.settings.stream,
                {"record": json.dumps(record)},
                maxlen=self.settings.max_entries,
                approximate=True,
            )
        try:
            pipe.execute()
        except redis.RedisError:
            DROPPED.labels(model=self.model, reason="stream_down").inc(len(batch))
            self._stopping.wait(RETRY_SECONDS)
            return
        CAPTURED.labels(model=self.model).inc(len(batch))


def _plain(values: np.ndarray) -> list[Any]:
    """JSON-ready values: a missing number as null, bytes as text."""
    if values.dtype.kind == "f":
        return [None if v != v else v for v in values.tolist()]
    return [v.decode() if isinstance(v, bytes) else v for v in values.tolist()]
