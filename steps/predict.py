"""Predict: score the batch with the production version (its live endpoint when one runs, in process
otherwise) and write the rows with their predictions to a file and an artifact of the model version."""

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from zenml import get_step_context, log_metadata, step
from zenml.client import Client
from zenml.logger import get_logger

from core.errors import ConfigError
from core.scoring import (
    OutputConfig,
    ScoringConfig,
    score_in_process,
    score_on_endpoint,
    with_predictions,
    write_table,
)
from core.v2_client import V2Client, V2RequestError
from stacks.deployers import deployed_base_url
from steps.materializers import HashedDataFrameMaterializer
from steps.version_artifacts import load_version_artifact

logger = get_logger(__name__)


@step(enable_cache=False, output_materializers={"predictions": HashedDataFrameMaterializer})
def predict_batch(
    batch: pd.DataFrame, scoring: ScoringConfig, output: OutputConfig
) -> Annotated[pd.DataFrame, "predictions"]:
    context = get_step_context()
    model = context.model
    version = str(model.number)
    features = batch[load_version_artifact("feature_schema").features]
    predictions, scored_by = None, "in_process"
    if scoring.mode != "in_process":
        try:
            url = deployed_base_url(Client().active_stack.model_deployer, model.name)
            client = V2Client(url, model.name)
            predictions = score_on_endpoint(client, features, version, scoring.request_rows)
            scored_by = url
        except (ConfigError, V2RequestError) as error:
            if scoring.mode == "endpoint":
                raise
            logger.info("Scoring in process: %s", error)
    if predictions is None:
        predictions = score_in_process(load_version_artifact("model"), features, version)
    result = with_predictions(batch, predictions)
    path = _output_path(output, model.name, version, context.pipeline_run.name)
    write_table(result, path)
    logger.info("Wrote %d predictions to %s", len(result), path)
    metadata: dict[str, Any] = {"predictions_path": str(path), "scored_by": scored_by}
    log_metadata(metadata=metadata, run_id_name_or_prefix=context.pipeline_run.id)
    return result


def _output_path(output: OutputConfig, model_name: str, version: str, run_name: str) -> Path:
    return (output.folder / f"{model_name}-v{version}-{run_name}.{output.format}").resolve()
