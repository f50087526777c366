"""Deployment: serve the production model version through the active stack's model deployer.

`render_deployment_manifest` is the `--dry-run`: the SeldonDeployment the `seldon` stack would
apply, validated against the CRD, with nothing applied to a cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zenml import pipeline
from zenml.client import Client

from core.dependencies import model_requirements
from core.errors import ConfigError
from core.files import write_text_atomically
from pipelines.execution import ActiveStack, production_version, run_pipeline, zenml_run_options
from pipelines.parameters import DeploymentParameters
from pipelines.run_config import RunConfig
from pipelines.summaries import DeploymentSummary
from stacks.mlserver.config import MLServerConfig
from stacks.seldon.cluster import served_model_uri, stage_model
from stacks.seldon.manifest import manifest_to_yaml, render_seldon_deployment, validate_manifest
from stacks.seldon.settings import SeldonSettings
from steps.deploy import deploy_model
from steps.names import MODEL


@pipeline(name="deployment", enable_cache=False)
def deployment(mlserver: MLServerConfig, seldon: SeldonSettings) -> None:
    deploy_model(mlserver, seldon)


def run_deployment(config: RunConfig[DeploymentParameters], stack: ActiveStack) -> DeploymentSummary:
    """Deploy the production version; without one, say so before anything starts."""
    version = production_version(config.model_name)
    params = config.parameters
    run = run_pipeline(
        deployment, zenml_run_options(config, stack), mlserver=params.mlserver, seldon=params.seldon
    )
    return DeploymentSummary(
        run_name=run.name,
        stack=stack.name,
        model_name=config.model_name,
        model_version=str(version.number),
        prediction_url=str(run.run_metadata["prediction_url"]),
    )


def render_deployment_manifest(config: RunConfig[DeploymentParameters], out: Path) -> dict[str, Any]:
    """The SeldonDeployment the `seldon` stack would apply for the production version, validated
    against the CRD and written to `out`. The model file is staged on the active stack's artifact
    store, where `modelUri` points; nothing is applied to a cluster."""
    version = production_version(config.model_name)
    artifact = version.get_model_artifact(MODEL)
    if artifact is None:
        raise ConfigError(f"model '{config.model_name}' version {version.number} has no model artifact")
    stack = Client().active_stack
    settings = config.parameters.seldon
    deployer = stack.model_deployer
    namespace = getattr(deployer.config, "kubernetes_namespace", None) if deployer else None
    if namespace:
        settings = settings.model_copy(update={"namespace": namespace})
    uri = served_model_uri(stack.artifact_store.path, config.model_name, str(version.number))
    model = artifact.load()
    manifest = render_seldon_deployment(
        deployment_name=config.model_name,
        model_name=config.model_name,
        model_version=str(version.number),
        model_uri=uri,
        settings=settings,
        model_packages=model_requirements(model),
    )
    validate_manifest(manifest)
    stage_model(model, uri)
    write_text_atomically(out, manifest_to_yaml(manifest))
    return manifest
