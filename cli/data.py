"""`simulate`: seeded batches of new data, clean or shifted, to walk the drift loop offline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from core.sources import StreamKind


def simulate(
    out: Annotated[Path | None, typer.Option(help="Where to write the batch (.csv or .parquet).")] = None,
    stream: Annotated[
        str | None, typer.Option(help="Or append the batch to this stream, one JSON record per entry.")
    ] = None,
    stream_url: Annotated[
        str,
        typer.Option(
            help="The stream's server: redis://:PASSWORD@HOST:PORT/DB ($VAR read when used), or Kafka's "
            "brokers kafka://HOST:PORT[,HOST:PORT...] (the stream is then a topic)."
        ),
    ] = "redis://127.0.0.1:6380/0",
    drift: Annotated[
        float, typer.Option(help="Shift of every feature in standard deviations: 0 clean, 1.0 drifted.")
    ] = 0.0,
    rows: Annotated[int, typer.Option(help="Rows in the batch.")] = 500,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same batch.")] = 0,
    label_noise: Annotated[
        float, typer.Option(help="Share of rows given another class: quality drops, features do not drift.")
    ] = 0.0,
    labeled: Annotated[
        bool, typer.Option("--labeled/--unlabeled", help="Keep the target column (continuous training).")
    ] = True,
) -> None:
    """Write a seeded batch from the demo data, clean, shifted or mislabeled, for the drift loop."""
    from core.errors import ConfigError
    from core.scoring import write_table
    from core.simulate import simulate_batch

    if (out is None) == (stream is None):
        raise ConfigError("simulate: give one of --out PATH or --stream NAME")
    batch = simulate_batch(drift=drift, rows=rows, seed=seed, labeled=labeled, label_noise=label_noise)
    noise = f", label noise {label_noise}" if label_noise else ""
    if out is not None:
        write_table(batch, out)
        typer.echo(f"{len(batch)} rows (drift {drift}{noise}, seed {seed}) written to {out}")
        return
    from core.sources import describe_source
    from stacks.streams.readers import open_stream

    source = _stream_source(str(stream), stream_url)
    writer = open_stream(source)
    try:
        first, last = writer.append(batch)
    finally:
        writer.close()
    where = f"{describe_source(source)}: entries {first} .. {last}"
    typer.echo(f"{len(batch)} rows (drift {drift}{noise}, seed {seed}) appended to {where}")


def _stream_source(stream: str, url: str) -> StreamKind:
    """The stream `--stream-url` names: a Redis stream, or a Kafka topic on the brokers listed."""
    from pydantic import ValidationError

    from core.errors import ConfigError
    from core.sources import KafkaSource, StreamSource

    try:
        if url.startswith("kafka://"):
            return KafkaSource(kind="kafka", brokers=url.removeprefix("kafka://").rstrip("/"), topic=stream)
        if url.startswith(("redis://", "rediss://")):
            return StreamSource(kind="stream", url=url, stream=stream)
    except ValidationError as error:
        problem = error.errors()[0]
        raise ConfigError(f"--stream '{stream}': {problem['msg']}") from None
    raise ConfigError(f"--stream-url '{url}': must start with redis://, rediss:// or kafka://")
