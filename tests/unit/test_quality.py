"""core/quality.py and core/retraining.py: a labeled batch's scores, the verdict, and the decision."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.drift import DriftResult
from core.modeling import TrainConfig, fit_model, prepare_features
from core.quality import (
    QualityConfig,
    QualityResult,
    assess_quality,
    classification_report_html,
    judge_quality,
)
from core.retraining import retraining_decision
from core.validation import ValidationConfig, validate_training_data

LOGISTIC = TrainConfig(estimator="sklearn.linear_model.LogisticRegression", params={"max_iter": 500})


def make_frame(n: int, seed: int, labels: tuple[str, ...] = ("cat", "dog", "owl")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = np.array(labels)[np.arange(n) % len(labels)]
    signal = np.array([labels.index(label) for label in y], dtype=float) + rng.normal(scale=0.3, size=n)
    return pd.DataFrame({"signal": signal, "noise": rng.normal(size=n), "y": y})


@pytest.fixture(scope="module")
def fitted() -> tuple[object, object]:
    frame, schema = validate_training_data(make_frame(300, 0), "y", ValidationConfig())
    model, _ = fit_model(frame, schema, LOGISTIC)
    return model, schema


def assess(
    fitted: tuple[object, object], batch: pd.DataFrame, config: QualityConfig, held_out: dict[str, float]
) -> QualityResult:
    model, schema = fitted
    return assess_quality(model, prepare_features(batch, schema), batch["y"], held_out, config)  # type: ignore[arg-type]


HELD_OUT = {"accuracy": 0.99, "roc_auc": 0.999, "f1_macro": 0.99, "log_loss": 0.05}


def test_good_labels_hold_and_wrong_labels_drop_against_held_out(fitted: tuple[object, object]) -> None:
    good = make_frame(150, 1)
    wrong = good.assign(y=good["y"].map({"cat": "dog", "dog": "owl", "owl": "cat"}))

    holds = assess(fitted, good, QualityConfig(), HELD_OUT)
    drops = assess(fitted, wrong, QualityConfig(), HELD_OUT)

    assert not holds.dropped and holds.scores["accuracy"] > 0.9
    assert set(drops.degraded) == {"accuracy", "roc_auc"}  # the default margins
    assert "vs 0.9900 held-out (allowed drop 0.05)" in drops.degraded["accuracy"]
    assert set(holds.scores) == {"accuracy", "balanced_accuracy", "f1_macro", "log_loss", "roc_auc"}


def test_floors_and_log_loss_as_a_maximum() -> None:
    scores = {"accuracy": 0.80, "log_loss": 0.40, "roc_auc": 0.95}
    config = QualityConfig(floors={"accuracy": 0.85, "log_loss": 0.3}, max_drop={"roc_auc": 0.01})

    degraded = judge_quality(scores, {"roc_auc": 0.97}, {}, config)

    assert degraded["accuracy"] == "0.8000 is past its floor 0.85"
    assert degraded["log_loss"] == "0.4000 is past its maximum 0.3"
    assert degraded["roc_auc"].startswith("0.9500 vs 0.9700 held-out")
    assert judge_quality({"log_loss": 0.2}, {"log_loss": 0.1}, {}, QualityConfig(max_drop={"log_loss": 0.05}))


def test_labels_the_model_never_saw_are_named_and_never_trigger(fitted: tuple[object, object]) -> None:
    batch = make_frame(90, 2)
    batch.loc[:9, "y"] = "yak"

    result = assess(fitted, batch, QualityConfig(floors={"roc_auc": 0.99, "log_loss": 0.01}), HELD_OUT)

    assert result.unseen_labels == ["yak"]
    assert result.not_computed["roc_auc"] == "10 rows carry labels the model has never seen (yak)"
    assert "log_loss" in result.not_computed
    assert "roc_auc" not in result.degraded and "log_loss" not in result.degraded
    assert result.scores["accuracy"] <= 80 / 90  # the unseen rows count as wrong


def test_one_class_batch_reports_roc_auc_as_not_computed(fitted: tuple[object, object]) -> None:
    batch = make_frame(90, 3)
    batch = batch[batch["y"] == "owl"]

    result = assess(fitted, batch, QualityConfig(), HELD_OUT)

    assert "needs at least two classes" in result.not_computed["roc_auc"]
    assert "roc_auc" not in result.degraded
    assert result.scores["accuracy"] > 0.8


def test_classification_report_with_unseen_labels_says_what_it_left_out(
    fitted: tuple[object, object],
) -> None:
    model, schema = fitted
    batch = make_frame(90, 4)
    batch.loc[:4, "y"] = "yak"
    result = assess(fitted, batch, QualityConfig(), held_out={})
    features = prepare_features(batch, schema).assign(y=batch["y"])  # type: ignore[arg-type]
    held_out = make_frame(60, 5)

    html = classification_report_html(model, features, held_out, ["signal", "noise"], "y", result)

    assert "5 rows with labels the model has never seen are left out below." in html
    assert "Production version on this batch (90 rows): quality holds" in html
    assert "evidently" in html.lower()


def drift(dataset_drift: bool) -> DriftResult:
    return DriftResult(
        dataset_drift=dataset_drift,
        drift_share=0.75 if dataset_drift else 0.0,
        drifted_columns=["a", "b", "c"] if dataset_drift else [],
        n_rows=10,
        n_reference_rows=10,
        compared_rows=10,
        compared_reference_rows=10,
        drift_share_threshold=0.5,
        columns=[],
    )


def quality(dropped: bool) -> QualityResult:
    return QualityResult(
        n_rows=10,
        scores={"accuracy": 0.6 if dropped else 0.97},
        held_out={"accuracy": 0.98},
        not_computed={},
        unseen_labels=[],
        degraded={"accuracy": "0.6000 vs 0.9800 held-out (allowed drop 0.05)"} if dropped else {},
    )


@pytest.mark.parametrize(
    ("drifted", "dropped", "reason"),
    [(False, False, "none"), (True, False, "drift"), (False, True, "quality"), (True, True, "both")],
)
def test_retraining_reason_names_the_trigger(drifted: bool, dropped: bool, reason: str) -> None:
    decision = retraining_decision(drift(drifted), quality(dropped))

    assert decision.reason == reason
    assert decision.retrain == (reason != "none")
    assert ("dataset drift: 3 of 0" if drifted else "no dataset drift") in decision.explanation
    assert (
        "quality dropped: accuracy 0.6000" if dropped else "quality holds (accuracy 0.9700)"
    ) in decision.explanation
