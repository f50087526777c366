"""Deployment: serve the production model version through the active stack's model deployer."""

from zenml import pipeline

from lifecycle.config import DeploymentParameters, ServingConfig
from lifecycle.seldon_manifest import SeldonSettings
from steps.deploy import deploy_model


@pipeline(name="deployment", enable_cache=False)
def deployment(serving: ServingConfig, seldon: SeldonSettings) -> None:
    deploy_model(DeploymentParameters(serving=serving, seldon=seldon))
