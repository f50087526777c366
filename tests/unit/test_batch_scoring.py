"""Batch checks and in-process scoring: core/validation.validate_batch and core/scoring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from core.errors import ConfigError, DataValidationError
from core.modeling import TrainConfig, fit_model
from core.scoring import score_in_process, with_predictions, write_table
from core.validation import FeatureSchema, ValidationConfig, validate_batch, validate_training_data

DEMO = load_breast_cancer(as_frame=True).frame
RULES = ValidationConfig()


@pytest.fixture(scope="module")
def trained() -> tuple[Any, FeatureSchema]:
    data, schema = validate_training_data(DEMO, "target", RULES)
    config = TrainConfig(estimator="sklearn.linear_model.LogisticRegression", params={"max_iter": 2000})
    model, _ = fit_model(data, schema, config)
    return model, schema


def test_in_process_scores_equal_the_model(trained: tuple[Any, FeatureSchema]) -> None:
    model, _ = trained
    rows = DEMO.drop(columns="target").iloc[:250]

    predictions = score_in_process(model, rows, "3")

    np.testing.assert_array_equal(predictions.probabilities, model.predict_proba(rows))
    assert predictions.labels == model.predict(rows).tolist()
    assert predictions.classes == ["0", "1"]
    assert predictions.model_version == "3"


def test_predictions_keep_the_rows_and_refuse_to_overwrite(trained: tuple[Any, FeatureSchema]) -> None:
    model, _ = trained
    rows = DEMO.iloc[10:20]
    predictions = score_in_process(model, rows.drop(columns="target"), "1")

    scored = with_predictions(rows, predictions)

    assert list(scored.columns) == [*rows.columns, "prediction", "proba_0", "proba_1", "model_version"]
    assert scored.index.equals(rows.index)
    with pytest.raises(DataValidationError, match="column 'prediction': the batch already has it"):
        with_predictions(scored.drop(columns=["proba_0", "proba_1", "model_version"]), predictions)


def test_batch_is_checked_by_the_training_rules(trained: tuple[Any, FeatureSchema]) -> None:
    _, schema = trained
    batch = DEMO.drop(columns="target").head(30)

    assert validate_batch(batch, schema, labels="none").shape == batch.shape
    with pytest.raises(
        DataValidationError, match="column 'mean radius': the model needs it but it is missing"
    ):
        validate_batch(batch.drop(columns="mean radius"), schema, labels="none")
    wrong = batch.astype({"mean area": object})
    wrong.loc[wrong.index[0], "mean area"] = "huge"
    with pytest.raises(DataValidationError, match="column 'mean area': wrong type"):
        validate_batch(wrong, schema, labels="none")


def test_labeled_batch_needs_a_label_on_every_row(trained: tuple[Any, FeatureSchema]) -> None:
    _, schema = trained
    batch = DEMO.head(30).astype({"target": "float64"})

    with pytest.raises(DataValidationError, match="column 'target': a labeled batch needs the target"):
        validate_batch(batch.drop(columns="target"), schema, labels="every_row")
    batch.loc[batch.index[:2], "target"] = np.nan
    with pytest.raises(DataValidationError, match=r"column 'target': 2 row\(s\) have no label"):
        validate_batch(batch, schema, labels="every_row")


@pytest.mark.parametrize("name", ["out.csv", "nested/out.parquet"])
def test_tables_are_written_whole_by_suffix(tmp_path: Path, name: str) -> None:
    frame = pd.DataFrame({"x": [1.5, 2.5], "label": ["a", "b"]})

    write_table(frame, tmp_path / name)

    read = pd.read_csv if name.endswith(".csv") else pd.read_parquet
    pd.testing.assert_frame_equal(read(tmp_path / name), frame)
    assert [p.name for p in (tmp_path / name).parent.iterdir()] == [Path(name).name]


def test_unknown_output_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"out.xlsx: use a .csv or .parquet file name"):
        write_table(pd.DataFrame({"x": [1]}), tmp_path / "out.xlsx")
