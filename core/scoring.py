"""Score rows with a model version, on its live V2 endpoint or in process, and keep the answers next to
the rows."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from core.capture import REQUEST_ID, REQUEST_ROW
from core.errors import ConfigError, DataValidationError
from core.files import write_atomically
from core.sources import PARQUET_SUFFIXES, load_source, source_for_path
from core.types import StrictModel
from core.v2_client import Predictions, V2Client

if TYPE_CHECKING:
    import pyarrow as pa


class SparkConfig(StrictModel):
    """Where and how Spark runs when `scoring.engine` is `spark` (the `spark` extra)."""

    master: str = "local[*]"
    """Spark's master URL: `local[*]` runs it in this process's machine; spark://host:7077, yarn or
    k8s://https://... send the work to a cluster."""
    conf: dict[str, str] = Field(default_factory=dict)
    """Spark settings, e.g. spark.executor.memory: 4g, or the s3a credentials of the input."""
    env_manager: Literal["local", "virtualenv", "uv", "conda"] = "local"
    """How `mlflow.pyfunc.spark_udf` gives executors the model's Python packages: `local` uses
    the driver's environment (local mode, or a cluster built from the same image)."""
    log_level: Literal["OFF", "FATAL", "ERROR", "WARN", "INFO", "DEBUG"] = "FATAL"
    """What Spark itself logs on the console once it runs: a refused or failed partition is one line
    from the CLI either way; ERROR and below add Spark's own account of it (Java stack traces)."""


class ScoringConfig(StrictModel):
    """How batch inference scores: in this process chunk by chunk (on the live endpoint when one
    serves the version, `mode`), or on Spark (`engine: spark`)."""

    engine: Literal["local", "spark"] = "local"
    """`local`: this process reads, scores and writes one chunk at a time; `spark`: Spark scores the
    files with the production version's MLflow model (`mlflow.pyfunc.spark_udf`)."""
    mode: Literal["auto", "endpoint", "in_process"] = "auto"
    """With the local engine, `auto`: the live endpoint if it serves this version, else in process;
    `endpoint`: only there; `in_process`: never there."""
    request_rows: int = Field(default=10_000, ge=1)
    """Rows per V2 request (keep it within the endpoint's `max_rows`)."""
    chunk_rows: int = Field(default=100_000, ge=1)
    """Rows read, checked, scored and written at a time by the local engine: memory holds about
    three chunks, whatever the size of the batch."""
    spark: SparkConfig = Field(default_factory=SparkConfig)
    """Spark's master and settings, for `engine: spark`."""


class OutputConfig(StrictModel):
    """Where predictions are written: the folder `<folder>/<model>-v<version>-<run>/`, one part per
    input file, complete when it holds `_SUCCESS`."""

    folder: str = "predictions"
    """A path or a URI (s3://, gs://, az://, through the active stack's artifact store credentials)."""
    format: Literal["parquet", "csv"] = "parquet"
    """File format of the parts."""


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
    _check_no_clash(rows.columns, answers.columns)
    answers.index = rows.index
    return pd.concat([rows, answers], axis=1, copy=False)


def predictions_table(rows: pd.DataFrame, predictions: Predictions) -> pa.Table:
    """`with_predictions` as an Arrow table with the same columns and types, built without the
    per-row Python objects a DataFrame of labels would cost: what a batch's output parts hold."""
    import pyarrow as pa

    table = pa.Table.from_pandas(rows, preserve_index=False)
    names = [PREDICTION_COLUMN, *(f"proba_{name}" for name in predictions.classes), VERSION_COLUMN]
    _check_no_clash(rows.columns, names)
    table = table.append_column(PREDICTION_COLUMN, pa.array(np.asarray(predictions.labels)))
    for index, name in enumerate(predictions.classes):
        table = table.append_column(f"proba_{name}", pa.array(predictions.probabilities[:, index]))
    version = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(len(rows), dtype=np.int8)), pa.array([predictions.model_version])
    )
    return table.append_column(VERSION_COLUMN, version)


def _check_no_clash(rows: Iterable[Any], answers: Iterable[str]) -> None:
    present = set(rows)
    clash = [name for name in answers if name in present]
    if clash:
        raise DataValidationError(
            f"column '{clash[0]}': the batch already has it and the predictions would overwrite it; "
            "rename it in the input"
        )


def read_rows(data: Path) -> pd.DataFrame:
    """The rows of a CSV or Parquet file to score."""
    return load_source(source_for_path(data))


def predict_rows(rows: pd.DataFrame, base_url: str, model_name: str, out: Path | None) -> pd.DataFrame:
    """`rows` with the endpoint's predictions appended, and the request id and row that carried
    each (labels sent later with `run.py labels` name their rows by them), written to `out` when
    given. Only the columns the served model takes are sent; the others (a label, an id) stay
    beside the answers."""
    client = V2Client(base_url, model_name)
    inputs = client.input_names()
    missing = [name for name in inputs if name not in rows]
    if missing:
        raise DataValidationError(f"column '{missing[0]}': the served model takes it but the data lacks it")
    predictions = client.predict(rows[inputs] if inputs else rows)
    result = with_predictions(rows, predictions)
    if predictions.request_ids:  # what a label that arrives later names its row by
        ids = pd.Series(predictions.request_ids, index=rows.index)
        _check_no_clash(rows.columns, [REQUEST_ID, REQUEST_ROW])
        result[REQUEST_ID], result[REQUEST_ROW] = ids, ids.groupby(ids).cumcount()
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
