"""core/metrics.py: held-out metrics for binary and multiclass models, and metric directions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk_metrics

from core.metrics import LOWER_IS_BETTER, SCORERS, compute_metrics, is_better_or_equal, passes_gate
from core.modeling import TrainConfig, fit_model, prepare_features
from core.validation import ValidationConfig, validate_training_data

LOGISTIC = TrainConfig(estimator="sklearn.linear_model.LogisticRegression", params={"max_iter": 200})


def make_frame(labels: list[str], n: int = 60, seed: int = 0) -> pd.DataFrame:
    """One informative numeric feature (noisy), one categorical, labels cycling through `labels`."""
    rng = np.random.default_rng(seed)
    y = np.array(labels)[np.arange(n) % len(labels)]
    signal = np.array([labels.index(label) for label in y], dtype=float) + rng.normal(scale=0.8, size=n)
    return pd.DataFrame(
        {"signal": signal, "shade": rng.choice(["dark", "light"], size=n).astype(object), "y": y}
    )


def fit_and_score(frame: pd.DataFrame) -> tuple[dict[str, float], pd.DataFrame, pd.Series]:
    checked, schema = validate_training_data(frame, "y", ValidationConfig())
    train, test = checked.iloc[:40], checked.iloc[40:]
    model, _ = fit_model(train, schema, LOGISTIC)
    features = prepare_features(test, schema)
    scores = compute_metrics(model, features, test["y"])
    probabilities = model.predict_proba(features)
    return scores, pd.DataFrame(probabilities, columns=model.classes_), test["y"]


def test_binary_string_labels_give_f1_and_roc_auc() -> None:
    scores, probabilities, labels = fit_and_score(make_frame(["no", "yes"]))
    assert set(scores) == {"accuracy", "balanced_accuracy", "f1_macro", "log_loss", "f1", "roc_auc"}
    assert all(isinstance(value, float) for value in scores.values())
    assert 0.5 < scores["accuracy"] <= 1.0
    expected_auc = sk_metrics.roc_auc_score(labels == "yes", probabilities["yes"])
    assert scores["roc_auc"] == pytest.approx(expected_auc)
    assert scores["log_loss"] == pytest.approx(sk_metrics.log_loss(labels, probabilities.to_numpy()))


def test_binary_f1_is_of_the_second_sorted_class() -> None:
    frame = make_frame(["no", "yes"])
    checked, schema = validate_training_data(frame, "y", ValidationConfig())
    model, _ = fit_model(checked.iloc[:40], schema, LOGISTIC)
    test = checked.iloc[40:]
    predicted = model.predict(prepare_features(test, schema))
    scores = compute_metrics(model, prepare_features(test, schema), test["y"])
    assert scores["f1"] == pytest.approx(sk_metrics.f1_score(test["y"], predicted, pos_label="yes"))
    assert scores["f1_macro"] == pytest.approx(sk_metrics.f1_score(test["y"], predicted, average="macro"))


def test_multiclass_string_labels_give_macro_metrics_without_f1() -> None:
    scores, probabilities, labels = fit_and_score(make_frame(["cat", "dog", "eel"]))
    assert set(scores) == {"accuracy", "balanced_accuracy", "f1_macro", "log_loss", "roc_auc"}
    assert "f1" not in scores
    expected_auc = sk_metrics.roc_auc_score(
        labels, probabilities.to_numpy(), multi_class="ovr", labels=probabilities.columns.tolist()
    )
    assert scores["roc_auc"] == pytest.approx(expected_auc)
    assert 0.0 <= scores["f1_macro"] <= 1.0


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_multiclass_without_every_class_in_test_skips_roc_auc() -> None:
    frame = make_frame(["cat", "dog", "eel"])
    checked, schema = validate_training_data(frame, "y", ValidationConfig())
    model, _ = fit_model(checked, schema, LOGISTIC)
    test = checked[checked["y"] != "eel"]
    scores = compute_metrics(model, prepare_features(test, schema), test["y"])
    assert "roc_auc" not in scores
    assert "f1" not in scores
    assert np.isfinite(scores["log_loss"])


def test_perfect_model_scores_one() -> None:
    frame = pd.DataFrame(
        {
            "signal": [0.0, 0.1, 0.2, 0.3, 5.0, 5.1, 5.2, 5.3] * 3,
            "y": ["a", "a", "a", "a", "b", "b", "b", "b"] * 3,
        }
    )
    checked, schema = validate_training_data(frame, "y", ValidationConfig())
    model, _ = fit_model(checked, schema, LOGISTIC)
    scores = compute_metrics(model, prepare_features(checked, schema), checked["y"])
    assert scores["accuracy"] == 1.0
    assert scores["f1"] == 1.0
    assert scores["roc_auc"] == 1.0
    assert scores["log_loss"] < 0.2


@pytest.mark.parametrize(
    ("metric", "challenger", "champion", "expected"),
    [
        ("f1_macro", 0.8, 0.7, True),
        ("f1_macro", 0.7, 0.7, True),
        ("f1_macro", 0.69, 0.7, False),
        ("roc_auc", 0.91, 0.9, True),
        ("log_loss", 0.3, 0.4, True),
        ("log_loss", 0.4, 0.4, True),
        ("log_loss", 0.5, 0.4, False),
    ],
)
def test_is_better_or_equal(metric: str, challenger: float, champion: float, expected: bool) -> None:
    assert is_better_or_equal(metric, challenger, champion) is expected  # type: ignore[arg-type]


def test_gate_is_a_minimum_except_for_log_loss() -> None:
    assert passes_gate("accuracy", 0.85, 0.85)
    assert not passes_gate("accuracy", 0.84, 0.85)
    assert passes_gate("log_loss", 0.3, 0.5)
    assert not passes_gate("log_loss", 0.6, 0.5)


def test_scorers_and_directions() -> None:
    assert set(LOWER_IS_BETTER) == {"log_loss"}
    assert SCORERS["roc_auc"] == "roc_auc_ovr"
    assert SCORERS["log_loss"] == "neg_log_loss"
