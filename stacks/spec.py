"""The shape of a `stacks/*.yaml` file, validated before anything is registered."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lifecycle.config import describe_validation_error
from lifecycle.errors import ConfigError

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
ENV_REFERENCE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::-(?P<default>[^}]*))?\}")


class ComponentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    flavor: str
    configuration: dict[str, Any] = Field(default_factory=dict)


class FlavorSpec(BaseModel):
    """A flavor the project provides, by import path, registered before the components."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    type: ComponentType


class StackSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

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
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: must be a mapping with `name` and `components`")
    try:
        return StackSpec.model_validate(expand_env(raw, path))
    except ValidationError as error:
        raise ConfigError(f"{path}: {describe_validation_error(error, '')}") from None


def expand_env(value: Any, path: Path) -> Any:
    """`value` with `${VAR}` / `${VAR:-default}` filled in, recursively; `path` names the file in errors."""
    if isinstance(value, dict):
        return {key: expand_env(item, path) for key, item in value.items()}
    if isinstance(value, list):
        return [expand_env(item, path) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group("name"), match.group("default")
        if name in os.environ:
            return os.environ[name]
        if default is None:
            raise ConfigError(f"{path}: environment variable {name} is not set")
        return default

    expanded = ENV_REFERENCE.sub(substitute, value)
    # `${VAR:-}` alone means "unset": the component's own default applies, not an empty string.
    return None if expanded == "" and ENV_REFERENCE.fullmatch(value) else expanded
