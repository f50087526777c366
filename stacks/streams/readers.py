"""The reader for a stream source's URL: Redis Streams is the one kind so far."""

from __future__ import annotations

from core.sources import CapturedSource, Login, StreamSource
from stacks.streams.base import StreamReader
from stacks.streams.captured import CapturedReader
from stacks.streams.redis_streams import RedisStreamReader


def open_stream(
    source: StreamSource, login: Login | None = None, consumer: str | None = None
) -> StreamReader:
    """A reader of the source as a new consumer, or as `consumer` (to acknowledge what a run read);
    `login` replaces the URL's account."""
    if isinstance(source, CapturedSource):
        return CapturedReader(source, login, consumer)
    return RedisStreamReader(source, login, consumer)
