"""What every stream source does, so a Kafka adapter (consumer group, commit after success) could
sit beside the Redis Streams one."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import pandas as pd

from core.sources import StreamSource


@dataclass(frozen=True)
class DeadLetter:
    """An entry moved to the dead-letter stream (and acknowledged in the group) instead of read."""

    entry_id: str
    reason: str


@dataclass(frozen=True)
class StreamBatch:
    """Records read by one run as one consumer, and which entries they were."""

    frame: pd.DataFrame
    consumer: str  # holds exactly these entries until the run is acknowledged
    first_id: str
    last_id: str
    entries: int
    redelivered: int  # taken over from a run that did not succeed
    dead_lettered: tuple[DeadLetter, ...] = ()

    def lineage(self, source: StreamSource) -> dict[str, object]:
        """What the run records: which entries of which stream it read, for which group, and which
        it moved to the dead letter, and why."""
        return {
            "stream": source.stream,
            "group": source.group,
            "consumer": self.consumer,
            "first_id": self.first_id,
            "last_id": self.last_id,
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
