"""Artifacts by their names (`steps.names`): of the model version a step runs for (its training
data, schema, model), and of a pipeline run, whichever step made them."""

from typing import Any

from zenml import get_step_context

from core.errors import ConfigError


def load_version_artifact(name: str) -> Any:
    """Loaded by the artifact's id: ZenML 0.98's `Model.load_artifact` passes an id and a version to
    the client, which warns on every call that it ignores the version."""
    model = get_step_context().model
    artifact = model.get_artifact(name)
    if artifact is None:
        raise ConfigError(f"model '{model.name}' version {model.number} has no artifact '{name}'")
    return artifact.load()


def run_output(run: Any, name: str) -> Any:
    """The artifact version named `name` that a step of `run` made (the step need not be named)."""
    for step_run in run.steps.values():
        if name in step_run.outputs:
            return step_run.outputs[name][0]
    raise ConfigError(f"run {run.name} has no output '{name}'")
