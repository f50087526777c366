"""Which run holds which offsets of a Kafka topic: its claims log, folded.

Kafka keeps a committed offset per partition, not a pending list per entry as Redis does. So runs
record what they take in a log topic of the source's own (`<topic>.<group>.claims`, one
partition), in the order they take it: a `claim` gives a partition's offsets `first` to `last` to a
consumer, with when and how many runs have read them, and replaces any earlier claim of the same
offsets (a take-over); a `settle` ends offsets for good (a dead letter); `done` ends all that a
consumer holds (its run succeeded). Folding the log tells what is held, by whom and since when.
Pure bookkeeping: the reader reads and appends the log, under a lock, so the log has one writer at
a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Segment:
    """Offsets `first` to `last` (both included) of a partition, held by `consumer` since `at`
    (seconds since the epoch) and read by `deliveries` runs; `record` is its claim's log offset."""

    partition: int
    first: int
    last: int
    consumer: str
    at: float
    deliveries: int
    record: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1


def claim_record(segment: Segment) -> dict[str, Any]:
    """The log record by which `segment`'s consumer takes its offsets."""
    return {
        "type": "claim",
        "consumer": segment.consumer,
        "partition": segment.partition,
        "first": segment.first,
        "last": segment.last,
        "at": segment.at,
        "deliveries": segment.deliveries,
    }


def settle_record(partition: int, first: int, last: int, consumer: str, reason: str) -> dict[str, Any]:
    """The log record that ends offsets for good, and why: `consumer` moved them to the dead
    letter, or found them gone."""
    return {
        "type": "settle",
        "consumer": consumer,
        "partition": partition,
        "first": first,
        "last": last,
        "reason": reason,
    }


def done_record(consumer: str, at: float) -> dict[str, Any]:
    """The log record that ends all that `consumer` holds: its run succeeded."""
    return {"type": "done", "consumer": consumer, "at": at}


class Claims:
    """The log folded from offset `start` (everything before it is settled), record by record."""

    def __init__(self, start: int) -> None:
        self.held: dict[int, list[Segment]] = {}  # by partition, in offset order, never overlapping
        self.ends: dict[int, int] = {}  # by partition: the offset after the highest claimed or settled
        self.end_records: dict[int, int] = {}  # by partition: the log offset of the record that set its end
        self.next_record = start

    def apply(self, offset: int, record: Mapping[str, Any]) -> None:
        """Fold the log's record at `offset`; ValueError if it is no claims record."""
        try:
            kind = record["type"]
            if kind == "done":
                for partition, segments in self.held.items():
                    self.held[partition] = [s for s in segments if s.consumer != record["consumer"]]
            elif kind in ("claim", "settle"):
                partition, first, last = int(record["partition"]), int(record["first"]), int(record["last"])
                segments = self._cut(partition, first, last)
                if kind == "claim":
                    at, deliveries = float(record["at"]), int(record["deliveries"])
                    segments.append(
                        Segment(partition, first, last, record["consumer"], at, deliveries, offset)
                    )
                self.held[partition] = sorted(segments, key=lambda segment: segment.first)
                if last + 1 > self.ends.get(partition, 0):
                    self.ends[partition], self.end_records[partition] = last + 1, offset
            else:
                raise ValueError(f"unknown record type {kind!r}")
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a claims record ({error}): {dict(record)!r}"[:300]) from None
        self.next_record = offset + 1

    def stale(self, now: float, after: float, budget: int) -> list[Segment]:
        """Segments held for `after` seconds or longer (their runs failed or died), by partition and
        offset, at most `budget` offsets in all: the last one cut to fit."""
        taken: list[Segment] = []
        for segment in (s for partition in sorted(self.held) for s in self.held[partition]):
            if budget <= 0:
                break
            if now - segment.at >= after:
                segment = replace(segment, last=min(segment.last, segment.first + budget - 1))
                taken.append(segment)
                budget -= segment.size
        return taken

    def held_by(self, consumer: str) -> list[Segment]:
        return [s for segments in self.held.values() for s in segments if s.consumer == consumer]

    def committable(self) -> dict[int, int]:
        """By partition, the lowest offset not yet done: the group's committed offset, which Kafka's
        tools read as "everything before it is processed"."""
        return {
            partition: min([s.first for s in self.held.get(partition, [])] + [end])
            for partition, end in self.ends.items()
        }

    def floor(self) -> int:
        """Where the next fold may start: at the first record that still claims something not done,
        or that set the end of a partition where something is not done (the partition's committed
        offset stays below what is not done, so it cannot say where the claims end)."""
        open_partitions = [partition for partition, segments in self.held.items() if segments]
        needed = [s.record for partition in open_partitions for s in self.held[partition]]
        needed += [self.end_records[partition] for partition in open_partitions]
        return min([*needed, self.next_record])

    def _cut(self, partition: int, first: int, last: int) -> list[Segment]:
        """The partition's segments without offsets `first` to `last`."""
        kept: list[Segment] = []
        for segment in self.held.get(partition, []):
            if segment.last < first or segment.first > last:
                kept.append(segment)
                continue
            if segment.first < first:
                kept.append(replace(segment, last=first - 1))
            if segment.last > last:
                kept.append(replace(segment, first=last + 1))
        return kept
