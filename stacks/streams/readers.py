"""The reader of a stream source, by its kind: Redis Streams or Kafka (captured requests on either),
each on the client its extra installs, so a missing extra is one line naming it."""

from __future__ import annotations

from typing import TYPE_CHECKING, overload

from core.sources import CapturedSource, KafkaSource, Login, StreamKind, StreamSource, describe_source
from stacks.extras import require_extra
from stacks.streams.base import NamedLock, StreamReader, unshared

if TYPE_CHECKING:
    from stacks.streams.captured import CapturedReader
    from stacks.streams.captured_kafka import CapturedKafkaReader
    from stacks.streams.kafka_streams import KafkaStreamReader
    from stacks.streams.redis_streams import RedisStreamReader


@overload
def open_stream(  # type: ignore[overload-overlap]  # a captured source is a stream source, read apart
    source: CapturedSource, login: Login | None = ..., consumer: str | None = ..., lock: NamedLock = ...
) -> CapturedReader | CapturedKafkaReader: ...


@overload
def open_stream(
    source: KafkaSource, login: Login | None = ..., consumer: str | None = ..., lock: NamedLock = ...
) -> KafkaStreamReader: ...


@overload
def open_stream(
    source: StreamSource, login: Login | None = ..., consumer: str | None = ..., lock: NamedLock = ...
) -> RedisStreamReader: ...


def open_stream(
    source: StreamKind, login: Login | None = None, consumer: str | None = None, lock: NamedLock = unshared
) -> StreamReader:
    """A reader of the source as a new consumer, or as `consumer` (to acknowledge what a run read);
    `login` replaces the URL's account; `lock` (the runs' shared lock) keeps a Kafka reader's claims
    atomic between runs."""
    if isinstance(source, KafkaSource):
        require_extra("kafka", describe_source(source))
        from stacks.streams.kafka_streams import KafkaStreamReader

        return KafkaStreamReader(source, login, consumer, lock)
    if isinstance(source, CapturedSource) and source.on_kafka:
        require_extra("kafka", describe_source(source))
        from stacks.streams.captured_kafka import CapturedKafkaReader

        return CapturedKafkaReader(source, login, consumer, lock)
    require_extra("streams", describe_source(source))
    if isinstance(source, CapturedSource):
        from stacks.streams.captured import CapturedReader

        return CapturedReader(source, login, consumer)
    from stacks.streams.redis_streams import RedisStreamReader

    return RedisStreamReader(source, login, consumer)
