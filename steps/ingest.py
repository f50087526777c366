"""Ingest: read the configured source. Never cached, because the source may have changed."""

from typing import Annotated

import pandas as pd
from zenml import log_metadata, step

from lifecycle.config import DataConfig
from lifecycle.sources import describe_source, load_source
from steps.materializers import HashedDataFrameMaterializer


@step(enable_cache=False, output_materializers=HashedDataFrameMaterializer)
def ingest_data(data: DataConfig) -> Annotated[pd.DataFrame, "raw_data"]:
    frame = load_source(data.source)
    log_metadata(
        metadata={"source": describe_source(data.source), "n_rows": len(frame)},
        infer_artifact=True,
    )
    return frame
