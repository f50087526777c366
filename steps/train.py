"""Train: fit preprocessing + estimator as one pipeline; log it to MLflow when a tracker is set."""

from typing import Annotated

import pandas as pd
from sklearn.pipeline import Pipeline
from zenml import ArtifactConfig, log_metadata, step
from zenml.enums import ArtifactType
from zenml.logger import get_logger

from core.modeling import TrainConfig, fit_model, prepare_features
from core.validation import FeatureSchema
from stacks.mlflow import tracking
from steps.names import MODEL

logger = get_logger(__name__)


@step
def train_model(
    train_set: pd.DataFrame, feature_schema: FeatureSchema, config: TrainConfig
) -> Annotated[Pipeline, ArtifactConfig(name=MODEL, artifact_type=ArtifactType.MODEL)]:
    model, params = fit_model(train_set, feature_schema, config)
    features = prepare_features(train_set, feature_schema)
    run_id = tracking.log_training_run(model, params, features)
    if run_id is None:
        logger.warning("The active stack has no experiment tracker: nothing is logged to MLflow.")
    # On the artifact, not the model version: a cached rerun reuses the artifact and its metadata,
    # and the promote step copies it onto whichever model version the run belongs to.
    metadata = {"estimator": config.estimator, "estimator_params": params, "mlflow_run_id": run_id}
    log_metadata(
        metadata={k: v for k, v in metadata.items() if v is not None},
        infer_artifact=True,
        artifact_name=MODEL,
    )
    return model
