"""What the endpoint captures of each request, and how captured requests become rows.

One capture per request: its id (the V2 `id` the caller got back), when, which model version
answered, the feature columns as sent, and the answers. A request of many rows is one capture;
each row is known by the request id and its position (`request_row`), which is also how a label
that arrives later finds its row (`label_key`).

The MLServer runtime builds captures with `capture_record` and writes them in batches, one stream
entry each (`encoded_batch`; this file is copied beside it, so it imports nothing but numpy,
pandas and the standard library); `captured_rows` turns an entry back into the rows the drift
and quality checks read, and `with_labels` joins the labels that arrived.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

REQUEST_ID = "request_id"
REQUEST_ROW = "request_row"
SERVED_VERSION = "served_version"
CAPTURED_AT = "captured_at"
PREDICTION = "prediction"
Values = Sequence[Any] | np.ndarray
"""A column's values or the answers: a list, or a numpy array for a writer that serialises arrays."""
CAPTURES = "captures"  # the key of a stream entry's list of captures
CAPTURE_COLUMNS = (REQUEST_ID, REQUEST_ROW, SERVED_VERSION, CAPTURED_AT, PREDICTION)
"""Columns a captured row has besides its features (and, once joined, its label)."""


class UnusableCapture(ValueError):
    """A capture that cannot become rows (the message says why: the dead letter's reason)."""


def capture_record(
    request_id: str,
    model_version: str | None,
    inputs: Mapping[str, Values],
    predictions: Values,
    captured_at: float | None = None,
) -> dict[str, Any]:
    """The capture of one answered request, ready to be written as JSON: the values as given
    (lists, or numpy arrays for a writer that serialises them, as the endpoint's does)."""
    return {
        "request_id": request_id,
        "captured_at": time.time() if captured_at is None else captured_at,
        "model_version": model_version,
        "inputs": dict(inputs),
        "predictions": predictions,
    }


def encoded_batch(encoded_captures: list[bytes]) -> bytes:
    """One stream entry (Kafka message): the captures, each serialised as JSON by the writer, in the
    order the requests were answered, under `CAPTURES`."""
    return b'{"' + CAPTURES.encode() + b'":[' + b",".join(encoded_captures) + b"]}"


def label_key(request_id: str, request_row: int = 0) -> str:
    """How a label names its row: the request's id and the row's position in it."""
    return f"{request_id}/{int(request_row)}"


def captured_rows(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per request row of a stream entry's captures (`encoded_batch`): its features, the
    prediction it got, and which request, row and version it was; an entry that is not one raises
    UnusableCapture."""
    captures = entry.get(CAPTURES)
    if not isinstance(captures, list):
        raise UnusableCapture(f"not an entry of captures (no list '{CAPTURES}')")
    rows: list[dict[str, Any]] = []
    for capture in captures:
        try:
            request_id = str(capture["request_id"])
            inputs: Mapping[str, Sequence[Any]] = capture["inputs"]
            predictions: Sequence[Any] = capture["predictions"]
            captured_at = float(capture["captured_at"])
            version = capture.get("model_version")
        except (KeyError, TypeError, ValueError) as error:
            raise UnusableCapture(f"not a capture ({type(error).__name__}: {error})") from None
        if not isinstance(inputs, Mapping) or not isinstance(predictions, list):
            raise UnusableCapture("not a capture (`inputs` must be an object, `predictions` a list)")
        clashing = sorted(set(inputs) & {*CAPTURE_COLUMNS})
        if clashing:
            raise UnusableCapture(f"input '{clashing[0]}' has the name of a capture column")
        lengths = {len(values) for values in inputs.values() if isinstance(values, list)}
        if (
            len(lengths) != 1
            or lengths != {len(predictions)}
            or len(inputs) != sum(isinstance(values, list) for values in inputs.values())
        ):
            raise UnusableCapture("inputs and predictions do not have one value per row each")
        for row, prediction in enumerate(predictions):
            values = {name: column[row] for name, column in inputs.items()}
            rows.append(
                values
                | {
                    REQUEST_ID: request_id,
                    REQUEST_ROW: row,
                    SERVED_VERSION: None if version is None else str(version),
                    CAPTURED_AT: captured_at,
                    PREDICTION: prediction,
                }
            )
    return rows


def label_keys(rows: pd.DataFrame) -> list[str]:
    """The label key of each captured row."""
    return [label_key(str(r), int(n)) for r, n in zip(rows[REQUEST_ID], rows[REQUEST_ROW], strict=True)]


def with_labels(rows: pd.DataFrame, labels: Sequence[Any], target: str) -> pd.DataFrame:
    """Captured rows with the labels that arrived (None where none has) as the `target` column."""
    if target in rows.columns:
        raise ValueError(f"the captured requests have an input named '{target}', the label column")
    return rows.assign(**{target: pd.Series(list(labels), index=rows.index, dtype="object")})
