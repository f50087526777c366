"""Kafka through `confluent-kafka` (librdkafka), the standard client, so that Apache Kafka,
Confluent, MSK and Redpanda are what it talks to; the same semantics as the Redis Streams reader.

Each run reads as a consumer of its own and acknowledges nothing: the launcher acknowledges once the
whole run has succeeded. Kafka keeps no pending list per entry, so runs record what they take in the
source's claims log (`stacks/streams/claims.py`). A read folds the log, takes over the offsets a
failed or killed run has held for `reclaim_after_seconds` (one more delivery each), reads new
entries from the end of the highest claim, and appends its claims. An acknowledgement appends
`done`, then commits the group's offsets to the lowest offset not yet done (what Kafka's tools read
as "processed up to here") and the claims log's own group to its first record still holding
something, where the next read starts. Both hold the source's lock, so no two runs claim an offset.

A record that cannot be parsed, or that `max_deliveries` runs read without succeeding, is produced to
the dead-letter topic with headers naming where it came from and why, then settled in the claims log:
at least once (a run killed between the two produces it again; the headers tell the copies apart).
Committed offsets carry no metadata (Tansu, the test broker, drops it) and no watermark is trusted
(Tansu's are wrong): a partition's end is what the fetches report (end-of-partition events).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import pandas as pd
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]  # no __all__

from core.errors import DataSourceError
from core.sources import KafkaSource, Login, describe_source
from stacks.streams.base import (
    DeadLetter,
    NamedLock,
    StreamBatch,
    StreamReader,
    named,
    new_consumer,
    too_many_deliveries,
    unshared,
)
from stacks.streams.claims import Claims, Segment, claim_record, done_record, settle_record
from stacks.streams.records import FrameBuilder, UnreadableRecord, parse_record

BROKER_SECONDS = 10.0  # longest wait for an answer: metadata, committed offsets, deliveries, an end
METADATA_TRY_SECONDS = 0.5  # a metadata request is retried this often until the brokers answer or refuse
POLL_SECONDS = 0.05
FATAL = (KafkaError._ALL_BROKERS_DOWN, KafkaError._AUTHENTICATION)  # no use waiting for an answer
CLAIMS_RETENTION = {"retention.ms": "-1"}  # an open claim must outlive any pause between runs

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OffsetRange:
    """The first and last offset read from one partition."""

    partition: int
    first: int
    last: int


@dataclass(frozen=True, kw_only=True)
class KafkaBatch(StreamBatch):
    """A batch of messages named by partition and offsets."""

    ranges: tuple[OffsetRange, ...]

    def span(self) -> dict[str, object]:
        return {
            "partitions": [
                {"partition": r.partition, "first_offset": r.first, "last_offset": r.last}
                for r in self.ranges
            ]
        }


@dataclass(frozen=True)
class _Read:
    """A message read, where it is, and how many runs have read it, this one included."""

    message: Message
    partition: int
    offset: int
    deliveries: int

    @classmethod
    def of(cls, message: Message, deliveries: int) -> _Read:
        return cls(message, *_position(message), deliveries)

    @property
    def entry_id(self) -> str:
        return f"{self.partition}@{self.offset}"


class KafkaStreamReader(StreamReader):
    def __init__(
        self,
        source: KafkaSource,
        login: Login | None,
        consumer: str | None = None,
        lock: NamedLock = unshared,
    ) -> None:
        self.source = source
        self.label = describe_source(source)
        self.consumer = consumer or new_consumer(source.consumer)
        self.lock = lock
        self._errors: list[KafkaError] = []  # what the clients reported (`error_cb`), newest last
        self._clients = ExitStack()  # those made so far (each when first needed), closed by `close`
        self.settings = _settings(source, login, self.label) | {"error_cb": self._errors.append}

    def read(self) -> KafkaBatch:
        source = self.source
        with self.lock(source.claims_topic()), kafka_errors(f"{self.label}: cannot read"):
            partitions = self._partitions(source.topic)
            if partitions is None:
                raise DataSourceError(f"{self.label}: no such topic; check the source's `topic`")
            claims = self._claims()
            now = time.time()
            stale = claims.stale(now, source.reclaim_after_seconds, source.max_records)
            reads, gone = self._read_stale(stale)
            budget = source.max_records - sum(segment.size for segment in stale)
            fresh = self._read_new(partitions, claims, budget) if budget > 0 else []
            if not reads and not fresh:
                raise DataSourceError(
                    f"{self.label}: no entries to read for group '{source.group}' (none new, none left "
                    f"by a failed run for {source.reclaim_after_seconds:g} s)"
                )
            kept, frame, dead = self._sort(reads + fresh)
            self._to_dead_letter(reads + fresh, dead)
            taken = [replace(s, consumer=self.consumer, at=now, deliveries=s.deliveries + 1) for s in stale]
            self._claim(taken + _new_segments(fresh, self.consumer, now), dead, gone)
        if not kept:
            raise DataSourceError(
                f"{self.label}: all {len(dead)} entries read were moved to the dead-letter topic "
                f"'{source.dead_letter_stream()}': {named(dead)}"
            )
        return KafkaBatch(
            frame=frame,
            consumer=self.consumer,
            ranges=_ranges(kept),
            entries=len(kept),
            redelivered=sum(read.deliveries > 1 for read in kept),
            dead_lettered=tuple(dead),
        )

    def acknowledge(self) -> int:
        source = self.source
        with self.lock(source.claims_topic()), kafka_errors(f"{self.label}: cannot acknowledge"):
            claims = self._claims()
            held = sum(segment.size for segment in claims.held_by(self.consumer))
            done = done_record(self.consumer, time.time())
            [(_, offset)] = self._produce(source.claims_topic(), [(json.dumps(done), None, [])])
            claims.apply(offset, done)
            committable = claims.committable()
            _commit(self._group, [TopicPartition(source.topic, p, o) for p, o in committable.items()])
            _commit(self._claims_reader, [TopicPartition(source.claims_topic(), 0, claims.floor())])
            return held

    def append(self, frame: pd.DataFrame) -> tuple[str, str]:
        with kafka_errors(f"{self.label}: cannot write"):
            if self._partitions(self.source.topic) is None:
                self._create(self.source.topic, partitions=-1)  # as many as the brokers' default
            records = frame.to_json(orient="records", lines=True).splitlines()
            positions = self._produce(self.source.topic, [(record, None, []) for record in records])
        (first_partition, first), (last_partition, last) = positions[0], positions[-1]
        return f"{first_partition}@{first}", f"{last_partition}@{last}"

    def close(self) -> None:
        """Close the clients, so that their connections end now, not when they are collected (what
        `_produce` sent is delivered already)."""
        self._clients.close()

    @cached_property
    def _group(self) -> Consumer:
        """The source's group: what reads the topic, and whose offsets say what is done."""
        return self._clients.enter_context(Consumer(self.settings | consumer_settings(self.source.group)))

    @cached_property
    def _claims_reader(self) -> Consumer:
        """Reads the claims log; its own group's offset is where the next read of the log starts."""
        group = f"{self.source.group}.claims"
        return self._clients.enter_context(Consumer(self.settings | consumer_settings(group)))

    @cached_property
    def _producer(self) -> Producer:
        return self._clients.enter_context(Producer(self.settings))

    @cached_property
    def _admin(self) -> AdminClient:
        return self._clients.enter_context(AdminClient(self.settings))

    def _partitions(self, topic: str) -> list[int] | None:
        """The topic's partitions, or None if it does not exist. Asked again until the brokers
        answer, for `BROKER_SECONDS` at most: at once if every one refused (down, or the account)."""
        deadline = time.monotonic() + BROKER_SECONDS
        while True:
            try:
                metadata = self._admin.list_topics(topic, timeout=METADATA_TRY_SECONDS).topics[topic]
                break
            except KafkaException as failed:
                self._admin.poll(0)  # serves `error_cb`: why the brokers do not answer
                if time.monotonic() > deadline or any(error.code() in FATAL for error in self._errors):
                    raise KafkaException(self._cause(failed.args[0])) from None
        if metadata.error is not None:
            if metadata.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                return None
            raise KafkaException(metadata.error)
        return sorted(metadata.partitions)

    def _cause(self, otherwise: KafkaError) -> KafkaError:
        """The first error a client reported with a reason (a refused connection or account)."""
        return next((e for e in self._errors if e.code() != KafkaError._ALL_BROKERS_DOWN), otherwise)

    def _create(self, topic: str, partitions: int, config: dict[str, str] | None = None) -> None:
        """Create the topic; one that another run created meanwhile will do."""
        new = NewTopic(topic, num_partitions=partitions, replication_factor=-1, config=config or {})
        try:
            self._admin.create_topics([new], request_timeout=BROKER_SECONDS)[topic].result()
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise

    def _claims(self) -> Claims:
        """The claims log folded from its group's committed offset (all before it is settled)."""
        topic = self.source.claims_topic()
        if self._partitions(topic) is None:
            self._create(topic, partitions=1, config=CLAIMS_RETENTION)
            return Claims(start=0)
        [committed] = self._claims_reader.committed([TopicPartition(topic, 0)], timeout=BROKER_SECONDS)
        start = max(committed.offset, 0)
        claims = Claims(start)
        messages, complete = poll_partitions(
            self._claims_reader, [TopicPartition(topic, 0, start)], sys.maxsize, 0.0
        )
        if not complete:
            raise DataSourceError(
                f"{self.label}: the claims topic '{topic}' reported no end within {BROKER_SECONDS:g} s"
            )
        for message in messages:
            _, offset = _position(message)
            try:
                claims.apply(offset, json.loads(message.value() or b""))
            except ValueError as error:
                raise DataSourceError(f"{self.label}: claims topic '{topic}' at {offset}: {error}") from None
        return claims

    def _read_stale(self, stale: list[Segment]) -> tuple[list[_Read], list[Segment]]:
        """The messages of the segments taken over, and the segments of which none is left (gone
        with the topic's retention: settled, so that no run takes them over again)."""
        reads: list[_Read] = []
        gone: list[Segment] = []
        for segment in stale:
            start = [TopicPartition(self.source.topic, segment.partition, segment.first)]
            messages, _ = poll_partitions(
                self._group, start, segment.size, self.source.idle_seconds, segment.last
            )
            reads_of_segment = [_Read.of(message, segment.deliveries + 1) for message in messages]
            kept = [read for read in reads_of_segment if read.offset <= segment.last]
            reads += kept
            if not kept:
                gone.append(segment)
        return reads, gone

    def _read_new(self, partitions: list[int], claims: Claims, budget: int) -> list[_Read]:
        """Up to `budget` messages after the highest claim (or the group's committed offset) of each
        partition, until each has been read to its end and none has come for `idle_seconds`."""
        topic = self.source.topic
        committed = self._group.committed(
            [TopicPartition(topic, p) for p in partitions], timeout=BROKER_SECONDS
        )
        starts = []
        for position in committed:
            start = max(position.offset, claims.ends.get(position.partition, -1))
            starts.append(
                TopicPartition(topic, position.partition, start if start >= 0 else OFFSET_BEGINNING)
            )
        messages, _ = poll_partitions(self._group, starts, budget, self.source.idle_seconds)
        return [_Read.of(message, 1) for message in messages]

    def _sort(self, reads: list[_Read]) -> tuple[list[_Read], pd.DataFrame, list[DeadLetter]]:
        """The messages read and their rows, and the messages to move to the dead letter with the
        reason."""
        kept: list[_Read] = []
        rows = FrameBuilder()
        dead: list[DeadLetter] = []
        for read in reads:
            if read.deliveries > self.source.max_deliveries:
                dead.append(
                    DeadLetter(
                        read.entry_id, too_many_deliveries(read.deliveries, self.source.max_deliveries)
                    )
                )
                continue
            try:
                rows.add(self._rows(message_record(read.message.value())))
            except UnreadableRecord as error:
                dead.append(DeadLetter(read.entry_id, str(error)))
            else:
                kept.append(read)
        return kept, rows.frame(), dead

    def _rows(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """The rows a message's record holds: itself (UnreadableRecord if it holds none)."""
        return [record]

    def _to_dead_letter(self, reads: list[_Read], dead: list[DeadLetter]) -> None:
        """Each message copied to the dead-letter topic, with headers saying where it came from and why."""
        if not dead:
            return
        topic = self.source.dead_letter_stream()
        if self._partitions(topic) is None:
            self._create(topic, partitions=-1)
        by_id = {read.entry_id: read for read in reads}
        copies = []
        for letter in dead:
            read = by_id[letter.entry_id]
            message = read.message
            origin = [
                ("source_topic", self.source.topic),
                ("source_partition", str(read.partition)),
                ("source_offset", str(read.offset)),
                ("reason", letter.reason),
                ("consumer", self.consumer),
            ]
            copies.append((message.value(), message.key(), [*(message.headers() or []), *origin]))
        self._produce(topic, copies)

    def _claim(self, segments: list[Segment], dead: list[DeadLetter], gone: list[Segment]) -> None:
        """Append the claims of what this run read, then settle what it moved and what was gone."""
        records = [claim_record(segment) for segment in segments]
        for letter in dead:
            partition, offset = map(int, letter.entry_id.split("@"))
            records.append(settle_record(partition, offset, offset, self.consumer, letter.reason))
        for segment in gone:
            reason = "gone from the topic (its retention)"
            records.append(
                settle_record(segment.partition, segment.first, segment.last, self.consumer, reason)
            )
        self._produce(self.source.claims_topic(), [(json.dumps(record), None, []) for record in records])

    def _produce(
        self, topic: str, messages: list[tuple[Any, Any, list[tuple[str, Any]]]]
    ) -> list[tuple[int, int]]:
        """Produce (value, key, headers) messages and wait until each is delivered; the partition
        and offset of each, in order."""
        positions: list[tuple[int, int]] = [(-1, -1)] * len(messages)
        failures: list[KafkaError] = []

        def delivered(index: int) -> Callable[[KafkaError | None, Message], None]:
            def report(error: KafkaError | None, message: Message) -> None:
                if error is not None:
                    failures.append(error)
                else:
                    positions[index] = _position(message)

            return report

        for index, (value, key, headers) in enumerate(messages):
            while True:
                try:
                    self._producer.produce(topic, value, key, headers=headers, on_delivery=delivered(index))
                    break
                except BufferError:  # the client's queue is full: let it deliver some first
                    self._producer.poll(POLL_SECONDS)
        left = self._producer.flush(BROKER_SECONDS)
        if failures:
            raise KafkaException(failures[0])
        if left:
            raise DataSourceError(
                f"{self.label}: {left} messages to '{topic}' not delivered in {BROKER_SECONDS:g} s"
            )
        return positions


def poll_partitions(
    consumer: Consumer,
    starts: list[TopicPartition],
    wanted: int,
    idle_seconds: float,
    last: int | None = None,
) -> tuple[list[Message], bool]:
    """Messages from the partitions at `starts` as they come, up to `wanted` (or up to offset
    `last`): until each partition has been read to its end, as the fetches report it, and then none
    has come for `idle_seconds` (a Redis reader's blocking read); and whether each reached its end
    (no news for `BROKER_SECONDS` ends the wait for one that never reports it)."""
    consumer.assign(starts)
    behind = {start.partition for start in starts}
    messages: list[Message] = []
    quiet_since = time.monotonic()
    while len(messages) < wanted:
        message = consumer.poll(POLL_SECONDS)
        if message is None:
            if time.monotonic() - quiet_since >= (BROKER_SECONDS if behind else idle_seconds):
                break
            continue
        quiet_since = time.monotonic()
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                raise KafkaException(error)
            behind.discard(_position(message)[0])
            continue
        messages.append(message)
        if last is not None and _position(message)[1] >= last:
            break
    consumer.unassign()
    return messages, not behind


def _position(message: Message) -> tuple[int, int]:
    """A fetched or delivered message's partition and offset (only an error event has none)."""
    partition, offset = message.partition(), message.offset()
    assert partition is not None and offset is not None
    return partition, offset


def _commit(consumer: Consumer, offsets: list[TopicPartition]) -> None:
    if not offsets:
        return
    for committed in consumer.commit(offsets=offsets, asynchronous=False) or []:
        if committed.error is not None:
            raise KafkaException(committed.error)


def _new_segments(reads: list[_Read], consumer: str, at: float) -> list[Segment]:
    """The claim of new messages: each partition's, from the first offset read to the last."""
    return [
        Segment(r.partition, r.first, r.last, consumer, at, deliveries=1, record=-1)  # not logged yet
        for r in _ranges(reads)
    ]


def _ranges(reads: list[_Read]) -> tuple[OffsetRange, ...]:
    by_partition: dict[int, list[int]] = {}
    for read in reads:
        by_partition.setdefault(read.partition, []).append(read.offset)
    return tuple(OffsetRange(p, min(offsets), max(offsets)) for p, offsets in sorted(by_partition.items()))


def message_record(value: bytes | None) -> dict[str, Any]:
    """A message's value as a record, or UnreadableRecord naming what is wrong with it."""
    if value is None:
        raise UnreadableRecord("no value (a tombstone)")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnreadableRecord(f"not UTF-8 text (byte {error.start})") from None
    return parse_record(text)


class _DebugLog:
    """librdkafka's log, at DEBUG on this module's logger: its errors reach the user as the one
    DataSourceError line that the client's exception becomes, not as a retry every 50 ms on stderr."""

    def log(self, level: int, message: str, *args: object) -> None:
        logger.debug(message, *args)


def _settings(source: KafkaSource, login: Login | None, label: str) -> dict[str, Any]:
    """What every client of the source is configured with."""
    settings: dict[str, Any] = {
        "bootstrap.servers": source.brokers,
        "security.protocol": source.security_protocol,
        "allow.auto.create.topics": False,  # a topic named by mistake is an error, not a new topic
        "logger": _DebugLog(),
    }
    if source.security_protocol.startswith("SASL"):
        if login is None or not login.username or not login.password:
            raise DataSourceError(f"{label}: ZenML secret '{source.secret}' needs a username and a password")
        settings |= {
            "sasl.mechanism": source.sasl_mechanism,
            "sasl.username": login.username,
            "sasl.password": login.password,
        }
    return settings


def consumer_settings(group: str) -> dict[str, Any]:
    return {
        "group.id": group,
        "enable.auto.commit": False,  # offsets are committed once the run succeeded, by `acknowledge`
        "auto.offset.reset": "earliest",
        "enable.partition.eof": True,  # how a partition's end is known: no watermark is trusted
        "fetch.wait.max.ms": 100,
    }


@contextmanager
def kafka_errors(prefix: str) -> Iterator[None]:
    """librdkafka's errors as one line that names the topic and the brokers (`prefix`) and says
    what to check."""
    try:
        yield
    except KafkaException as error:
        reason = error.args[0].str() if error.args and isinstance(error.args[0], KafkaError) else str(error)
        raise DataSourceError(
            f"{prefix}: {reason}; check that the brokers are up, and the source's `brokers`, "
            "`security_protocol` and `secret`"
        ) from None
