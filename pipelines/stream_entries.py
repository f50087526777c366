"""A stream batch is acknowledged by the launcher once the whole run has succeeded (for continuous
training: the checks, the retraining and the redeploy), never by a step: a failed or killed run
leaves its entries pending, and the next run reads them again."""

from __future__ import annotations

from typing import Any

from core.sources import Source, StreamSource
from steps.ingest import STREAM_ENTRIES, login_for


def acknowledge_entries(source: Source, run: Any) -> str | None:
    """Acknowledge the entries `run` read from `source`; what was acknowledged, for the summary."""
    if not isinstance(source, StreamSource):
        return None
    from stacks.streams.readers import open_stream

    read: dict[str, Any] = run.run_metadata[STREAM_ENTRIES]
    reader = open_stream(source, login_for(source))
    try:
        acknowledged = reader.acknowledge(str(read["first_id"]), str(read["last_id"]))
    finally:
        reader.close()
    redelivered = (
        f", {read['redelivered']} of them read again after a run that failed" if read["redelivered"] else ""
    )
    return (
        f"{acknowledged} entries of stream '{source.stream}' ({read['first_id']} .. {read['last_id']}) "
        f"acknowledged for group '{source.group}'{redelivered}"
    )
