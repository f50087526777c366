"""What made a model version, in values that compare: a fingerprint of the data's content and a
hash of the effective config. The same rows and columns give the same fingerprint whatever file or
database they were read from; a changed value, row or column name gives another."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from pydantic import BaseModel


def data_fingerprint(frame: pd.DataFrame) -> str:
    """sha256 of the column names and of pandas' per-row hashes of the values (row order counts;
    the index does not). Numbers hash as floats (1 and 1.0 alike), so a CSV and a Parquet copy
    of one table agree."""
    import pandas as pd

    digest = hashlib.sha256(json.dumps([str(name) for name in frame.columns]).encode())
    normalised = frame.apply(lambda column: column.astype("float64") if _is_number(column) else column)
    digest.update(pd.util.hash_pandas_object(normalised, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _is_number(column: pd.Series) -> bool:
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return is_numeric_dtype(column) and not is_bool_dtype(column)


def config_hash(*sections: BaseModel) -> str:
    """sha256 of the sections as JSON, defaults included: two runs with equal hashes ran with the
    same settings, however their YAML was written."""
    payload = json.dumps([section.model_dump(mode="json") for section in sections], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()
