"""What every stream source does (Redis Streams, Kafka): read as a consumer of its own, acknowledge
after the run succeeded, move what cannot be read to the dead letter."""

from __future__ import annotations

import os
import socket
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import pandas as pd

from core.sources import KafkaSource, StreamKind

NamedLock = Callable[[str], AbstractContextManager[object]]
"""A lock by name shared by every run that reads a stream (`steps.locks.named_lock`): what makes a
Kafka reader's claims atomic between runs."""


def unshared(name: str) -> AbstractContextManager[object]:
    """No lock: for a process that only appends, or the only reader of its stream."""
    return nullcontext()


def new_consumer(prefix: str) -> str:
    """A consumer name of a run's own (PREFIX-HOST-PID-RANDOM): two runs never share one."""
    return f"{prefix}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class DeadLetter:
    """An entry moved to the dead letter (and settled in the group) instead of read; its id is the
    stream's (Redis) or PARTITION@OFFSET (Kafka)."""

    entry_id: str
    reason: str


def too_many_deliveries(delivered: int, max_deliveries: int) -> str:
    """The dead letter's reason for an entry read by `max_deliveries` runs that failed."""
    return f"read by {delivered - 1} runs that did not succeed (max_deliveries: {max_deliveries})"


def named(dead: tuple[DeadLetter, ...] | list[DeadLetter]) -> str:
    """The moved entries, each with its reason, for an error or a summary."""
    return "; ".join(f"{letter.entry_id}: {letter.reason}" for letter in dead)


@dataclass(frozen=True, kw_only=True)
class StreamBatch(ABC):
    """Records read by one run as one consumer, and which entries they were."""

    frame: pd.DataFrame
    consumer: str  # holds exactly these entries until the run is acknowledged
    entries: int
    redelivered: int  # taken over from a run that did not succeed
    dead_lettered: tuple[DeadLetter, ...] = ()

    @abstractmethod
    def span(self) -> dict[str, object]:
        """Which entries they were, in the stream's own terms (ids, or partitions and offsets)."""

    def lineage(self, source: StreamKind) -> dict[str, object]:
        """What the run records: which entries of which stream it read, for which group, and which
        it moved to the dead letter, and why."""
        where = {"topic": source.topic} if isinstance(source, KafkaSource) else {"stream": source.stream}
        return {
            **where,
            "group": source.group,
            "consumer": self.consumer,
            **self.span(),
            "entries": self.entries,
            "redelivered": self.redelivered,
            "dead_letter": source.dead_letter_stream(),
            "dead_lettered": [{"id": dead.entry_id, "reason": dead.reason} for dead in self.dead_lettered],
        }


class StreamReader(ABC):
    """One consumer of one stream in one consumer group: a run's own, so that two runs at once read
    different entries and neither acknowledges the other's."""

    consumer: str

    @abstractmethod
    def read(self) -> StreamBatch:
        """Entries that failed runs left (once they waited the source's `reclaim_after_seconds`)
        first, then new ones, up to the source's limits; unreadable ones go to the dead letter."""

    @abstractmethod
    def acknowledge(self) -> int:
        """Mark the entries this consumer holds (exactly the ones its run read and still holds) as
        done, and retire the consumer; how many were."""

    @abstractmethod
    def append(self, frame: pd.DataFrame) -> tuple[str, str]:
        """Add the frame's rows as entries (how `run.py simulate` feeds a stream); first and last id."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""
