"""Run a pipeline on the active stack: pick the stack, wire optional components, run, summarise.

Everything that depends on the stack is decided here, at run time, never at import time.
"""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass, replace
from typing import Any

import yaml
from pydantic import ValidationError

from lifecycle import errors
from lifecycle.config import (
    ArtifactsSource,
    BatchInferenceParameters,
    ContinuousTrainingParameters,
    DeploymentParameters,
    TrainingParameters,
    describe_validation_error,
)
from lifecycle.drift import DriftResult, RetrainDecision
from lifecycle.errors import ConfigError, OrchestratorError, StackUnreachableError, UserFacingError
from lifecycle.promotion import PromotionDecision
from lifecycle.run_config import RunConfig, load_run_config, with_overrides
from stacks.health import unreachable_components
from stacks.overlays import load_overlay, merged


@dataclass(frozen=True)
class TrainingSummary:
    run_name: str
    stack: str
    model_name: str
    model_version: str
    stage: str | None
    metrics: dict[str, float]
    decision: PromotionDecision
    mlflow_run_id: str | None
    cached_steps: int
    total_steps: int


@dataclass(frozen=True)
class ActiveStack:
    name: str
    experiment_tracker: str | None


@dataclass(frozen=True)
class DeploymentSummary:
    run_name: str
    stack: str
    model_name: str
    model_version: str
    prediction_url: str


@dataclass(frozen=True)
class BatchInferenceSummary:
    run_name: str
    stack: str
    model_name: str
    model_version: str
    drift: DriftResult
    predictions_path: str
    scored_by: str


@dataclass(frozen=True)
class ContinuousTrainingSummary:
    run_name: str
    stack: str
    model_name: str
    model_version: str
    drift: DriftResult
    decision: RetrainDecision
    training: TrainingSummary | None
    deployment: DeploymentSummary | None
    not_redeployed_because: str | None


def prepare_stack(name: str | None = None) -> ActiveStack:
    """The stack this run uses, described: `name` for this process only (`--stack`), else the
    active one, with the project's `local` stack activated if ZenML's bare default is active."""
    import os

    from zenml.client import Client
    from zenml.constants import ENV_ZENML_ACTIVE_STACK_ID
    from zenml.enums import StackComponentType

    from stacks.registry import ensure_project_stack

    client = Client()
    if name is not None:
        try:
            os.environ[ENV_ZENML_ACTIVE_STACK_ID] = str(
                client.get_stack(name, allow_name_prefix_match=False).id
            )
        except KeyError:
            raise ConfigError(
                f"--stack: no stack named '{name}'; register it with `python run.py stack register {name}`"
            ) from None
    else:
        ensure_project_stack(client)
    stack = client.active_stack_model
    trackers = stack.components.get(StackComponentType.EXPERIMENT_TRACKER) or []
    return ActiveStack(stack.name, trackers[0].name if trackers else None)


def zenml_run_options(
    config: RunConfig[Any], stack: ActiveStack, tracked_steps: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The YAML's ZenML options, the stack's overlay over them and the tracker on the steps that
    log to it; validated."""
    from zenml.config.pipeline_run_configuration import PipelineRunConfiguration

    overlay = load_overlay(stack.name)
    options = merged(dict(config.zenml_options), overlay)
    if stack.experiment_tracker is not None and tracked_steps:
        steps = {name: dict(value) for name, value in (options.get("steps") or {}).items()}
        for step_name in tracked_steps:
            steps.setdefault(step_name, {})["experiment_tracker"] = stack.experiment_tracker
        options["steps"] = steps
    try:
        PipelineRunConfiguration.model_validate(options)
    except ValidationError as error:
        where = f"{config.path} with the '{stack.name}' overlay" if overlay else str(config.path)
        raise ConfigError(f"{where}: {describe_validation_error(error, '')}") from None
    return options


def run_training(config: RunConfig[TrainingParameters], stack: ActiveStack) -> TrainingSummary:
    from pipelines.training import TRACKED_STEPS, training

    options = zenml_run_options(config, stack, TRACKED_STEPS)
    params = config.parameters
    run = _run(
        training,
        options,
        data=params.data,
        validation=params.validation,
        split=params.split,
        train=params.train,
        promotion=params.promotion,
    )
    return summarize_training(run, stack.name)


def run_deployment(config: RunConfig[DeploymentParameters], stack: ActiveStack) -> DeploymentSummary:
    """Deploy the production version; without one, say so before anything starts."""
    from pipelines.deployment import deployment

    version = production_version(config.model_name)
    options = zenml_run_options(config, stack)
    params = config.parameters
    run = _run(deployment, options, serving=params.serving, seldon=params.seldon)
    run = run.get_hydrated_version()
    return DeploymentSummary(
        run_name=run.name,
        stack=stack.name,
        model_name=config.model_name,
        model_version=str(version.number),
        prediction_url=str(run.run_metadata["prediction_url"]),
    )


def run_batch_inference(
    config: RunConfig[BatchInferenceParameters], stack: ActiveStack
) -> BatchInferenceSummary:
    from pipelines.batch_inference import batch_inference

    version = production_version(config.model_name)
    params = config.parameters
    run = _run(
        batch_inference,
        zenml_run_options(config, stack),
        data=params.data,
        validation=params.validation,
        drift=params.drift,
        scoring=params.scoring,
        output=params.output,
        monitoring=params.monitoring,
    ).get_hydrated_version()
    metadata = run.run_metadata
    return BatchInferenceSummary(
        run_name=run.name,
        stack=stack.name,
        model_name=config.model_name,
        model_version=str(version.number),
        drift=run.steps["check_data_drift"].outputs["drift_result"][0].load(),
        predictions_path=str(metadata["predictions_path"]),
        scored_by=str(metadata["scored_by"]),
    )


def run_continuous_training(
    config: RunConfig[ContinuousTrainingParameters], stack: ActiveStack
) -> ContinuousTrainingSummary:
    """Drift check; on drift, the training pipeline on the production data plus the batch, then the
    deployment pipeline if the new version was promoted and the stack can deploy."""
    from zenml import log_metadata

    from pipelines.continuous_training import continuous_training

    params = config.parameters
    # Both follow-up configs are read before anything runs, so a bad one costs no drift check.
    folder, model = config.path.parent, config.model_name
    training_config = with_overrides(
        load_run_config(folder / params.training_config, TrainingParameters), model_name=model
    )
    deployment_config = with_overrides(
        load_run_config(folder / params.deployment_config, DeploymentParameters), model_name=model
    )
    version = production_version(config.model_name)
    run = _run(
        continuous_training,
        zenml_run_options(config, stack),
        data=params.data,
        validation=params.validation,
        drift=params.drift,
        monitoring=params.monitoring,
    ).get_hydrated_version()
    decision: RetrainDecision = run.steps["decide_retraining"].outputs["retrain_decision"][0].load()
    summary = ContinuousTrainingSummary(
        run_name=run.name,
        stack=stack.name,
        model_name=config.model_name,
        model_version=str(version.number),
        drift=run.steps["check_data_drift"].outputs["drift_result"][0].load(),
        decision=decision,
        training=None,
        deployment=None,
        not_redeployed_because=None,
    )
    if not decision.retrain:
        return summary
    batch = run.steps["validate_new_batch"].outputs["batch"][0]
    training = run_training(_on_reference_and_batch(training_config, version, batch, params), stack)
    log_metadata(
        metadata={"retrain_run": training.run_name, "retrained_version": training.model_version},
        run_id_name_or_prefix=run.id,
    )
    summary = replace(summary, training=training)
    reason = _why_not_redeploy(training, params.redeploy)
    if reason is not None:
        return replace(summary, not_redeployed_because=reason)
    deployment = run_deployment(deployment_config, stack)
    log_metadata(metadata={"redeployed_url": deployment.prediction_url}, run_id_name_or_prefix=run.id)
    return replace(summary, deployment=deployment)


def _on_reference_and_batch(
    training: RunConfig[TrainingParameters], version: Any, batch: Any, params: ContinuousTrainingParameters
) -> RunConfig[TrainingParameters]:
    """The training config reading the production version's validated data plus the new batch."""
    reference = version.get_data_artifact("validated_data")
    if reference is None:
        raise ConfigError(f"model version {version.number} has no validated_data to retrain on")
    source = ArtifactsSource(kind="artifacts", ids=[str(reference.id), str(batch.id)])
    data = training.parameters.data.model_copy(update={"source": source, "target": params.data.target})
    return replace(training, parameters=training.parameters.model_copy(update={"data": data}))


def _why_not_redeploy(training: TrainingSummary, redeploy: bool) -> str | None:
    from zenml.client import Client

    if not training.decision.promoted:
        return f"version {training.model_version} was not promoted"
    if not redeploy:
        return "redeploy is off in the config"
    if Client().active_stack.model_deployer is None:
        return "the active stack has no model deployer"
    return None


def production_version(model_name: str) -> Any:
    from zenml.client import Client
    from zenml.enums import ModelStages

    try:
        return Client().get_model_version(model_name, ModelStages.PRODUCTION)
    except KeyError:
        raise ConfigError(
            f"model '{model_name}' has no production version; run `python run.py --pipeline training` first"
        ) from None


def _run(pipeline: Any, options: dict[str, Any], **parameters: Any) -> Any:
    """Run with the options as a ZenML config file; a step's user-facing error comes out as it is."""
    run_name = options.setdefault("run_name", f"{pipeline.name}-{{date}}-{{time}}-{uuid.uuid4().hex[:6]}")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="run-config-") as handle:
        yaml.safe_dump(options, handle)
        handle.flush()
        try:
            run = pipeline.with_options(config_path=handle.name)(**parameters)
        except UserFacingError:
            raise
        except Exception as error:
            raise run_failure_error(run_name, error) or error from None
    run = run.get_hydrated_version()  # the store's state now, after the orchestrator returned
    if not run.status.is_finished:
        raise unfinished_run_error(run)
    return run


def unfinished_run_error(run: Any) -> OrchestratorError:
    """The orchestrator returned before the run finished. One it never started (no orchestrator run
    id: ZenML's Kubeflow orchestrator only logs an unreachable KFP API) is marked failed, so it
    does not stay `provisioning`; one that is running elsewhere is left to run."""
    from zenml.client import Client
    from zenml.orchestrators.publish_utils import publish_failed_pipeline_run

    orchestrator = Client().active_stack.orchestrator
    where = f"orchestrator '{orchestrator.name}' ({orchestrator.flavor})"
    if run.orchestrator_run_id is None:
        publish_failed_pipeline_run(run.id)
        return OrchestratorError(
            f"{where} did not start run {run.name} (see its log above); the run is marked failed, "
            "nothing was promoted"
        )
    return OrchestratorError(
        f"{where} returned while run {run.name} is {run.status.value}: this command reports finished "
        f"runs only; follow it with `zenml pipeline runs get {run.name}`"
    )


def run_failure_error(run_name_template: str, error: Exception) -> UserFacingError | None:
    """What went wrong with a failed run, as one user-facing error, if the store can tell.

    Orchestrators report a failed run differently (the local one raises, others only record it),
    so the store's record of the run is the one place that tells the same on every stack: a step's
    own user-facing error, a step that failed because a server of the stack is gone, or an
    orchestrator that never started the run.
    """
    from zenml.client import Client
    from zenml.enums import ExecutionStatus

    prefix = run_name_template.split("{", 1)[0]
    suffix = run_name_template.rsplit("}", 1)[-1]
    runs = Client().list_pipeline_runs(name=f"endswith:{suffix}", sort_by="desc:created", size=1)
    for run in runs.items:
        if not run.name.startswith(prefix):
            continue
        for name, step_run in run.steps.items():
            info = step_run.exception_info
            if step_run.status != ExecutionStatus.FAILED or info is None or not info.source:
                continue
            error_class = getattr(errors, info.source.rsplit(".", 1)[-1], None)
            if isinstance(error_class, type) and issubclass(error_class, UserFacingError):
                return error_class(f"step {name}: {info.message}")
        if not run.steps:
            orchestrator = Client().active_stack.orchestrator
            return OrchestratorError(
                f"orchestrator '{orchestrator.name}' ({orchestrator.flavor}) did not start run {run.name}: "
                f"{' '.join(str(error).split())}; no step ran, nothing was promoted"
            )
        failed = [name for name, step_run in run.steps.items() if step_run.status == ExecutionStatus.FAILED]
        problems = unreachable_components(Client().active_stack)
        if problems:
            return StackUnreachableError(
                f"step {', '.join(failed) or '(none)'} failed: {'; '.join(problems)}; nothing was promoted "
                "(`python run.py servers status` shows the local servers)"
            )
    return None


def summarize_training(run: Any, stack: str) -> TrainingSummary:
    from zenml.enums import ExecutionStatus

    run = run.get_hydrated_version()
    model_version = run.model_version
    steps = run.steps
    decision: PromotionDecision = steps["promote_model"].outputs["promotion_decision"][0].load()
    metrics: dict[str, float] = steps["evaluate_model"].outputs["metrics"][0].load()
    metadata = model_version.run_metadata
    model_version = model_version.get_hydrated_version()
    return TrainingSummary(
        run_name=run.name,
        stack=stack,
        model_name=model_version.model.name,
        model_version=str(model_version.number),
        stage=model_version.stage,
        metrics=metrics,
        decision=decision,
        mlflow_run_id=metadata.get("mlflow_run_id"),
        cached_steps=sum(s.status == ExecutionStatus.CACHED for s in steps.values()),
        total_steps=len(steps),
    )


def describe_active_stack() -> tuple[str, str | None, str | None]:
    """The active stack's name, its MLflow tracking URI and the ZenML dashboard's URL, if any."""
    from zenml.client import Client
    from zenml.zen_stores.rest_zen_store import RestZenStore

    client = Client()
    stack = client.active_stack
    get_tracking_uri = getattr(stack.experiment_tracker, "get_tracking_uri", None)
    tracking_uri = get_tracking_uri() if get_tracking_uri else None
    store = client.zen_store
    dashboard = store.url if isinstance(store, RestZenStore) else None
    return stack.name, tracking_uri, dashboard


def render_deployment_manifest(config: RunConfig[DeploymentParameters], out: Any) -> dict[str, Any]:
    """The SeldonDeployment the `seldon` stack would apply for the production version, validated
    against the CRD and written to `out`. The model file is staged on the active stack's artifact
    store, where `modelUri` points; nothing is applied to a cluster."""
    from zenml.client import Client

    from lifecycle.files import write_text_atomically
    from lifecycle.seldon_manifest import (
        manifest_to_yaml,
        render_seldon_deployment,
        served_model_uri,
        stage_model,
        validate_manifest,
    )

    version = production_version(config.model_name)
    artifact = version.get_model_artifact("model")
    if artifact is None:
        raise ConfigError(f"model '{config.model_name}' version {version.number} has no model artifact")
    stack = Client().active_stack
    settings = config.parameters.seldon
    deployer = stack.model_deployer
    namespace = getattr(deployer.config, "kubernetes_namespace", None) if deployer else None
    if namespace:
        settings = settings.model_copy(update={"namespace": namespace})
    uri = served_model_uri(stack.artifact_store.path, config.model_name, str(version.number))
    manifest = render_seldon_deployment(
        deployment_name=config.model_name,
        model_name=config.model_name,
        model_version=str(version.number),
        model_uri=stage_model(artifact.load(), uri),
        settings=settings,
    )
    validate_manifest(manifest)
    write_text_atomically(out, manifest_to_yaml(manifest))
    return manifest


def deployed_url(model_name: str) -> str:
    """The base URL of the running deployment of `model_name` on the active stack."""
    from zenml.client import Client

    from stacks.deployers import deployed_base_url

    return deployed_base_url(Client().active_stack.model_deployer, model_name)
