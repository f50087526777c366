"""A new user's own data, by `--data` and `--target` as the "Your own data" tutorial says: a
multiclass file with string labels, categorical columns and gaps, and a binary one with integer
labels in Parquet; each trained, served and scored in batch with the answers of the model in memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.docs_blocks import doc_block
from tests.integration.conftest import make_multiclass_frame
from tests.journeys.conftest import answers_in_memory, infer, model_show, prediction_url
from tests.journeys.workspace import Workspace

pytestmark = pytest.mark.journey

TOLERANCE = 1e-5


def churn_frame(rows: int = 400, seed: int = 11) -> pd.DataFrame:
    """Binary, integer labels, numeric and boolean features."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, rows)
    charges = rng.normal(60, 20, rows)
    churned = ((charges / 30 - tenure / 24 + rng.normal(0, 0.2, rows)) > 0).astype(int)
    return pd.DataFrame(
        {
            "tenure": tenure,
            "monthly_charges": charges,
            "paperless": rng.random(rows) > 0.5,
            "churned": churned,
        }
    )


def test_the_tutorials_command_trains_a_multiclass_model_with_string_labels_categories_and_gaps(
    adopter: Workspace,
) -> None:
    data = make_multiclass_frame().rename(columns={"species": "label"})
    data.to_csv(adopter.root / "my_data.csv", index=False)

    output = adopter.bash(doc_block("own-data"))

    assert "my_model version 1" in output
    version = model_show(adopter, "--model-name", "my_model")
    assert version["stage"] == "production"
    assert version["lineage"]["source"] == "data file 'my_data.csv'"
    assert version["metrics"]["f1_macro"] > 0.8


def test_it_is_served_and_scored_in_batch_as_the_model_in_memory(adopter: Workspace, tmp_path: Path) -> None:
    rows = make_multiclass_frame(n_rows=60, seed=3).drop(columns="species")
    rows_file = tmp_path / "rows.csv"
    rows.to_csv(rows_file, index=False)
    expected = answers_in_memory(adopter, "my_model", "1", rows_file)
    assert set(expected["labels"]) <= {"setosa", "versicolor", "virginica"}

    url = prediction_url(adopter.cli("--pipeline", "deployment", "--model-name", "my_model"))
    answer = infer(url, "my_model", pd.read_csv(rows_file))
    assert answer["status_code"] == 200, answer
    outputs = {output["name"]: output for output in answer["outputs"]}
    assert outputs["label"]["data"] == expected["labels"]
    np.testing.assert_allclose(
        np.asarray(outputs["probabilities"]["data"]).reshape(-1, 3), expected["probabilities"], atol=TOLERANCE
    )

    adopter.cli("--pipeline", "batch-inference", "--data", str(rows_file), "--model-name", "my_model")
    (location,) = (adopter.root / "predictions").glob("my_model-v1-*")
    scored = pd.read_parquet(next(location.glob("part-*.parquet")))
    assert scored["prediction"].tolist() == expected["labels"]
    adopter.cli("deployment", "stop", "--model-name", "my_model")


def test_a_binary_parquet_file_with_integer_labels(adopter: Workspace, tmp_path: Path) -> None:
    data = tmp_path / "churn.parquet"
    churn_frame().to_parquet(data)

    adopter.cli("--pipeline", "training", "--data", str(data), "--target", "churned", "--model-name", "churn")

    version = model_show(adopter, "--model-name", "churn")
    assert version["stage"] == "production"
    assert version["metrics"]["roc_auc"] > 0.8
    rows_file = tmp_path / "rows.csv"
    churn_frame(rows=20, seed=4).drop(columns="churned").to_csv(rows_file, index=False)
    assert set(answers_in_memory(adopter, "churn", "1", rows_file)["labels"]) <= {0, 1}
