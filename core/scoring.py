"""Score rows with a model version, on its live V2 endpoint or in process, and keep the answers next to
the rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from core.errors import ConfigError, DataValidationError
from core.files import write_atomically
from core.sources import PARQUET_SUFFIXES, load_source, source_for_path
from core.types import StrictModel
from core.v2_client import Predictions, V2Client


class ScoringConfig(StrictModel):
    """Where batch inference scores: the live endpoint when one runs (`auto`), always, or never."""

    mode: Literal["auto", "endpoint", "in_process"] = "auto"
    """`auto`: the live endpoint if it serves this version, else in process; `endpoint`: only
    there; `in_process`: never there."""
    request_rows: int = Field(default=10_000, ge=1)
    """Rows per V2 request (keep it within the endpoint's `max_rows`)."""


class OutputConfig(StrictModel):
    """Where predictions are written: `<folder>/<model>-v<version>-<run id>.<format>`."""

    folder: Path = Path("predictions")
    """Folder of the predictions file `<model>-v<version>-<run>.<format>`."""
    format: Literal["parquet", "csv"] = "parquet"
    """File format of the predictions."""


PREDICTION_COLUMN = "prediction"
VERSION_COLUMN = "model_version"
# In-process scoring goes through large frames this many rows at a time, so scikit-learn's
# temporaries (one-hot blocks, scaled copies) stay a few hundred MB at most.
IN_PROCESS_SLICE_ROWS = 100_000


def predictions_frame(predictions: Predictions) -> pd.DataFrame:
    """One row per input row: the predicted label, one `proba_<class>` column per class, the version."""
    frame = pd.DataFrame({PREDICTION_COLUMN: predictions.labels})
    for index, name in enumerate(predictions.classes):
        frame[f"proba_{name}"] = predictions.probabilities[:, index]
    # One value for every row: a categorical column stores it once, in memory and in Parquet.
    frame[VERSION_COLUMN] = pd.Categorical([predictions.model_version] * len(frame))
    return frame


def score_in_process(model: Any, features: pd.DataFrame, model_version: str) -> Predictions:
    """What the served model answers (label = the most probable class), computed here."""
    probabilities = np.vstack(
        [
            model.predict_proba(features.iloc[start : start + IN_PROCESS_SLICE_ROWS])
            for start in range(0, max(len(features), 1), IN_PROCESS_SLICE_ROWS)
        ]
    )
    classes = np.asarray(model.classes_)
    return Predictions(
        labels=classes[probabilities.argmax(axis=1)].tolist(),
        probabilities=probabilities,
        classes=[str(name) for name in classes],
        model_version=model_version,
    )


def with_predictions(rows: pd.DataFrame, predictions: Predictions) -> pd.DataFrame:
    """The input rows with the prediction columns appended; a name clash is an error, not an overwrite."""
    answers = predictions_frame(predictions)
    clash = [name for name in answers.columns if name in rows.columns]
    if clash:
        raise DataValidationError(
            f"column '{clash[0]}': the batch already has it and the predictions would overwrite it; "
            "rename it in the input"
        )
    answers.index = rows.index
    return pd.concat([rows, answers], axis=1, copy=False)


def read_rows(data: Path) -> pd.DataFrame:
    """The rows of a CSV or Parquet file to score."""
    return load_source(source_for_path(data))


def predict_rows(rows: pd.DataFrame, base_url: str, model_name: str, out: Path | None) -> pd.DataFrame:
    """The endpoint's predictions for `rows`, written to `out` when given."""
    result = predictions_frame(V2Client(base_url, model_name).predict(rows))
    if out is not None:
        write_table(result, out)
    return result


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """CSV or Parquet by suffix, written to a temporary name first so no half file is left."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", *PARQUET_SUFFIXES):
        raise ConfigError(f"{path}: use a .csv or .parquet file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        write_atomically(path, lambda target: frame.to_csv(target, index=False))
    else:
        write_atomically(path, lambda target: frame.to_parquet(target, index=False))


class EndpointMismatch(ConfigError):
    """The live endpoint serves another model version than the one asked for."""


def score_on_endpoint(
    client: V2Client, features: pd.DataFrame, model_version: str, request_rows: int
) -> Predictions:
    """Score on the live endpoint, `request_rows` per request, if it serves `model_version`.

    One row goes first: an endpoint serving another version raises EndpointMismatch, so a batch is
    never labelled with the wrong version.
    """
    served = client.predict(features.head(1)).model_version
    if served != model_version:
        raise EndpointMismatch(f"{client.model_url} serves version {served}, not {model_version}")
    return client.predict(features, batch_rows=request_rows)
