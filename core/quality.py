"""Model quality on a labeled batch: the production version's scores on it, judged against absolute
floors and against its own held-out scores, with Evidently's classification report to look at.

A metric that cannot be computed for the batch (ROC AUC with one class present, log loss with labels
the model has never seen) is reported with the reason and never triggers retraining.
"""

from __future__ import annotations

import warnings
from html import escape
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.metrics import LOWER_IS_BETTER
from core.types import MetricName, StrictModel

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline


DEFAULT_MAX_DROP: dict[MetricName, float] = {"accuracy": 0.05, "roc_auc": 0.05}


class QualityConfig(StrictModel):
    """When the production version's quality on a labeled batch calls for retraining."""

    floors: dict[MetricName, float] = Field(default_factory=dict)
    """Absolute minimum per metric on the batch (`log_loss`: a maximum); under it, retrain."""
    max_drop: dict[MetricName, float] = Field(default_factory=lambda: dict(DEFAULT_MAX_DROP))
    """How far a metric may fall under the version's own held-out score before retraining
    (`log_loss`: how far it may rise over it)."""

    @field_validator("max_drop")
    @classmethod
    def _non_negative(cls, drops: dict[str, float]) -> dict[str, float]:
        for metric, drop in drops.items():
            if drop < 0:
                raise ValueError(f"margin for '{metric}' is {drop}; it must be 0 or more")
        return drops


class QualityResult(BaseModel):
    """The batch's scores, the held-out scores they are judged against, and the verdict per metric."""

    model_config = ConfigDict(frozen=True)

    n_rows: int
    scores: dict[str, float]
    held_out: dict[str, float]
    not_computed: dict[str, str]
    unseen_labels: list[str]
    degraded: dict[str, str]
    """Metric -> why it calls for retraining (under its floor or too far under its held-out score)."""

    @property
    def dropped(self) -> bool:
        return bool(self.degraded)


def score_batch(
    model: Pipeline, features: pd.DataFrame, labels: pd.Series
) -> tuple[dict[str, float], dict[str, str], list[str]]:
    """accuracy, balanced accuracy, macro F1, log loss, ROC AUC (and F1 of the positive class for two
    classes) of the model on the batch, each computed on its own; returns scores, what could not be
    computed and why, and the labels the model has never seen."""
    from sklearn import metrics

    classes = list(model.classes_)
    unknown = ~labels.isin(classes)
    unseen = sorted(map(str, labels[unknown].unique()))
    predicted = model.predict(features)
    probabilities = model.predict_proba(features)
    present = labels.nunique()
    unseen_note = f"{unknown.sum()} rows carry labels the model has never seen ({', '.join(unseen)})"
    binary = len(classes) == 2

    def roc_auc() -> float:
        if unseen:
            raise ValueError(unseen_note)
        if present < 2:
            raise ValueError(
                f"needs at least two classes in the labels; the batch has only {labels.iloc[0]!r}"
            )
        if binary:
            return float(metrics.roc_auc_score(labels == classes[1], probabilities[:, 1]))
        if present < len(classes):
            raise ValueError(f"one-vs-rest needs every class; the batch has {present} of {len(classes)}")
        return float(metrics.roc_auc_score(labels, probabilities, multi_class="ovr", labels=classes))

    def log_loss() -> float:
        if unseen:
            raise ValueError(unseen_note)
        return float(metrics.log_loss(labels, probabilities, labels=classes))

    computations: dict[str, Any] = {
        "accuracy": lambda: metrics.accuracy_score(labels, predicted),
        "balanced_accuracy": lambda: metrics.balanced_accuracy_score(labels, predicted),
        "f1_macro": lambda: metrics.f1_score(labels, predicted, average="macro", zero_division=0),
        "log_loss": log_loss,
        "roc_auc": roc_auc,
    }
    if binary:
        computations["f1"] = lambda: metrics.f1_score(
            labels, predicted, pos_label=classes[1], zero_division=0
        )
    scores, not_computed = {}, {}
    with warnings.catch_warnings():  # a class absent from the batch warns; the result says so instead
        warnings.simplefilter("ignore")
        for name, compute in computations.items():
            try:
                scores[name] = float(compute())
            except ValueError as error:
                not_computed[name] = str(error)
    return scores, not_computed, unseen


def judge_quality(
    scores: dict[str, float], held_out: dict[str, float], not_computed: dict[str, str], config: QualityConfig
) -> dict[str, str]:
    """Metric -> why it calls for retraining; a metric not computed on the batch never does."""
    degraded: dict[str, str] = {}
    for name, floor in config.floors.items():
        value = scores.get(name)
        if value is not None and not _within(name, value, floor):
            bound = "maximum" if name in LOWER_IS_BETTER else "floor"
            degraded[name] = f"{value:.4f} is past its {bound} {floor}"
    for name, margin in config.max_drop.items():
        value, reference = scores.get(name), held_out.get(name)
        if value is None or reference is None or name in degraded:
            continue
        limit = reference + margin if name in LOWER_IS_BETTER else reference - margin
        if not _within(name, value, limit):
            degraded[name] = f"{value:.4f} vs {reference:.4f} held-out (allowed drop {margin})"
    return degraded


def _within(name: str, value: float, limit: float) -> bool:
    return value <= limit if name in LOWER_IS_BETTER else value >= limit


def assess_quality(
    model: Pipeline,
    features: pd.DataFrame,
    labels: pd.Series,
    held_out: dict[str, float],
    config: QualityConfig,
) -> QualityResult:
    if labels.empty:  # captured requests whose labels have not arrived
        return QualityResult(
            n_rows=0,
            scores={},
            held_out={},
            not_computed={name: "no labeled rows" for name in (*config.floors, *config.max_drop)},
            unseen_labels=[],
            degraded={},
        )
    scores, not_computed, unseen = score_batch(model, features, labels)
    for name in (*config.floors, *config.max_drop):
        if name not in scores and name not in not_computed:
            not_computed[name] = "not defined for this many classes"
    return QualityResult(
        n_rows=len(labels),
        scores=scores,
        held_out={name: value for name, value in held_out.items() if name in scores or name in not_computed},
        not_computed=not_computed,
        unseen_labels=unseen,
        degraded=judge_quality(scores, held_out, not_computed, config),
    )


def classification_report_html(
    model: Pipeline,
    batch: pd.DataFrame,
    held_out_set: pd.DataFrame,
    features: list[str],
    target: str,
    result: QualityResult,
) -> str:
    """Evidently's classification report of the batch next to the held-out set, headed by the
    judged numbers; rows with labels the model has never seen are left out of Evidently's part
    (it cannot draw them), which the heading says."""
    from evidently.legacy.metric_preset import ClassificationPreset
    from evidently.legacy.pipeline.column_mapping import ColumnMapping
    from evidently.legacy.report import Report

    classes = [str(name) for name in model.classes_]
    known = batch[batch[target].isin(model.classes_)]
    notes = (
        [f"{len(batch) - len(known)} rows with labels the model has never seen are left out below."]
        if len(known) < len(batch)
        else []
    )
    heading = _quality_heading(result, notes)
    try:
        if known.empty:
            raise ValueError("no row carries a label the model knows")
        report = Report(metrics=[ClassificationPreset()])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report.run(
                reference_data=_scored(model, held_out_set, features, target, classes),
                current_data=_scored(model, known, features, target, classes),
                column_mapping=ColumnMapping(
                    target=target,
                    prediction=classes,
                    pos_label=classes[1] if len(classes) == 2 else None,  # F1 and ROC of the positive class
                ),
            )
            html = report.get_html()
    except (ValueError, TypeError, KeyError, IndexError) as error:
        return (
            "<!doctype html><html><head><meta charset='utf-8'></head><body>"
            f"{heading}<p>Evidently's classification report could not be made for this batch: "
            f"{escape(type(error).__name__)}: {escape(str(error))}</p></body></html>"
        )
    return str(html).replace("<body>", "<body>" + heading, 1)


def _scored(
    model: Pipeline, frame: pd.DataFrame, features: list[str], target: str, classes: list[str]
) -> pd.DataFrame:
    """One probability column per class, named as the class, and the target as those names (a label
    read as 1.0 is the model's class 1)."""
    import pandas as pd

    probabilities = pd.DataFrame(model.predict_proba(frame[features]), columns=classes, index=frame.index)
    names = dict(zip(model.classes_, classes, strict=True))
    return probabilities.assign(**{target: frame[target].map(names)})


def _quality_heading(result: QualityResult, notes: list[str]) -> str:
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{_cell(result.scores.get(name))}</td><td>{_cell(result.held_out.get(name))}</td>"
        f"<td>{escape(result.degraded.get(name) or result.not_computed.get(name) or '')}</td></tr>"
        for name in sorted(set(result.scores) | set(result.not_computed))
    )
    verdict = "quality dropped: retrain" if result.dropped else "quality holds"
    extra = "".join(f"<p>{escape(note)}</p>" for note in notes)
    return (
        "<div style='font-family:sans-serif;margin:1em'>"
        f"<h2>Production version on this batch ({result.n_rows} rows): {verdict}</h2>"
        "<table border='1' cellpadding='4' style='border-collapse:collapse'>"
        f"<tr><th>metric</th><th>batch</th><th>held-out</th><th>note</th></tr>{rows}</table>{extra}</div>"
    )


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
