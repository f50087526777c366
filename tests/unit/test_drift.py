"""core/drift.py with the real Evidently: what counts as drift, sampling, and the report's numbers."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from core.drift import DriftConfig, check_drift, sample
from core.errors import DataValidationError
from core.modeling import TrainConfig, fit_model
from core.validation import FeatureSchema

SCHEMA = FeatureSchema(
    target="label",
    columns={"a": "numeric", "b": "numeric", "n": "integer", "colour": "categorical"},
    classes=["no", "yes"],
)
REPORT_SUMMARY = re.compile(r"Drift is detected for ([0-9.]+)% of columns \((\d+) out of (\d+)\)")


def frame(rows: int, seed: int, shift: float = 0.0, colours: str = "rgb") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(shift, 1.0, rows),
            "b": rng.normal(0.0, 1.0, rows),
            "n": rng.integers(0, 10, rows),
            "colour": rng.choice(list(colours), rows),
            "label": rng.choice(["no", "yes"], rows),
            "row_id": np.arange(rows),
        }
    )


def test_batch_from_the_same_distribution_has_no_drift() -> None:
    result, html = check_drift(frame(3000, 1), frame(2000, 2), SCHEMA, DriftConfig())

    assert not result.dataset_drift
    assert result.drifted_columns == []
    assert result.drift_share == 0.0
    assert {column.column for column in result.columns} == set(SCHEMA.features)
    assert (result.n_rows, result.n_reference_rows) == (2000, 3000)
    assert html.lstrip().lower().startswith("<!doctype html>")


def test_shifted_columns_are_named_and_the_share_decides() -> None:
    shifted = frame(2000, 2, shift=1.5, colours="rrrgb")

    lenient, _ = check_drift(frame(3000, 1), shifted, SCHEMA, DriftConfig(drift_share_threshold=0.75))
    strict, _ = check_drift(frame(3000, 1), shifted, SCHEMA, DriftConfig(drift_share_threshold=0.5))

    assert lenient.drifted_columns == strict.drifted_columns == ["a", "colour"]
    assert lenient.drift_share == strict.drift_share == 0.5
    assert not lenient.dataset_drift
    assert strict.dataset_drift
    drifted = {column.column: column for column in strict.columns}
    assert drifted["a"].drifted and drifted["a"].score > drifted["a"].threshold


def test_report_html_says_what_the_result_says() -> None:
    result, html = check_drift(frame(3000, 1), frame(2000, 2, shift=1.5), SCHEMA, DriftConfig())

    share, count, total = REPORT_SUMMARY.search(html).groups()  # type: ignore[union-attr]
    assert float(share) == pytest.approx(100 * result.drift_share, abs=1e-3)
    assert (int(count), int(total)) == (len(result.drifted_columns), len(result.columns))
    for column in result.drifted_columns:
        assert f'"{column}"' in html


def test_configured_test_and_threshold_are_used() -> None:
    config = DriftConfig(numeric_test="psi", categorical_test="jensenshannon", column_threshold=0.5)

    result, _ = check_drift(frame(3000, 1), frame(2000, 2, shift=0.3), SCHEMA, config)

    by_column = {column.column: column for column in result.columns}
    assert by_column["a"].test.startswith("PSI")
    assert by_column["colour"].test.startswith("Jensen-Shannon")
    assert all(column.threshold == 0.5 for column in result.columns)
    assert not by_column["a"].drifted  # a PSI of a 0.3-sigma shift is far below 0.5


def test_large_sides_are_sampled_to_the_cap_with_a_seed() -> None:
    reference, current = frame(5000, 1), frame(4000, 2)
    config = DriftConfig(sample_rows=1000)

    first, _ = check_drift(reference, current, SCHEMA, config)
    again, _ = check_drift(reference, current, SCHEMA, config)

    assert (first.compared_rows, first.compared_reference_rows) == (1000, 1000)
    assert (first.n_rows, first.n_reference_rows) == (4000, 5000)
    assert first.columns == again.columns
    assert len(sample(current, None, 0)) == 4000


def test_empty_batch_is_refused() -> None:
    with pytest.raises(DataValidationError, match="no rows"):
        check_drift(frame(100, 1), frame(100, 2).iloc[:0], SCHEMA, DriftConfig())


def test_mixed_category_types_are_one_category() -> None:
    reference = frame(3000, 1)
    reference["colour"] = pd.Series([1 if n > 4 else "1" for n in reference["n"]], dtype=object)
    current = frame(2000, 2).assign(colour="1")

    result, _ = check_drift(reference, current, SCHEMA, DriftConfig())

    assert "colour" not in result.drifted_columns


def test_predictions_drift_with_the_feature_they_follow() -> None:
    reference = frame(3000, 1).assign(label=lambda f: np.where(f["a"] > 0, "yes", "no"))
    model, _ = fit_model(reference, SCHEMA, TrainConfig(estimator="sklearn.linear_model.LogisticRegression"))

    clean, _ = check_drift(reference, frame(2000, 2), SCHEMA, DriftConfig(), model=model)
    shifted, html = check_drift(reference, frame(2000, 2, shift=1.0), SCHEMA, DriftConfig(), model=model)

    assert [column.column for column in shifted.prediction_drift] == ["predicted class", "probability of yes"]
    assert not clean.predictions_drifted
    assert shifted.predictions_drifted
    assert "probability of yes" in html
    assert shifted.drifted_columns == ["a"]  # the predictions are not counted among the features
    assert shifted.drift_share == 0.25
