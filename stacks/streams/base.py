"""What every stream source does, so a Kafka adapter (consumer group, commit after success) could
sit beside the Redis Streams one."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import pandas as pd

from core.sources import StreamSource


@dataclass(frozen=True)
class StreamBatch:
    """Records read by one run, and which entries they were."""

    frame: pd.DataFrame
    first_id: str
    last_id: str
    entries: int
    redelivered: int  # read before by a run that did not succeed

    def lineage(self, source: StreamSource) -> dict[str, object]:
        """What the run records: which entries of which stream it read, for which group."""
        return {
            "stream": source.stream,
            "group": source.group,
            "first_id": self.first_id,
            "last_id": self.last_id,
            "entries": self.entries,
            "redelivered": self.redelivered,
        }


class StreamReader(ABC):
    """One consumer of one stream in one consumer group."""

    @abstractmethod
    def read(self) -> StreamBatch:
        """This consumer's unacknowledged entries first, then new ones, up to the source's limits."""

    @abstractmethod
    def acknowledge(self, first_id: str, last_id: str) -> int:
        """Mark this consumer's entries from `first_id` to `last_id` as done; how many were."""

    @abstractmethod
    def append(self, frame: pd.DataFrame) -> tuple[str, str]:
        """Add the frame's rows as entries (how `run.py simulate` feeds a stream); first and last id."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""
