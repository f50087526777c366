"""Evaluate: held-out metrics, logged to MLflow (the promote step puts them on the model version)."""

from typing import Annotated

import pandas as pd
from sklearn.pipeline import Pipeline
from zenml import step

from core.metrics import compute_metrics
from core.modeling import prepare_features
from core.validation import FeatureSchema
from stacks.mlflow import tracking


@step
def evaluate_model(
    model: Pipeline, test_set: pd.DataFrame, feature_schema: FeatureSchema
) -> Annotated[dict[str, float], "metrics"]:
    metrics = compute_metrics(
        model, prepare_features(test_set, feature_schema), test_set[feature_schema.target]
    )
    tracking.log_metrics(metrics)
    return metrics
