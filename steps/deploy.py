"""Deploy: serve the pipeline's model version (the production one) through the stack's deployer.

What serves it (the ONNX compilation or the scikit-learn pipeline) and why is run and model-version
metadata: `serving_runtime`, `serving_runtime_reason`.
"""

from typing import Annotated

from zenml import get_step_context, log_metadata, step
from zenml.client import Client
from zenml.metadata.metadata_types import MetadataType

from stacks.deployers import ModelToServe, deploy
from stacks.mlserver.config import MLServerConfig
from stacks.seldon.settings import SeldonSettings
from steps.locks import model_lock
from steps.names import FEATURE_SCHEMA, MODEL, PREDICTION_URL, TEST_SET, TRAIN_SET
from steps.version_artifacts import load_version_artifact


@step(enable_cache=False)
def deploy_model(mlserver: MLServerConfig, seldon: SeldonSettings) -> Annotated[str, PREDICTION_URL]:
    model = get_step_context().model
    schema = load_version_artifact(FEATURE_SCHEMA)
    example = load_version_artifact(TRAIN_SET)[schema.features].head(5)
    served = ModelToServe(
        name=model.name,
        version=str(model.number),
        model=load_version_artifact(MODEL),
        schema=schema,
        example=example,
        held_out=load_version_artifact(TEST_SET),
    )
    with model_lock(model.name):  # two deployments of one model switch one after the other
        deployed = deploy(Client().active_stack.model_deployer, served, mlserver, seldon)
    metadata: dict[str, MetadataType] = {
        "prediction_url": deployed.base_url,
        "deployed_model_version": deployed.model_version,
        "service_id": deployed.service_id,
        "serving_runtime": deployed.serving.runtime,
        "serving_runtime_reason": deployed.serving.reason,
    }
    log_metadata(metadata=metadata)
    log_metadata(metadata=metadata, run_id_name_or_prefix=get_step_context().pipeline_run.id)
    return deployed.base_url
