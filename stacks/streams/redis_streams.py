"""Redis Streams through a consumer group (XREADGROUP, XAUTOCLAIM, XACK), with redis-py.

Each run reads as a consumer of its own (PREFIX-HOST-PID-RANDOM), so two runs at once never get the
same entry, and acknowledges nothing: the launcher acknowledges, once the whole run has succeeded,
exactly the entries that consumer holds. A run that failed or was killed leaves its entries pending;
a later run takes them over (XAUTOCLAIM) once they have waited `reclaim_after_seconds`. An entry that
cannot be parsed, or that `max_deliveries` runs read without succeeding, is moved to the dead-letter
stream with its reason, so that it never stops the entries behind it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import redis

from core.env_vars import expand_variables
from core.errors import DataSourceError
from core.sources import Login, StreamSource, describe_source
from stacks.streams.base import (
    DeadLetter,
    StreamBatch,
    StreamReader,
    named,
    new_consumer,
    too_many_deliveries,
)
from stacks.streams.records import FrameBuilder, UnreadableRecord, parse_record

READ_CHUNK = 100  # entries per XREADGROUP, XAUTOCLAIM: an entry of captures holds 50 requests
PENDING_CHUNK = 1_000  # entries per XPENDING (ids and counts only)

Entry = tuple[str, dict[str, str]]


@dataclass
class _Sorting:
    """What a read has sorted so far: the entries kept and their rows, those for the dead letter
    (with their fields, to copy), and whether any entry had the source's field."""

    entries: int = 0
    kept: list[str] = field(default_factory=list)
    rows: FrameBuilder = field(default_factory=FrameBuilder)
    dead: list[DeadLetter] = field(default_factory=list)
    dead_fields: dict[str, dict[str, str]] = field(default_factory=dict)
    field_seen: bool = False
    first_id: str = ""
    first_fields: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class RedisBatch(StreamBatch):
    """A batch of entries named by their ids."""

    first_id: str
    last_id: str

    def span(self) -> dict[str, object]:
        return {"first_id": self.first_id, "last_id": self.last_id}


class RedisStreamReader(StreamReader):
    def __init__(self, source: StreamSource, login: Login | None, consumer: str | None = None) -> None:
        self.source = source
        self.label = describe_source(source)
        self.consumer = consumer or new_consumer(source.consumer)
        url = expand_variables(source.url, f"{self.label}: `url`")
        options: dict[str, Any] = {"socket_timeout": source.idle_seconds + 10, "decode_responses": True}
        if login is not None:
            options |= {"username": login.username, "password": login.password}
        self.client = redis.Redis.from_url(url, **options)

    def read(self) -> RedisBatch:
        source = self.source
        with redis_errors(f"{self.label}: cannot read"):
            if not self.client.exists(source.stream):
                raise DataSourceError(f"{self.label}: no such stream; check the source's `stream`")
            self._ensure_group()
            reclaimed = self._reclaim()
            deliveries = self._deliveries(reclaimed)
            read = _Sorting()
            self._sort(reclaimed, deliveries, read)
            del reclaimed
            # A chunk at a time, each made rows before the next is read: a window is held as its
            # frame, not as the text of its entries.
            while read.entries < source.max_records:
                wanted = min(READ_CHUNK, source.max_records - read.entries)
                chunk = self._read_new(wanted, block_ms=math.ceil(source.idle_seconds * 1000))
                if not chunk:
                    break
                self._sort(chunk, deliveries, read)
            if not read.entries:
                raise DataSourceError(
                    f"{self.label}: no entries to read for group '{source.group}' (none new, none left "
                    f"by a failed run for {source.reclaim_after_seconds:g} s)"
                )
            if not read.field_seen:  # the source's mistake, not the entries': refused, nothing moved
                raise DataSourceError(
                    f"{self.label}: no entry read has the field '{source.field}' (entry {read.first_id} "
                    f"has: {', '.join(read.first_fields)}); check the source's `field`"
                )
            self._move_to_dead_letter(read.dead, read.dead_fields)
        if not read.kept:
            raise DataSourceError(
                f"{self.label}: all {read.entries} entries read were moved to the dead-letter stream "
                f"'{source.dead_letter_stream()}': {named(read.dead)}"
            )
        return RedisBatch(
            frame=read.rows.frame(),
            consumer=self.consumer,
            first_id=read.kept[0],
            last_id=read.kept[-1],
            entries=len(read.kept),
            redelivered=sum(entry_id in deliveries for entry_id in read.kept),
            dead_lettered=tuple(read.dead),
        )

    def acknowledge(self) -> int:
        source = self.source
        with redis_errors(f"{self.label}: cannot acknowledge"):
            acknowledged = 0
            while held := self._held("-", "+", PENDING_CHUNK):
                ids = [entry["message_id"] for entry in held]
                acknowledged += int(self.client.xack(source.stream, source.group, *ids))
            self.client.xgroup_delconsumer(source.stream, source.group, self.consumer)
            return acknowledged

    def append(self, frame: pd.DataFrame) -> tuple[str, str]:
        with redis_errors(f"{self.label}: cannot write"):
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

    def _reclaim(self) -> list[Entry]:
        """Entries other consumers have held for `reclaim_after_seconds` (their runs failed or died),
        taken over by this one; then the consumers left holding nothing are removed."""
        source = self.source
        idle_ms = math.ceil(source.reclaim_after_seconds * 1000)
        reclaimed: list[Entry] = []
        cursor = "0-0"
        while len(reclaimed) < source.max_records:
            wanted = min(READ_CHUNK, source.max_records - len(reclaimed))
            answer: Any = self.client.xautoclaim(
                source.stream, source.group, self.consumer, idle_ms, start_id=cursor, count=wanted
            )
            cursor = answer[0]
            reclaimed += [(entry_id, fields) for entry_id, fields in answer[1] if fields]
            if cursor == "0-0":
                break
        consumers: Any = self.client.xinfo_consumers(source.stream, source.group)
        for consumer in consumers:
            if consumer["pending"] == 0 and consumer["idle"] >= idle_ms and consumer["name"] != self.consumer:
                self.client.xgroup_delconsumer(source.stream, source.group, consumer["name"])
        return reclaimed

    def _deliveries(self, reclaimed: list[Entry]) -> dict[str, int]:
        """How many times each reclaimed entry has been delivered, this time included."""
        if not reclaimed:
            return {}
        held = self._held("-", "+", len(reclaimed))  # a new consumer holds nothing else
        return {entry["message_id"]: int(entry["times_delivered"]) for entry in held}

    def _held(self, first: str, last: str, count: int) -> list[dict[str, Any]]:
        """This consumer's pending entries from `first` to `last`, with their delivery counts."""
        held: Any = self.client.xpending_range(
            self.source.stream,
            self.source.group,
            min=first,
            max=last,
            count=count,
            consumername=self.consumer,
        )
        return list(held)

    def _read_new(self, count: int, block_ms: int) -> list[Entry]:
        answer: Any = self.client.xreadgroup(
            self.source.group, self.consumer, {self.source.stream: ">"}, count=count, block=block_ms
        )
        return [(entry_id, fields) for _, entries in answer or [] for entry_id, fields in entries if fields]

    def _sort(self, entries: list[Entry], deliveries: dict[str, int], read: _Sorting) -> None:
        """Each entry's rows added to the read, or the entry kept aside for the dead letter with
        the reason."""
        source = self.source
        if entries and not read.first_fields:
            read.first_id, read.first_fields = entries[0][0], sorted(entries[0][1])
        for entry_id, fields in entries:
            read.entries += 1
            delivered = deliveries.get(entry_id, 1)
            raw = fields.get(source.field)
            read.field_seen = read.field_seen or raw is not None
            try:
                if raw is None:
                    raise UnreadableRecord(f"no field '{source.field}'")
                if delivered > source.max_deliveries:
                    raise UnreadableRecord(too_many_deliveries(delivered, source.max_deliveries))
                read.rows.add(self._rows(raw))
            except UnreadableRecord as error:
                read.dead.append(DeadLetter(entry_id, str(error)))
                read.dead_fields[entry_id] = fields
            else:
                read.kept.append(entry_id)

    def _rows(self, raw: str) -> list[dict[str, Any]]:
        """The rows an entry holds: one record (UnreadableRecord if it is none)."""
        return [parse_record(raw)]

    def _move_to_dead_letter(self, dead: list[DeadLetter], fields_of: dict[str, dict[str, str]]) -> None:
        """Each entry copied to the dead-letter stream with its id and reason, and acknowledged in
        the group, in one transaction: never both kept and moved, never lost."""
        if not dead:
            return
        transaction = self.client.pipeline(transaction=True)
        for letter in dead:
            fields = fields_of[letter.entry_id] | {"entry_id": letter.entry_id, "reason": letter.reason}
            transaction.xadd(self.source.dead_letter_stream(), fields)  # type: ignore[arg-type]
        transaction.xack(self.source.stream, self.source.group, *[letter.entry_id for letter in dead])
        transaction.execute()


@contextmanager
def redis_errors(prefix: str) -> Iterator[None]:
    """redis-py's errors as one line that names the stream and says what to check."""
    try:
        yield
    except redis.AuthenticationError:
        raise DataSourceError(f"{prefix}: password refused; check the URL or the `secret`") from None
    except (redis.ConnectionError, redis.TimeoutError) as error:
        raise DataSourceError(f"{prefix}: {error}; check that the server is up") from None
    except redis.RedisError as error:
        raise DataSourceError(f"{prefix}: {error}") from None
