"""A pandas materializer with a content hash, so steps downstream of a re-read source stay cached."""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
from zenml.integrations.pandas.materializers.pandas_materializer import PandasMaterializer


class HashedDataFrameMaterializer(PandasMaterializer):
    """ZenML's pandas materializer plus a hash of the values, columns and dtypes.

    Ingest always reads its source afresh; when the data is unchanged the hash is too, and ZenML's
    cache reuses every later step.
    """

    def compute_content_hash(self, data: Any) -> str | None:
        if not isinstance(data, pd.DataFrame):
            return None
        digest = hashlib.sha256()
        digest.update(repr(list(zip(data.columns, data.dtypes.astype(str), strict=True))).encode())
        digest.update(pd.util.hash_pandas_object(data, index=True).to_numpy().tobytes())
        return digest.hexdigest()
