"""Ingest: read the configured source. Never cached, because the source may have changed."""

from typing import Annotated

import pandas as pd
from zenml import log_metadata, step
from zenml.client import Client

from core.errors import DataSourceError
from core.lineage import data_fingerprint
from core.sources import ArtifactsSource, DataConfig, Login, Source, SqlSource, describe_source, load_source
from steps.materializers import HashedDataFrameMaterializer


@step(enable_cache=False, output_materializers=HashedDataFrameMaterializer)
def ingest_data(data: DataConfig) -> Annotated[pd.DataFrame, "raw_data"]:
    source = data.source
    if isinstance(source, ArtifactsSource):
        frame = _load_artifacts(source)
    else:
        frame = load_source(source, _login(source))
    log_metadata(
        metadata={
            "source": describe_source(source),
            "n_rows": len(frame),
            "n_columns": len(frame.columns),
            "data_fingerprint": data_fingerprint(frame),
        },
        infer_artifact=True,
    )
    return frame


def _login(source: Source) -> Login | None:
    """The account in the ZenML secret a SQL source names (secrets live in the store, not in files)."""
    if not isinstance(source, SqlSource) or source.secret is None:
        return None
    try:
        values = Client().get_secret(source.secret, allow_partial_name_match=False).secret_values
    except KeyError:
        raise DataSourceError(
            f"{describe_source(source)}: ZenML secret '{source.secret}' not found; create it with "
            f"`zenml secret create {source.secret} --username=... --password=...`"
            " (`python run.py servers up` stores local_postgres and local_mysql)"
        ) from None
    return Login(username=values.get("username"), password=values.get("password"))


def _load_artifacts(source: ArtifactsSource) -> pd.DataFrame:
    """DataFrame artifact versions from the ZenML store, stacked in order."""
    client = Client()
    frames = []
    for artifact_id in source.ids:
        try:
            frame = client.get_artifact_version(artifact_id).load()
        except KeyError:
            raise DataSourceError(f"ZenML artifact version {artifact_id}: not found") from None
        if not isinstance(frame, pd.DataFrame):
            raise DataSourceError(f"ZenML artifact version {artifact_id}: holds {type(frame).__name__}")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
