"""Data drift of new rows against a model's training data, with Evidently: the project's one Evidently module.

It uses `evidently.legacy` (Evidently 0.7's `Report` with `DataDriftPreset`), the API ZenML's Evidently
integration is written against, because its result names, per column, the test, its threshold, the
score and whether the column drifted; the run metadata is read from that same result, so the numbers
in a run and in its HTML report cannot disagree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from core.errors import DataValidationError
from core.types import StrictModel
from core.validation import FeatureSchema

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

PREDICTED_CLASS = "predicted class"

# Evidently's stattest names; `auto` lets it choose by column type and size (Wasserstein / Jensen-Shannon
# distance for large samples, K-S / chi-square below 1,000 rows).
StatTest = Literal[
    "auto", "ks", "wasserstein", "psi", "jensenshannon", "kl_div", "chisquare", "z", "hellinger"
]


class DriftConfig(StrictModel):
    """How drift is judged: the per-column test and its threshold, the share of drifted columns from
    which the whole batch counts as drifted, and the largest sample of each side the test looks at."""

    renamed: ClassVar[dict[str, str]] = {
        "drift_share": "drift_share_threshold",
        "threshold": "column_threshold",
    }

    numeric_test: StatTest = "auto"
    """Evidently's test for numeric columns; `auto` chooses by column size."""
    categorical_test: StatTest = "auto"
    """Evidently's test for categorical columns."""
    # p-value for tests (ks, chisquare, z), distance for the others; None: Evidently's default (0.05 / 0.1)
    column_threshold: float | None = Field(default=None, gt=0)
    """Per-column threshold: a p-value for ks, chisquare, z, a distance for the others;
    none: Evidently's (0.05 / 0.1)."""
    drift_share_threshold: float = Field(default=0.5, gt=0, le=1)
    """Share of drifted feature columns from which the batch counts as drifted (and retraining starts)."""
    sample_rows: int | None = Field(default=100_000, ge=1_000)
    """Each side is sampled down to this many rows (seeded); none: all rows."""
    seed: int = 42
    """Seed of the samples."""


class ColumnDrift(BaseModel):
    model_config = ConfigDict(frozen=True)

    column: str
    test: str
    threshold: float
    score: float
    drifted: bool


class DriftResult(BaseModel):
    """What a drift check found: the numbers that become run metadata and Prometheus metrics.

    `drift_share` is measured (the share of feature columns that drifted); `drift_share_threshold`
    is the configured share from which the batch counts as drifted.
    """

    model_config = ConfigDict(frozen=True)

    dataset_drift: bool
    drift_share: float
    drifted_columns: list[str]
    n_rows: int
    n_reference_rows: int
    compared_rows: int
    compared_reference_rows: int
    drift_share_threshold: float
    columns: list[ColumnDrift]
    prediction_drift: list[ColumnDrift] = []
    """The model's predicted class and probabilities on the batch against those on its training
    data (not counted in `drift_share`, which is about the features)."""

    @property
    def predictions_drifted(self) -> bool:
        return any(column.drifted for column in self.prediction_drift)


def sample(frame: pd.DataFrame, rows: int | None, seed: int) -> pd.DataFrame:
    """At most `rows` rows, drawn without replacement with a fixed seed; all of them if fewer."""
    if rows is None or len(frame) <= rows:
        return frame
    return frame.sample(n=rows, random_state=seed)


def check_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    schema: FeatureSchema,
    config: DriftConfig,
    model: Pipeline | None = None,
    batch_rows: int | None = None,
) -> tuple[DriftResult, str]:
    """Compare the model's features in `current` with `reference` and, given the model, its
    predictions on both; returns the result and the HTML report. `current` may already be a sample
    of a batch of `batch_rows` rows."""
    from evidently.legacy.metric_preset import DataDriftPreset
    from evidently.legacy.metrics import ColumnDriftMetric
    from evidently.legacy.pipeline.column_mapping import ColumnMapping
    from evidently.legacy.report import Report

    if current.empty:
        raise DataValidationError("batch: no rows to check for drift")
    features = schema.features
    numeric = schema.of_kind("numeric", "integer")
    categorical = schema.of_kind("categorical", "boolean")
    compared = sample(current[features], config.sample_rows, config.seed)
    compared_reference = sample(reference[features], config.sample_rows, config.seed)
    predicted: list[str] = []
    if model is not None:
        compared, predicted = _with_predictions(model, compared, schema)
        compared_reference, _ = _with_predictions(model, compared_reference, schema)
    report = Report(
        metrics=[
            DataDriftPreset(
                columns=features,
                drift_share=config.drift_share_threshold,
                num_stattest=None if config.numeric_test == "auto" else config.numeric_test,
                cat_stattest=None if config.categorical_test == "auto" else config.categorical_test,
                stattest_threshold=config.column_threshold,
            ),
            *(
                ColumnDriftMetric(column_name=name, stattest_threshold=config.column_threshold)
                for name in predicted
            ),
        ]
    )
    report.run(
        reference_data=_for_evidently(compared_reference, categorical + predicted[:1]),
        current_data=_for_evidently(compared, categorical + predicted[:1]),
        column_mapping=ColumnMapping(
            target=None,
            prediction=None,
            numerical_features=numeric + [name for name in predicted if name != PREDICTED_CLASS],
            categorical_features=categorical + [name for name in predicted if name == PREDICTED_CLASS],
        ),
    )
    sizes = {
        "n_rows": len(current) if batch_rows is None else batch_rows,
        "n_reference_rows": len(reference),
        "compared_rows": len(compared),
        "compared_reference_rows": len(compared_reference),
    }
    return _read_result(report.as_dict(), config.drift_share_threshold, sizes), report.get_html()


def _with_predictions(
    model: Pipeline, frame: pd.DataFrame, schema: FeatureSchema
) -> tuple[pd.DataFrame, list[str]]:
    """The frame with the model's predicted class and probabilities (of the positive class for two
    classes, of each class otherwise) as extra columns; returns it and their names."""
    from core.modeling import prepare_features

    features = prepare_features(frame, schema)
    probabilities = model.predict_proba(features)
    classes = list(model.classes_)
    shown = range(1, 2) if len(classes) == 2 else range(len(classes))
    columns = {PREDICTED_CLASS: model.predict(features)}
    columns |= {f"probability of {classes[i]}": probabilities[:, i] for i in shown}
    return frame.assign(**columns), list(columns)


def _for_evidently(frame: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    """Categories as strings (missing kept missing), so a column of mixed `1`/`"1"` is one category."""
    frame = frame.copy()
    for name in categorical:
        values = frame[name]
        frame[name] = values.astype(object).where(values.isna(), values.astype(str))
    return frame


def _column_drift(name: str, result: dict[str, Any]) -> ColumnDrift:
    return ColumnDrift(
        column=str(name),
        test=str(result["stattest_name"]),
        threshold=float(result["stattest_threshold"]),
        score=float(result["drift_score"]),
        drifted=bool(result["drift_detected"]),
    )


def _read_result(report: dict[str, Any], share_threshold: float, sizes: dict[str, int]) -> DriftResult:
    by_metric = {metric["metric"]: metric["result"] for metric in report["metrics"]}
    dataset, table = by_metric["DatasetDriftMetric"], by_metric["DataDriftTable"]
    prediction_drift = [
        _column_drift(metric["result"]["column_name"], metric["result"])
        for metric in report["metrics"]
        if metric["metric"] == "ColumnDriftMetric"
    ]
    columns = [_column_drift(name, column) for name, column in table["drift_by_columns"].items()]
    return DriftResult(
        dataset_drift=bool(dataset["dataset_drift"]),
        drift_share=float(dataset["share_of_drifted_columns"]),
        drifted_columns=[column.column for column in columns if column.drifted],
        drift_share_threshold=share_threshold,
        columns=columns,
        prediction_drift=prediction_drift,
        **sizes,
    )
