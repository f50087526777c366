"""The reader for a stream source's URL: Redis Streams is the one kind so far."""

from __future__ import annotations

from core.sources import Login, StreamSource
from stacks.streams.base import StreamReader
from stacks.streams.redis_streams import RedisStreamReader


def open_stream(
    source: StreamSource, login: Login | None = None, consumer: str | None = None
) -> StreamReader:
    """A reader of the source as a new consumer, or as `consumer` (to acknowledge what a run read);
    `login` replaces the URL's account."""
    return RedisStreamReader(source, login, consumer)
