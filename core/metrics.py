"""Held-out metrics of a fitted classifier, the same for training, promotion and retraining."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.types import MetricName, SearchMetric

if TYPE_CHECKING:  # scikit-learn loads when metrics are computed, not when a config is checked
    import pandas as pd
    from sklearn.pipeline import Pipeline

LOWER_IS_BETTER: frozenset[MetricName] = frozenset({"log_loss"})
SCORERS: dict[SearchMetric, str] = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced_accuracy",
    "f1_macro": "f1_macro",
    "roc_auc": "roc_auc_ovr",
    "log_loss": "neg_log_loss",
}


def compute_metrics(model: Pipeline, features: pd.DataFrame, labels: pd.Series) -> dict[str, float]:
    """accuracy, balanced accuracy, macro F1 and log loss always; F1 of the positive class
    (the second of the sorted classes) and ROC AUC for binary labels; one-vs-rest ROC AUC otherwise."""
    from sklearn import metrics

    predicted = model.predict(features)
    probabilities = model.predict_proba(features)
    classes = model.classes_
    scores = {
        "accuracy": metrics.accuracy_score(labels, predicted),
        "balanced_accuracy": metrics.balanced_accuracy_score(labels, predicted),
        "f1_macro": metrics.f1_score(labels, predicted, average="macro"),
        "log_loss": metrics.log_loss(labels, probabilities, labels=classes),
    }
    if len(classes) == 2:
        scores["f1"] = metrics.f1_score(labels, predicted, pos_label=classes[1])
        scores["roc_auc"] = metrics.roc_auc_score(labels == classes[1], probabilities[:, 1])
    elif labels.nunique() == len(classes):
        scores["roc_auc"] = metrics.roc_auc_score(labels, probabilities, multi_class="ovr", labels=classes)
    return {name: float(value) for name, value in scores.items()}


def is_better_or_equal(metric: MetricName, challenger: float, champion: float) -> bool:
    if metric in LOWER_IS_BETTER:
        return challenger <= champion
    return challenger >= champion


def passes_gate(metric: MetricName, value: float, threshold: float) -> bool:
    return is_better_or_equal(metric, value, threshold)
