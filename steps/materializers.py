"""A pandas materializer that writes fast and has a content hash, so steps downstream of a re-read
source stay cached."""

from __future__ import annotations

import hashlib
from typing import Any, Final

import pandas as pd
from zenml.integrations.pandas.materializers.pandas_materializer import PandasMaterializer

# ZenML's own pandas materializer writes gzip Parquet: 9-12 s for a 1,000,000 x 30 frame here,
# against about 1 s with zstd at a similar size. Any Parquet codec reads back the same way.
PARQUET_COMPRESSION: Final = "zstd"


class HashedDataFrameMaterializer(PandasMaterializer):
    """ZenML's pandas materializer with zstd Parquet and a hash of the values, columns and dtypes.

    Ingest always reads its source afresh; when the data is unchanged the hash is too, and ZenML's
    cache reuses every later step.
    """

    def save(self, df: pd.DataFrame | pd.Series) -> None:
        if isinstance(df, pd.Series):
            df = df.to_frame(name="series")
        with self.artifact_store.open(self.parquet_path, mode="wb") as handle:
            df.to_parquet(handle, compression=PARQUET_COMPRESSION)

    def compute_content_hash(self, data: Any) -> str | None:
        if not isinstance(data, pd.DataFrame):
            return None
        digest = hashlib.sha256()
        digest.update(repr(list(zip(data.columns, data.dtypes.astype(str), strict=True))).encode())
        digest.update(pd.util.hash_pandas_object(data, index=True).to_numpy().tobytes())
        return digest.hexdigest()
