"""What people look at to judge a classifier: confusion matrix, ROC and precision-recall curves
(one-vs-rest for several classes), calibration and permutation feature importance on held-out data.

Drawn with scikit-learn's display classes on matplotlib's non-interactive backend. Each part that
cannot be computed for the data (ROC with one class present, importance that fails) is named in
`unavailable` with the reason, and the rest goes on.
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from core.metrics import SCORERS
from core.types import SearchMetric, StrictModel

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure
    from sklearn.pipeline import Pipeline


class EvaluationConfig(StrictModel):
    """The plots and numbers of the evaluate step, on the held-out set."""

    importance_scoring: SearchMetric = "balanced_accuracy"
    """Metric whose drop, when a feature is shuffled, measures that feature's importance."""
    importance_repeats: int = Field(default=3, ge=1)
    """Shuffles per feature."""
    importance_rows: int = Field(default=5_000, ge=100)
    """Held-out rows the importance uses at most (a seeded sample); the curves use every row."""
    calibration_bins: int = Field(default=10, ge=2)
    """Bins of predicted probability in the calibration curve."""
    top_features: int = Field(default=20, ge=1)
    """Features shown in the importance plot (all are in the metadata)."""
    seed: int = 42
    """Seed of the shuffles and the sample."""


@dataclass
class Evaluation:
    """Plots by name (PNG), the numbers behind them (JSON-ready) and what could not be computed, why."""

    plots: dict[str, bytes] = field(default_factory=dict)
    numbers: dict[str, Any] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)


def evaluate_classifier(
    model: Pipeline, features: pd.DataFrame, labels: pd.Series, config: EvaluationConfig
) -> Evaluation:
    import matplotlib

    matplotlib.use("Agg")  # files, never a window
    classes = [str(name) for name in model.classes_]
    predicted = model.predict(features)
    probabilities = model.predict_proba(features)
    evaluation = Evaluation()
    parts: tuple[tuple[str, Callable[[], tuple[Figure, dict[str, Any]]]], ...] = (
        ("confusion_matrix", lambda: _confusion_matrix(labels, predicted, model.classes_)),
        ("roc_curve", lambda: _curves("roc", labels, probabilities, model.classes_)),
        ("precision_recall_curve", lambda: _curves("pr", labels, probabilities, model.classes_)),
        ("calibration_curve", lambda: _calibration(labels, probabilities, model.classes_, config)),
        ("permutation_importance", lambda: _importance(model, features, labels, config)),
    )
    for name, draw in parts:
        try:
            figure, numbers = draw()
        except (ValueError, TypeError, KeyError, IndexError) as error:
            evaluation.unavailable[name] = f"{type(error).__name__}: {error}"
            continue
        evaluation.plots[name] = figure_png(figure)
        evaluation.numbers[name] = numbers
    evaluation.numbers["classes"] = classes
    evaluation.numbers["rows"] = len(features)
    return evaluation


def _confusion_matrix(labels: pd.Series, predicted: Any, classes: Any) -> tuple[Figure, dict[str, Any]]:
    from sklearn.metrics import ConfusionMatrixDisplay

    display = ConfusionMatrixDisplay.from_predictions(labels, predicted, labels=classes, colorbar=False)
    display.ax_.set_title("Confusion matrix (held-out)")
    return display.figure_, {
        "labels": [str(name) for name in classes],
        "matrix": display.confusion_matrix.tolist(),
    }


def _one_vs_rest(
    labels: pd.Series, probabilities: Any, classes: Any
) -> tuple[list[tuple[str, Any, Any]], list[str]]:
    """(class, whether each row is of it, its predicted probability) for the positive class of two
    classes, for every class otherwise; and the classes left out because the labels lack a side
    (a curve needs rows of the class and rows of others)."""
    shown = [classes[1]] if len(classes) == 2 else list(classes)
    counts = labels.value_counts()
    usable = [name for name in shown if 0 < counts.get(name, 0) < len(labels)]
    if not usable:
        raise ValueError(f"needs at least two classes in the labels; found {sorted(map(str, counts.index))}")
    sides = [
        (str(name), np.asarray(labels == name), probabilities[:, list(classes).index(name)])
        for name in usable
    ]
    return sides, [str(name) for name in shown if name not in usable]


def _curves(kind: str, labels: pd.Series, probabilities: Any, classes: Any) -> tuple[Figure, dict[str, Any]]:
    """ROC (`roc`) or precision-recall (`pr`): the positive class for two classes, one-vs-rest otherwise."""
    import matplotlib.pyplot as plt
    from sklearn.metrics import PrecisionRecallDisplay, RocCurveDisplay

    sides, skipped = _one_vs_rest(labels, probabilities, classes)
    figure, ax = plt.subplots(figsize=(6, 5))
    scores: dict[str, float] = {}
    for name, truth, probability in sides:
        if kind == "roc":
            last = name == sides[-1][0]
            display: Any = RocCurveDisplay.from_predictions(
                truth, probability, name=name, ax=ax, plot_chance_level=last
            )
            scores[name] = float(display.roc_auc)
        else:
            display = PrecisionRecallDisplay.from_predictions(truth, probability, name=name, ax=ax)
            scores[name] = float(display.average_precision)
    ax.set_title(("ROC curve" if kind == "roc" else "Precision-recall curve") + _versus(classes))
    key = "roc_auc_by_class" if kind == "roc" else "average_precision_by_class"
    return figure, {key: scores, "classes_without_both_sides": skipped}


def _versus(classes: Any) -> str:
    return f" ({classes[1]} vs {classes[0]})" if len(classes) == 2 else " (one-vs-rest)"


def _calibration(
    labels: pd.Series, probabilities: Any, classes: Any, config: EvaluationConfig
) -> tuple[Figure, dict[str, Any]]:
    import matplotlib.pyplot as plt
    from sklearn.calibration import CalibrationDisplay
    from sklearn.metrics import brier_score_loss

    sides, skipped = _one_vs_rest(labels, probabilities, classes)
    figure, ax = plt.subplots(figsize=(6, 5))
    curves: dict[str, Any] = {}
    for name, truth, probability in sides:
        display = CalibrationDisplay.from_predictions(
            truth, probability, n_bins=config.calibration_bins, name=name, ax=ax
        )
        curves[name] = {
            "mean_predicted_probability": [round(float(v), 6) for v in display.prob_pred],
            "fraction_of_positives": [round(float(v), 6) for v in display.prob_true],
            "brier_score": float(brier_score_loss(truth, probability)),
        }
    ax.set_title("Calibration" + _versus(classes))
    return figure, {"by_class": curves, "classes_without_both_sides": skipped}


def _importance(
    model: Pipeline, features: pd.DataFrame, labels: pd.Series, config: EvaluationConfig
) -> tuple[Figure, dict[str, Any]]:
    import matplotlib.pyplot as plt
    from sklearn.inspection import permutation_importance

    if len(features) > config.importance_rows:
        features = features.sample(n=config.importance_rows, random_state=config.seed)
        labels = labels.loc[features.index]
    with warnings.catch_warnings():  # a class absent from the labels warns on every shuffle
        warnings.simplefilter("ignore", UserWarning)
        result = permutation_importance(
            model,
            features,
            labels,
            scoring=SCORERS[config.importance_scoring],
            n_repeats=config.importance_repeats,
            random_state=config.seed,
        )
    order = np.argsort(result.importances_mean)[::-1]
    ranked = {
        str(features.columns[i]): {
            "mean": float(result.importances_mean[i]),
            "std": float(result.importances_std[i]),
        }
        for i in order
    }
    top = list(ranked)[: config.top_features][::-1]
    figure, ax = plt.subplots(figsize=(7, max(3.0, 0.3 * len(top) + 1)))
    ax.barh(top, [ranked[name]["mean"] for name in top], xerr=[ranked[name]["std"] for name in top])
    ax.set_xlabel(f"drop in {config.importance_scoring} when shuffled")
    ax.set_title(
        f"Permutation importance ({len(features)} held-out rows, {config.importance_repeats} shuffles)"
    )
    figure.tight_layout()
    return figure, {"scoring": config.importance_scoring, "rows": len(features), "by_feature": ranked}


def figure_png(figure: Figure) -> bytes:
    """The figure as PNG bytes, and the figure closed (matplotlib keeps open figures alive)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
