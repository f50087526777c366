"""core/evaluation.py and core/reports.py: the plots and numbers of a held-out evaluation, the
champion-vs-challenger page and the model card."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.evaluation import EvaluationConfig, evaluate_classifier
from core.modeling import TrainConfig, fit_model, prepare_features
from core.promotion import Champion, PromotionConfig, decide_promotion
from core.reports import CardFacts, evaluation_html, model_card_markdown, promotion_html
from core.validation import ValidationConfig, validate_training_data

LOGISTIC = TrainConfig(estimator="sklearn.linear_model.LogisticRegression", params={"max_iter": 500})
PNG = b"\x89PNG\r\n\x1a\n"
ALL_PLOTS = {
    "confusion_matrix",
    "roc_curve",
    "precision_recall_curve",
    "calibration_curve",
    "permutation_importance",
}


def fitted_on(labels: tuple[str, ...], n: int = 240, seed: int = 0) -> tuple[object, pd.DataFrame, pd.Series]:
    """A model on one informative feature, one noise feature and a constant one; its held-out rows."""
    rng = np.random.default_rng(seed)
    y = np.array(labels)[np.arange(n) % len(labels)]
    signal = np.array([labels.index(label) for label in y], dtype=float) + rng.normal(scale=0.6, size=n)
    frame = pd.DataFrame({"signal": signal, "noise": rng.normal(size=n), "constant": 1.0, "y": y})
    checked, schema = validate_training_data(frame, "y", ValidationConfig())
    model, _ = fit_model(checked.iloc[:160], schema, LOGISTIC)
    test = checked.iloc[160:]
    return model, prepare_features(test, schema), test["y"]


def test_binary_labels_get_every_plot_and_the_numbers_behind_them() -> None:
    model, features, labels = fitted_on(("no", "yes"))

    evaluation = evaluate_classifier(model, features, labels, EvaluationConfig(importance_repeats=2))

    assert set(evaluation.plots) == ALL_PLOTS and evaluation.unavailable == {}
    assert all(png.startswith(PNG) for png in evaluation.plots.values())
    numbers = evaluation.numbers
    assert numbers["confusion_matrix"]["labels"] == ["no", "yes"]
    assert sum(map(sum, numbers["confusion_matrix"]["matrix"])) == 80 == numbers["rows"]
    assert list(numbers["roc_curve"]["roc_auc_by_class"]) == ["yes"]  # the positive class
    assert numbers["roc_curve"]["roc_auc_by_class"]["yes"] > 0.85
    importance = numbers["permutation_importance"]["by_feature"]
    assert next(iter(importance)) == "signal"
    assert importance["constant"] == {"mean": 0.0, "std": 0.0}  # shuffling a constant changes nothing


def test_multiclass_string_labels_get_one_vs_rest_curves() -> None:
    model, features, labels = fitted_on(("cat", "dog", "owl"))

    evaluation = evaluate_classifier(model, features, labels, EvaluationConfig(importance_repeats=2))

    assert set(evaluation.plots) == ALL_PLOTS
    assert set(evaluation.numbers["roc_curve"]["roc_auc_by_class"]) == {"cat", "dog", "owl"}
    assert set(evaluation.numbers["calibration_curve"]["by_class"]) == {"cat", "dog", "owl"}
    assert len(evaluation.numbers["confusion_matrix"]["matrix"]) == 3


def test_one_class_held_out_names_what_cannot_be_drawn_and_draws_the_rest() -> None:
    model, features, labels = fitted_on(("no", "yes"))
    only_yes = labels == "yes"

    evaluation = evaluate_classifier(model, features[only_yes], labels[only_yes], EvaluationConfig())

    assert set(evaluation.unavailable) == {"roc_curve", "precision_recall_curve", "calibration_curve"}
    assert "needs at least two classes in the labels; found ['yes']" in evaluation.unavailable["roc_curve"]
    assert {"confusion_matrix", "permutation_importance"} <= set(evaluation.plots)
    html = evaluation_html("Evaluation", {"accuracy": 0.9}, evaluation, int(only_yes.sum()))
    assert "Not computed for this data" in html and html.count("<img") == 2


def test_promotion_page_puts_both_versions_side_by_side_with_gates_and_verdict() -> None:
    config = PromotionConfig(metric="roc_auc", gates={"accuracy": 0.85})
    challenger = {"accuracy": 0.90, "roc_auc": 0.95}
    champion = Champion(version="3", metrics={"accuracy": 0.93, "roc_auc": 0.97})
    decision = decide_promotion(challenger, champion, config)

    html = promotion_html("4", challenger, champion, config, decision)

    assert "<th>this version (4)</th><th>production (version 3)</th>" in html
    assert "<td>roc_auc (decides)</td><td>0.9500</td><td>0.9700</td>" in html
    assert "min 0.85 <span class='yes'>passed</span>" in html
    assert "Verdict: not promoted" in html and "worse than production version 3" in html


def test_model_card_names_metrics_data_and_why_it_won() -> None:
    decision = decide_promotion(
        {"roc_auc": 0.98}, Champion(version="1", metrics={"roc_auc": 0.95}), PromotionConfig(metric="roc_auc")
    )
    facts = CardFacts(
        model={
            "name": "churn",
            "version": "2",
            "description": "Who leaves.",
            "limitations": "One market.",
            "tags": ["a"],
        },
        metrics={"roc_auc": 0.98},
        test_rows=50,
        data={"source": "csv file data/churn.csv", "rows": 200},
        top_features=[("tenure", 0.12)],
        plots=["roc_curve"],
        unavailable={"calibration_curve": "ValueError: no"},
        decision=decision,
        training={"estimator": "sklearn.linear_model.LogisticRegression", "MLflow run": None},
    )

    card = model_card_markdown(facts)

    assert card.startswith("# Model card: churn, version 2\n\nWho leaves.")
    assert "## Limitations\n\nOne market." in card
    assert "| roc_auc | 0.9800 |" in card and "held-out, 50 rows" in card
    assert "- **source**: csv file data/churn.csv" in card
    assert "**Promoted to production**: roc_auc 0.9800 is at least as good as production version 1" in card
    assert "1. tenure (0.1200)" in card and "Calibration curve not computed: ValueError: no" in card
    assert "**MLflow run**" not in card  # nothing is said of what is not there
