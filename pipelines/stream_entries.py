"""A stream batch is acknowledged by the launcher once the whole run has succeeded (for continuous
training: the checks, the retraining and the redeploy), never by a step: a failed or killed run
leaves its entries pending, and the next run reads them again."""

from __future__ import annotations

from typing import Any

from core.sources import KafkaSource, Source, StreamKind
from steps.ingest import STREAM_ENTRIES, login_for
from steps.locks import named_lock


def acknowledge_entries(source: Source, run: Any) -> str | None:
    """Acknowledge the entries `run` read from `source` (those its consumer holds); what was
    acknowledged and what was moved to the dead letter, for the summary."""
    if not isinstance(source, StreamKind):
        return None
    from stacks.streams.readers import open_stream

    read: dict[str, Any] = run.run_metadata[STREAM_ENTRIES]
    reader = open_stream(source, login_for(source), consumer=str(read["consumer"]), lock=named_lock)
    try:
        acknowledged = reader.acknowledge()
    finally:
        reader.close()
    redelivered = f", {read['redelivered']} of them left by a run that failed" if read["redelivered"] else ""
    dead = read.get("dead_lettered") or []
    kind = "topic" if isinstance(source, KafkaSource) else "stream"
    dead_lettered = (
        f"; {len(dead)} moved to the dead-letter {kind} '{read['dead_letter']}' ("
        + "; ".join(f"{letter['id']}: {letter['reason']}" for letter in dead)
        + ")"
        if dead
        else ""
    )
    return (
        f"{acknowledged} entries of {_entries(source, read)} acknowledged for group '{source.group}'"
        f"{redelivered}{dead_lettered}"
    )


def _entries(source: StreamKind, read: dict[str, Any]) -> str:
    """Which entries the run read: a stream's first and last id, a topic's offsets by partition."""
    if isinstance(source, KafkaSource):
        ranges = ", ".join(
            f"partition {span['partition']}: {span['first_offset']} .. {span['last_offset']}"
            for span in read["partitions"]
        )
        return f"Kafka topic '{source.topic}' ({ranges})"
    return f"stream '{source.stream}' ({read['first_id']} .. {read['last_id']})"
