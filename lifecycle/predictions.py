"""Score a file's rows on a live V2 endpoint and keep the answers next to the rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lifecycle.errors import ConfigError
from lifecycle.files import write_atomically
from lifecycle.sources import PARQUET_SUFFIXES, load_source, source_for_path
from lifecycle.v2_client import Predictions, V2Client


def predictions_frame(predictions: Predictions) -> pd.DataFrame:
    """One row per input row: the label and one `proba_<class>` column per class."""
    frame = pd.DataFrame({"label": predictions.labels})
    for index, name in enumerate(predictions.classes):
        frame[f"proba_{name}"] = predictions.probabilities[:, index]
    frame["model_version"] = predictions.model_version
    return frame


def predict_file(data: Path, base_url: str, model_name: str, out: Path | None) -> pd.DataFrame:
    rows = load_source(source_for_path(data))
    result = predictions_frame(V2Client(base_url, model_name).predict(rows))
    if out is not None:
        write_table(result, out)
    return result


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """CSV or Parquet by suffix, written to a temporary name first so no half file is left."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", *PARQUET_SUFFIXES):
        raise ConfigError(f"--out {path}: use a .csv or .parquet file name")
    if suffix == ".csv":
        write_atomically(path, lambda target: frame.to_csv(target, index=False))
    else:
        write_atomically(path, lambda target: frame.to_parquet(target, index=False))
