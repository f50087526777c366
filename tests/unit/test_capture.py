"""core/capture.py: what the endpoint captures and how a stream entry of captures becomes rows."""

from __future__ import annotations

import json
import math

import numpy as np
import orjson
import pandas as pd
import pytest

from core.capture import (
    UnusableCapture,
    Values,
    capture_record,
    captured_rows,
    encoded_batch,
    label_key,
    label_keys,
    with_labels,
)


def test_an_entry_written_as_the_endpoint_writes_it_becomes_one_row_per_request_row() -> None:
    inputs: dict[str, Values] = {"age": np.array([31.0, np.nan]), "city": ["Oslo", None]}
    captures = [
        capture_record("a", "3", inputs, np.array([1, 0]), 10.0),
        capture_record("b", "3", inputs, ["x"], 11.0),
    ]
    captures[1]["inputs"] = {"age": [5.0], "city": ["Bergen"]}
    written = encoded_batch([orjson.dumps(c, option=orjson.OPT_SERIALIZE_NUMPY) for c in captures])

    rows = pd.DataFrame(captured_rows(json.loads(written)))

    assert rows["request_id"].tolist() == ["a", "a", "b"] and rows["request_row"].tolist() == [0, 1, 0]
    assert rows["age"].iloc[0] == 31.0 and rows["age"].isna().tolist() == [False, True, False]
    assert rows["city"].tolist() == ["Oslo", None, "Bergen"]
    assert rows["prediction"].tolist() == [1, 0, "x"] and set(rows["served_version"]) == {"3"}
    assert rows["captured_at"].tolist() == [10.0, 10.0, 11.0]
    assert label_keys(rows) == ["a/0", "a/1", "b/0"] == [label_key("a"), label_key("a", 1), label_key("b")]


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ({"request_id": "a"}, "not an entry of captures"),
        ({"captures": [{"request_id": "a"}]}, "not a capture (KeyError"),
        (
            {"captures": [{"request_id": "a", "inputs": [], "predictions": [1], "captured_at": 1}]},
            "must be an object",
        ),
        (
            {
                "captures": [
                    {"request_id": "a", "inputs": {"x": [1, 2]}, "predictions": [1], "captured_at": 1}
                ]
            },
            "one value per row",
        ),
        (
            {
                "captures": [
                    {"request_id": "a", "inputs": {"prediction": [1]}, "predictions": [1], "captured_at": 1}
                ]
            },
            "input 'prediction' has the name of a capture column",
        ),
    ],
)
def test_an_entry_that_cannot_become_rows_says_why(entry: dict[str, object], reason: str) -> None:
    with pytest.raises(UnusableCapture, match=reason.replace("(", r"\(")):
        captured_rows(entry)


def test_labels_join_by_request_and_row_and_missing_ones_stay_missing() -> None:
    rows = pd.DataFrame(
        captured_rows(
            json.loads(
                encoded_batch([orjson.dumps(capture_record("a", None, {"x": [1.0, 2.0]}, [0, 1], 1.0))])
            )
        )
    )

    joined = with_labels(rows, [1, None], "target")

    assert joined["target"].tolist() == [1, None] and not math.isnan(joined["x"].iloc[1])
    with pytest.raises(ValueError, match="input named 'x', the label column"):
        with_labels(rows, [1, None], "x")


def test_labels_stored_with_gaps_come_back_as_the_models_integer_classes() -> None:
    from core.sources import DemoSource, load_source
    from core.validation import ValidationConfig, infer_schema, labeled_rows

    frame = load_source(DemoSource(kind="demo"))
    schema = infer_schema(frame, "target", ValidationConfig()).model_copy(update={"classes": [0, 1]})
    batch = frame.head(4).assign(
        target=[1.0, np.nan, 0.0, np.nan]
    )  # as Parquet gives an int column with gaps

    labeled = labeled_rows(batch, schema)

    assert labeled["target"].dtype == "int64" and labeled["target"].tolist() == [1, 0]
