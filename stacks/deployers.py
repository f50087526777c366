"""Deploy a model version through whatever model deployer the active stack has.

The one place that knows deployer flavors, so the deploy step and the pipelines stay the same on
every stack. A stack without a model deployer gets a clear error, not a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.compilation import ServingChoice
from core.dependencies import model_requirements
from core.errors import ConfigError, DeploymentError
from stacks.mlserver.config import MLServerConfig
from stacks.seldon.settings import SeldonSettings

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

    from core.validation import FeatureSchema

SUPPORTED_FLAVORS = ("mlserver", "seldon")
# Seldon Core's prepackaged SKLEARN_SERVER loads the joblib pipeline; a compiled model would need a
# server that loads ONNX (Triton), which the `seldon` stack does not render.
SELDON_SERVING = ServingChoice(runtime="sklearn", reason="Seldon Core's SKLEARN_SERVER serves the pipeline")


@dataclass(frozen=True)
class DeployedModel:
    """What a deployment leaves behind: where to send V2 requests, which service serves, and what
    serves the model there (the ONNX compilation or the scikit-learn pipeline) and why."""

    base_url: str
    service_id: str
    model_name: str
    model_version: str
    serving: ServingChoice


@dataclass(frozen=True)
class ModelToServe:
    """One model version with what serving it needs: the fitted pipeline, its schema, example rows
    and the held-out rows a compiled form is proven on."""

    name: str
    version: str
    model: Pipeline
    schema: FeatureSchema
    example: pd.DataFrame
    held_out: pd.DataFrame


def deploy(
    deployer: Any, served: ModelToServe, mlserver: MLServerConfig, seldon: SeldonSettings
) -> DeployedModel:
    """Serve `served` with the stack's deployer, configured by the section of its flavor."""
    if deployer is None:
        raise ConfigError(
            "the active stack has no model deployer; use a stack with one (e.g. `local`) "
            "or render the Seldon manifest with --dry-run --manifest-out PATH"
        )
    if deployer.flavor == "mlserver":
        return _deploy_mlserver(deployer, served, mlserver)
    if deployer.flavor == "seldon":
        return _deploy_seldon(deployer, served, seldon)
    raise ConfigError(
        f"model deployer '{deployer.name}' has flavor '{deployer.flavor}'; this template deploys "
        f"with: {', '.join(SUPPORTED_FLAVORS)}"
    )


def _deploy_mlserver(deployer: Any, served: ModelToServe, serving: MLServerConfig) -> DeployedModel:
    from zenml import get_step_context

    from stacks.mlserver import repository as model_repository
    from stacks.mlserver.service import MLServerDeploymentConfig, MLServerDeploymentService

    context = get_step_context()
    pipeline_name, step_name = context.pipeline.name, context.step_run.name
    choice, onnx = _serving_choice(served, serving)
    repository = deployer.repository(served.name)
    model_repository.write_model_version(
        repository,
        served.name,
        served.version,
        served.model,
        served.schema,
        served.example,
        serving.max_rows,
        model_repository.Batching(serving.max_batch_size, serving.max_batch_time_ms),
        choice,
        onnx,
    )
    config = MLServerDeploymentConfig(
        pipeline_name=pipeline_name,
        pipeline_step_name=step_name,
        model_name=served.name,
        model_version=served.version,
        name=f"mlserver-{served.name}",
        repository=str(repository),
        serving_python=str(deployer.serving_python(model_requirements(served.model))),
        host=deployer.config.host,
        port=serving.port,
        parallel_workers=serving.parallel_workers,
        max_request_bytes=serving.max_request_bytes,
    )
    service = deployer.deploy_model(
        config=config, service_type=MLServerDeploymentService.SERVICE_TYPE, timeout=serving.timeout_seconds
    )
    return DeployedModel(
        base_url=service.base_url,
        service_id=str(service.uuid),
        model_name=served.name,
        model_version=served.version,
        serving=choice,
    )


def _serving_choice(served: ModelToServe, config: MLServerConfig) -> tuple[ServingChoice, bytes | None]:
    """The ONNX compilation if it is proven on the example and held-out rows (or forced), else the
    pipeline; forcing ONNX on a pipeline that cannot be compiled is a failed deployment."""
    import pandas as pd

    from core.compilation import choose_runtime

    if config.runtime == "sklearn":
        return ServingChoice(runtime="sklearn", reason="mlserver.runtime is sklearn in the config"), None
    proof = pd.concat([served.example, served.held_out[served.schema.features]], ignore_index=True)
    choice, onnx = choose_runtime(served.model, served.schema, proof)
    if config.runtime == "onnx" and onnx is None:
        raise DeploymentError(f"mlserver.runtime is onnx, but {choice.reason}")
    return choice, onnx


def _deploy_seldon(deployer: Any, served: ModelToServe, settings: SeldonSettings) -> DeployedModel:
    """Stage the model on the artifact store, render and validate the SeldonDeployment, apply it."""
    from zenml.client import Client

    from stacks.seldon.cluster import apply_manifest, served_model_uri, stage_model
    from stacks.seldon.manifest import render_seldon_deployment, seldon_prediction_url

    client = deployer.seldon_client
    settings = settings.model_copy(update={"namespace": client.namespace})
    uri = served_model_uri(Client().active_stack.artifact_store.path, served.name, served.version)
    manifest = render_seldon_deployment(
        deployment_name=served.name,
        model_name=served.name,
        model_version=served.version,
        model_uri=uri,
        settings=settings,
        model_packages=model_requirements(served.model),
    )
    stage_model(served.model, uri)  # once the manifest is known to be sound
    apply_manifest(client, manifest, settings.timeout_seconds)
    name = manifest["metadata"]["name"]
    return DeployedModel(
        base_url=seldon_prediction_url(deployer.config.base_url, client.namespace, name),
        service_id=f"{client.namespace}/{name}",
        model_name=served.name,
        model_version=served.version,
        serving=SELDON_SERVING,
    )


def active_model_deployer() -> Any:
    """The active stack's model deployer alone, or None. Building the whole stack would import every
    component's library (MLflow for the tracker, about 2 s), which status, stop and predict never use."""
    from zenml.client import Client
    from zenml.enums import StackComponentType
    from zenml.stack import StackComponent

    found = Client().active_stack_model.components.get(StackComponentType.MODEL_DEPLOYER) or []
    return StackComponent.from_model(found[0]) if found else None


def deployed_base_url(deployer: Any, model_name: str) -> str:
    """Where the running deployment of `model_name` answers V2 requests."""
    if deployer is None:
        raise ConfigError("the active stack has no model deployer; pass --url")
    if deployer.flavor == "seldon":
        from stacks.seldon.manifest import seldon_prediction_url
        from stacks.seldon.settings import seldon_deployment_name

        name = seldon_deployment_name(model_name)
        return seldon_prediction_url(deployer.config.base_url, deployer.seldon_client.namespace, name)
    for service in deployer.find_model_server(running=True):
        base_url = getattr(service, "base_url", None)
        if service.config.model_name == model_name and base_url:
            return str(base_url)
    raise ConfigError(
        f"no running deployment of '{model_name}'; run `python run.py --pipeline deployment` first"
    )


@dataclass(frozen=True)
class DeploymentStatus:
    """One deployment of a model as the stack's deployer sees it."""

    model_name: str
    model_version: str
    base_url: str | None
    running: bool
    metrics_url: str | None
    serving: ServingChoice | None


def deployment_statuses(deployer: Any, model_name: str) -> list[DeploymentStatus]:
    """What the local deployer serves for `model_name`; a Seldon deployment is asked of the cluster."""
    if deployer is None:
        raise ConfigError("the active stack has no model deployer")
    if deployer.flavor == "seldon":
        from zenml.integrations.seldon.seldon_client import SeldonDeploymentNotFoundError

        from stacks.seldon.settings import seldon_deployment_name

        try:
            found = deployer.seldon_client.get_deployment(name=seldon_deployment_name(model_name))
        except SeldonDeploymentNotFoundError:
            return []
        return [
            DeploymentStatus(
                model_name=model_name,
                model_version=found.metadata.labels.get("zenml.model_version", "?"),
                base_url=deployed_base_url(deployer, model_name),
                running=found.is_available(),
                metrics_url=None,
                serving=SELDON_SERVING,
            )
        ]
    from stacks.mlserver.repository import metrics_url, serving_choice

    repository = deployer.repository(model_name)
    return [
        DeploymentStatus(
            model_name=model_name,
            model_version=service.config.model_version,
            base_url=service.base_url,
            running=service.is_running,
            metrics_url=metrics_url(repository),
            serving=serving_choice(repository, model_name, service.config.model_version),
        )
        for service in deployer.services_of(model_name)
    ]


def stop_deployments(deployer: Any, model_name: str) -> int:
    """Stop and remove the local deployments of `model_name`; returns how many there were."""
    if deployer is None or deployer.flavor != "mlserver":
        raise ConfigError("`deployment stop` stops local MLServer deployments; use kubectl for Seldon")
    services = deployer.services_of(model_name)
    for service in services:
        deployer.delete_model_server(service.uuid, force=True)
    return len(services)
