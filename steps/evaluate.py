"""Evaluate: held-out metrics and the plots people judge a classifier by, logged to MLflow and kept
as an HTML artifact the dashboard shows (the promote step puts the metrics on the model version)."""

from typing import Annotated, Any, Tuple

import pandas as pd
from sklearn.pipeline import Pipeline
from zenml import log_metadata, step
from zenml.types import HTMLString

from core.evaluation import EvaluationConfig, evaluate_classifier
from core.metrics import compute_metrics
from core.modeling import prepare_features
from core.reports import evaluation_html
from core.validation import FeatureSchema
from stacks.mlflow import tracking
from steps.names import EVALUATION, EVALUATION_REPORT, METRICS


@step
def evaluate_model(
    model: Pipeline, test_set: pd.DataFrame, feature_schema: FeatureSchema, config: EvaluationConfig
) -> Tuple[
    Annotated[dict[str, float], METRICS],
    Annotated[HTMLString, EVALUATION_REPORT],
    Annotated[dict[str, Any], EVALUATION],
]:
    features, labels = prepare_features(test_set, feature_schema), test_set[feature_schema.target]
    metrics = compute_metrics(model, features, labels)
    evaluation = evaluate_classifier(model, features, labels, config)
    report = evaluation_html("Evaluation on the held-out set", metrics, evaluation, len(test_set))
    tracking.log_metrics(metrics)
    tracking.log_files(
        {f"{name}.png": png for name, png in evaluation.plots.items()} | {"evaluation.html": report},
        "evaluation",
    )
    numbers = {**evaluation.numbers, "not_computed": evaluation.unavailable}
    log_metadata(metadata=numbers, infer_artifact=True, artifact_name=EVALUATION_REPORT)
    return metrics, HTMLString(report), numbers
