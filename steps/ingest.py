"""Ingest: read the configured source. Never cached, because the source may have changed."""

from typing import TYPE_CHECKING, Annotated, Any, cast

import pandas as pd
from zenml import get_step_context, log_metadata, step
from zenml.client import Client

from core.batches import list_batch, read_all
from core.capture import label_keys, with_labels
from core.errors import ConfigError, DataSourceError
from core.lineage import data_fingerprint
from core.sources import (
    ArtifactsSource,
    CapturedSource,
    DataConfig,
    DvcSource,
    FilesSource,
    Login,
    Source,
    SqlSource,
    StreamKind,
    check_frame,
    describe_source,
    load_source,
    read_dvc,
)
from steps.filesystems import filesystem_for
from steps.locks import named_lock
from steps.materializers import HashedDataFrameMaterializer
from steps.names import RAW_DATA

if TYPE_CHECKING:
    from stacks.streams.captured import CapturedReader
    from stacks.streams.captured_kafka import CapturedKafkaReader

STREAM_ENTRIES = "stream_entries"  # run metadata: which stream entries the run read (acknowledged on success)


@step(enable_cache=False, output_materializers=HashedDataFrameMaterializer)
def ingest_data(data: DataConfig) -> Annotated[pd.DataFrame, RAW_DATA]:
    source = data.source
    frame, version = read_source(source, data.target)
    log_metadata(
        metadata={
            "source": describe_source(source),
            "n_rows": len(frame),
            "n_columns": len(frame.columns),
            "data_fingerprint": data_fingerprint(frame),
            **version,
        },
        infer_artifact=True,
    )
    return frame


def read_source(source: Source, target: str | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The rows, and which version of the source they are: a DVC revision, stream entries, files.
    Captured requests get the labels that have arrived for them as the `target` column."""
    if isinstance(source, FilesSource):
        fs = filesystem_for(source.location())
        batch = list_batch(source, fs)
        return read_all(batch, fs), {"files": batch.reference()}
    if isinstance(source, ArtifactsSource):
        frame, streams = _load_artifacts(source)
        return frame, ({STREAM_ENTRIES: streams} if streams else {})
    if isinstance(source, StreamKind):
        frame, entries = _read_stream(source, target)
        run_id = get_step_context().pipeline_run.id  # the launcher acknowledges what the run names
        log_metadata(metadata={STREAM_ENTRIES: entries}, run_id_name_or_prefix=run_id)
        return frame, {STREAM_ENTRIES: [entries]}
    if isinstance(source, DvcSource):
        revision = read_dvc(source)
        check_frame(revision.frame, source)
        return revision.frame, {"dvc": revision.lineage(source)}
    return load_source(source, login_for(source)), {}


def login_for(source: Source) -> Login | None:
    """The account in the ZenML secret a source names (secrets live in the store, not in files)."""
    if not isinstance(source, SqlSource | StreamKind) or source.secret is None:
        return None
    try:
        values = Client().get_secret(source.secret, allow_partial_name_match=False).secret_values
    except KeyError:
        raise DataSourceError(
            f"{describe_source(source)}: ZenML secret '{source.secret}' not found; create it with "
            f"`zenml secret create {source.secret} --username=... --password=...`"
            " (`python run.py servers up` stores local_postgres, local_mysql and local_redis)"
        ) from None
    return Login(username=values.get("username"), password=values.get("password"))


def _read_stream(source: StreamKind, target: str | None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The batch and which entries it is; none is acknowledged here (the launcher does, on success)
    but those the reader moved to the dead letter. Captured requests get their labels joined."""
    from stacks.streams.readers import open_stream  # each kind's client: its extra

    reader = open_stream(source, login_for(source), lock=named_lock)
    try:
        batch = reader.read()
        frame, lineage = batch.frame, batch.lineage(source)
        if isinstance(source, CapturedSource):
            frame = _with_labels(source, cast("CapturedReader | CapturedKafkaReader", reader), frame, target)
            lineage |= {"labels": source.labels_key(), "labeled_rows": int(frame[str(target)].notna().sum())}
    finally:
        reader.close()
    check_frame(frame, source)
    return frame, lineage


def _with_labels(
    source: CapturedSource, reader: Any, frame: pd.DataFrame, target: str | None
) -> pd.DataFrame:
    """The captured rows with the labels that have arrived for them, as the `target` column."""
    if target is None:
        raise ConfigError(f"{describe_source(source)}: `data.target` names the label column to join")
    try:
        return with_labels(frame, reader.labels(label_keys(frame)), target)
    except ValueError as error:
        raise DataSourceError(f"{describe_source(source)}: {error}") from None


def _load_artifacts(source: ArtifactsSource) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """DataFrame artifact versions from the ZenML store, stacked in order, with the stream entries
    the runs that made them read (a retrained version's lineage names its batch's entries; the
    reference's are in the lineage of the version it came from)."""
    client = Client()
    frames = []
    streams: list[dict[str, Any]] = []
    for artifact_id in source.ids:
        try:
            artifact = client.get_artifact_version(artifact_id)
            frame = artifact.load()
        except KeyError:
            raise DataSourceError(f"ZenML artifact version {artifact_id}: not found") from None
        if not isinstance(frame, pd.DataFrame):
            raise DataSourceError(f"ZenML artifact version {artifact_id}: holds {type(frame).__name__}")
        frames.append(frame)
        if artifact.producer_pipeline_run_id is not None:
            run = client.get_pipeline_run(artifact.producer_pipeline_run_id)
            entries = run.run_metadata.get(STREAM_ENTRIES)
            streams += [entries] if isinstance(entries, dict) else []
    return pd.concat(frames, ignore_index=True), streams
