"""A stream batch is acknowledged by the launcher once the whole run has succeeded (for continuous
training: the checks, the retraining and the redeploy), never by a step: a failed or killed run
leaves its entries pending, and the next run reads them again."""

from __future__ import annotations

from typing import Any

from core.sources import Source, StreamSource
from steps.ingest import STREAM_ENTRIES, login_for


def acknowledge_entries(source: Source, run: Any) -> str | None:
    """Acknowledge the entries `run` read from `source` (those its consumer holds); what was
    acknowledged and what was moved to the dead letter, for the summary."""
    if not isinstance(source, StreamSource):
        return None
    from stacks.streams.readers import open_stream

    read: dict[str, Any] = run.run_metadata[STREAM_ENTRIES]
    reader = open_stream(source, login_for(source), consumer=str(read["consumer"]))
    try:
        acknowledged = reader.acknowledge()
    finally:
        reader.close()
    redelivered = f", {read['redelivered']} of them left by a run that failed" if read["redelivered"] else ""
    dead = read.get("dead_lettered") or []
    dead_lettered = (
        f"; {len(dead)} moved to the dead-letter stream '{read['dead_letter']}' ("
        + "; ".join(f"{letter['id']}: {letter['reason']}" for letter in dead)
        + ")"
        if dead
        else ""
    )
    return (
        f"{acknowledged} entries of stream '{source.stream}' ({read['first_id']} .. {read['last_id']}) "
        f"acknowledged for group '{source.group}'{redelivered}{dead_lettered}"
    )
