"""Redis Streams through a consumer group (XREADGROUP, XACK), with redis-py.

A run reads this consumer's pending entries (delivered to a run that did not succeed) before new
ones, and acknowledges none of them: the launcher does, once the whole run has succeeded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
import redis

from core.env_vars import expand_variables
from core.errors import DataSourceError
from core.sources import Login, StreamSource, describe_source
from stacks.streams.base import StreamBatch, StreamReader

READ_CHUNK = 1_000  # entries per XREADGROUP call


class RedisStreamReader(StreamReader):
    def __init__(self, source: StreamSource, login: Login | None) -> None:
        self.source = source
        self.label = describe_source(source)
        url = expand_variables(source.url, f"{self.label}: `url`")
        options: dict[str, Any] = {"socket_timeout": source.idle_seconds + 10, "decode_responses": True}
        if login is not None:
            options |= {"username": login.username, "password": login.password}
        self.client = redis.Redis.from_url(url, **options)

    def read(self) -> StreamBatch:
        source = self.source
        with _redis_errors(f"{self.label}: cannot read"):
            if not self.client.exists(source.stream):
                raise DataSourceError(f"{self.label}: no such stream; check the source's `stream`")
            self._ensure_group()
            pending = self._read_from("0", source.max_records, block_ms=None)
            fresh: list[tuple[str, dict[str, str]]] = []
            while len(pending) + len(fresh) < source.max_records:
                wanted = min(READ_CHUNK, source.max_records - len(pending) - len(fresh))
                chunk = self._read_from(">", wanted, block_ms=math.ceil(source.idle_seconds * 1000))
                if not chunk:
                    break
                fresh += chunk
        entries = pending + fresh
        if not entries:
            raise DataSourceError(
                f"{self.label}: no entries to read for group '{source.group}' (none new, none pending)"
            )
        records = [self._record(entry_id, fields) for entry_id, fields in entries]
        return StreamBatch(
            frame=pd.DataFrame.from_records(records),
            first_id=entries[0][0],
            last_id=entries[-1][0],
            entries=len(entries),
            redelivered=len(pending),
        )

    def acknowledge(self, first_id: str, last_id: str) -> int:
        source = self.source
        with _redis_errors(f"{self.label}: cannot acknowledge"):
            acknowledged = 0
            start = first_id
            while True:
                pending: Any = self.client.xpending_range(
                    source.stream,
                    source.group,
                    min=start,
                    max=last_id,
                    count=READ_CHUNK,
                    consumername=source.consumer,
                )
                if not pending:
                    return acknowledged
                acknowledged += int(
                    self.client.xack(source.stream, source.group, *[entry["message_id"] for entry in pending])
                )
                start = "(" + pending[-1]["message_id"]

    def append(self, frame: pd.DataFrame) -> tuple[str, str]:
        with _redis_errors(f"{self.label}: cannot write"):
            pipe = self.client.pipeline(transaction=False)
            for record in frame.to_json(orient="records", lines=True).splitlines():
                pipe.xadd(self.source.stream, {self.source.field: record})
            ids = pipe.execute()
        return str(ids[0]), str(ids[-1])

    def close(self) -> None:
        self.client.close()

    def _ensure_group(self) -> None:
        """The group, reading from the stream's first entry, made on first use."""
        try:
            self.client.xgroup_create(self.source.stream, self.source.group, id="0")
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def _read_from(self, start: str, count: int, block_ms: int | None) -> list[tuple[str, dict[str, str]]]:
        answer: Any = self.client.xreadgroup(
            self.source.group, self.source.consumer, {self.source.stream: start}, count=count, block=block_ms
        )
        return [(entry_id, fields) for _, entries in answer or [] for entry_id, fields in entries if fields]

    def _record(self, entry_id: str, fields: dict[str, str]) -> dict[str, Any]:
        raw = fields.get(self.source.field)
        if raw is None:
            raise DataSourceError(
                f"{self.label}: entry {entry_id} has no field '{self.source.field}' (it has: "
                f"{', '.join(sorted(fields))}); check the source's `field`"
            )
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            raise DataSourceError(
                f"{self.label}: entry {entry_id}: not a JSON object ({error.msg})"
            ) from None
        if not isinstance(record, dict):
            raise DataSourceError(f"{self.label}: entry {entry_id}: not a JSON object")
        return record


@contextmanager
def _redis_errors(prefix: str) -> Iterator[None]:
    """redis-py's errors as one line that names the stream and says what to check."""
    try:
        yield
    except redis.AuthenticationError:
        raise DataSourceError(f"{prefix}: password refused; check the URL or the `secret`") from None
    except (redis.ConnectionError, redis.TimeoutError) as error:
        raise DataSourceError(f"{prefix}: {error}; check that the server is up") from None
    except redis.RedisError as error:
        raise DataSourceError(f"{prefix}: {error}") from None
