"""What every pipeline run goes through: the stack it runs on, its ZenML options, and the run itself.

Everything that depends on the stack is decided here, at run time, never at import time.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock
from pydantic import ValidationError
from zenml.client import Client
from zenml.config.pipeline_run_configuration import PipelineRunConfiguration
from zenml.constants import ENV_ZENML_ACTIVE_STACK_ID
from zenml.enums import ModelStages, StackComponentType
from zenml.utils.io_utils import get_global_config_directory
from zenml.zen_stores.rest_zen_store import RestZenStore

from core.config_files import describe_validation_error
from core.errors import ConfigError, UserFacingError
from pipelines.diagnosis import run_failure_error, unfinished_run_error
from pipelines.run_config import RunConfig
from stacks.overlays import load_overlay, merged
from stacks.registry import ensure_project_stack

FIRST_USE_TIMEOUT_SECONDS = 300  # creating and migrating a store takes seconds


@dataclass(frozen=True)
class ActiveStack:
    name: str
    experiment_tracker: str | None


def prepare_stack(name: str | None = None) -> ActiveStack:
    """The stack this run uses, described: `name` for this process only (`--stack`), else the
    active one, with the project's `local` stack activated if ZenML's bare default is active.

    Under a lock in the ZenML config folder: runs started together on a new config would each
    create and migrate the local store, and register the project's stack, at once (and fail)."""
    folder = Path(get_global_config_directory())
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(folder / "first-use.lock", timeout=FIRST_USE_TIMEOUT_SECONDS):
        return _prepare_stack(name)


def _prepare_stack(name: str | None) -> ActiveStack:
    client = Client()
    client.zen_store  # noqa: B018  (creates or migrates the local store)
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


def production_version(model_name: str) -> Any:
    try:
        return Client().get_model_version(model_name, ModelStages.PRODUCTION)
    except KeyError:
        raise ConfigError(
            f"model '{model_name}' has no production version; run `python run.py --pipeline training` first"
        ) from None


def run_pipeline(pipeline: Any, options: dict[str, Any], **parameters: Any) -> Any:
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


def describe_active_stack() -> tuple[str, str | None, str | None]:
    """The active stack's name, its MLflow tracking URI and the ZenML dashboard's URL, if any."""
    client = Client()
    stack = client.active_stack
    get_tracking_uri = getattr(stack.experiment_tracker, "get_tracking_uri", None)
    tracking_uri = get_tracking_uri() if get_tracking_uri else None
    store = client.zen_store
    dashboard = store.url if isinstance(store, RestZenStore) else None
    return stack.name, tracking_uri, dashboard
