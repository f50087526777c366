"""The shape of a `stacks/*.yaml` file, validated before anything is registered."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from core.config_files import expand_env, read_yaml_mapping, validate
from core.errors import ConfigError
from core.types import StrictModel

STACKS_DIR = Path(__file__).resolve().parent
ComponentType = Literal[
    "orchestrator",
    "artifact_store",
    "container_registry",
    "image_builder",
    "experiment_tracker",
    "data_validator",
    "model_deployer",
    "step_operator",
]


class ComponentSpec(StrictModel):
    name: str
    flavor: str
    configuration: dict[str, Any] = Field(default_factory=dict)


class FlavorSpec(StrictModel):
    """A flavor the project provides, by import path, registered before the components."""

    source: str
    type: ComponentType


class StackSpec(StrictModel):
    name: str
    description: str = ""
    flavors: list[FlavorSpec] = Field(default_factory=list)
    components: dict[ComponentType, ComponentSpec]


def available_stacks() -> list[str]:
    return sorted(path.stem for path in STACKS_DIR.glob("*.yaml"))


def load_stack_spec(name: str) -> StackSpec:
    """Read `stacks/<name>.yaml`, filling `${VAR}` / `${VAR:-default}` from the environment.

    A value that is only `${VAR:-}` with VAR unset or empty becomes null (the component's default).
    """
    path = STACKS_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"stack '{name}': no file {path}; known stacks: {', '.join(available_stacks())}")
    return validate(StackSpec, expand_env(read_yaml_mapping(path, "stack file"), path), str(path))
