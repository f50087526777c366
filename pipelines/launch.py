"""Run a pipeline on the active stack: pick the stack, wire optional components, run, summarise.

Everything that depends on the stack is decided here, at run time, never at import time.
"""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from lifecycle import errors
from lifecycle.config import describe_validation_error
from lifecycle.errors import ConfigError, UserFacingError
from lifecycle.promotion import PromotionDecision
from lifecycle.run_config import RunConfig


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


def prepare_stack() -> ActiveStack:
    """Activate the project's `local` stack if ZenML's bare default is active, and describe it."""
    from zenml.client import Client
    from zenml.enums import StackComponentType

    from stacks.registry import ensure_project_stack

    client = Client()
    ensure_project_stack(client)
    stack = client.active_stack_model
    trackers = stack.components.get(StackComponentType.EXPERIMENT_TRACKER) or []
    return ActiveStack(stack.name, trackers[0].name if trackers else None)


def zenml_run_options(
    config: RunConfig, tracker: str | None, tracked_steps: tuple[str, ...]
) -> dict[str, Any]:
    """The YAML's ZenML options plus the tracker on the steps that log to it, validated."""
    from zenml.config.pipeline_run_configuration import PipelineRunConfiguration

    options = dict(config.zenml_options)
    if tracker is not None:
        steps = {name: dict(value) for name, value in (options.get("steps") or {}).items()}
        for step_name in tracked_steps:
            steps.setdefault(step_name, {})["experiment_tracker"] = tracker
        options["steps"] = steps
    try:
        PipelineRunConfiguration.model_validate(options)
    except ValidationError as error:
        raise ConfigError(f"{config.path}: {describe_validation_error(error, '')}") from None
    return options


def run_training(config: RunConfig, stack: ActiveStack) -> TrainingSummary:
    from pipelines.training import TRACKED_STEPS, training

    options = zenml_run_options(config, stack.experiment_tracker, TRACKED_STEPS)
    run_name = options.setdefault("run_name", f"training-{{date}}-{{time}}-{uuid.uuid4().hex[:6]}")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="run-config-") as handle:
        yaml.safe_dump(options, handle)
        handle.flush()
        params = config.parameters
        try:
            run = training.with_options(config_path=handle.name)(
                data=params.data,
                validation=params.validation,
                split=params.split,
                train=params.train,
                promotion=params.promotion,
            )
        except UserFacingError:
            raise
        except Exception as error:
            raise failed_step_error(run_name) or error from None
    return summarize_training(run, stack.name)


def failed_step_error(run_name_template: str) -> UserFacingError | None:
    """The user-facing error a step of the run raised, as the store recorded it.

    Orchestrators report a failed step differently (the local one raises, others only record
    it), so the store's record is the one place that tells the same on every stack.
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
    return None


def summarize_training(run: Any, stack: str) -> TrainingSummary:
    from zenml.enums import ExecutionStatus

    run = run.get_hydrated_version() if hasattr(run, "get_hydrated_version") else run
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
