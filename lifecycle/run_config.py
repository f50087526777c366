"""Load a pipeline's YAML run config, validate its parameters and apply command-line overrides.

Nothing here imports ZenML, so a bad config fails in a fraction of a second.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

import yaml
from pydantic import ValidationError

from lifecycle.config import StrictModel, TrainingParameters, describe_validation_error
from lifecycle.errors import ConfigError
from lifecycle.sources import source_for_path

P = TypeVar("P", bound=StrictModel)


@dataclass(frozen=True)
class RunConfig(Generic[P]):
    """The ZenML part of the YAML (model, caching, settings) and the validated parameters."""

    path: Path
    zenml_options: dict[str, Any]
    parameters: P

    @property
    def model_name(self) -> str:
        return str(self.zenml_options["model"]["name"])


@overload
def load_run_config(path: Path) -> RunConfig[TrainingParameters]: ...


@overload
def load_run_config(path: Path, parameters_type: type[P]) -> RunConfig[P]: ...


def load_run_config(path: Path, parameters_type: type[Any] = TrainingParameters) -> RunConfig[Any]:
    """Read a pipeline's YAML; `parameters` is validated with `parameters_type`."""
    if not path.is_file():
        raise ConfigError(f"config file '{path}': no such file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        reason = str(error).splitlines()[0]
        raise ConfigError(f"config file '{path}': not valid YAML ({reason})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"config file '{path}': must be a mapping of keys to values")
    options = dict(raw)
    try:
        parameters = parameters_type.model_validate(options.pop("parameters", None) or {})
    except ValidationError as error:
        raise ConfigError(f"{path}: {describe_validation_error(error, 'parameters')}") from None
    model = options.get("model")
    if not isinstance(model, dict) or not model.get("name"):
        raise ConfigError(f"{path}: model.name: required (the Model Control Plane's model name)")
    return RunConfig(path=path, zenml_options=options, parameters=parameters)


def with_overrides(
    config: RunConfig[P],
    data: Path | None = None,
    target: str | None = None,
    model_name: str | None = None,
    no_cache: bool = False,
) -> RunConfig[P]:
    """The config with `--data`, `--target`, `--model-name` and `--no-cache` applied."""
    parameters = config.parameters
    if data is not None or target is not None:
        data_config = getattr(parameters, "data", None)
        if data_config is None:
            raise ConfigError(f"--data and --target do not apply to {config.path.name}")
        if data is not None:
            if not data.is_file():
                raise ConfigError(f"--data: data file '{data}': no such file")
            data_config = data_config.model_copy(update={"source": source_for_path(data)})
        if target is not None:
            data_config = data_config.model_copy(update={"target": target})
        parameters = parameters.model_copy(update={"data": data_config})
    options = dict(config.zenml_options)
    if model_name is not None:
        options["model"] = {**options["model"], "name": model_name}
    if no_cache:
        options["enable_cache"] = False
    return replace(config, zenml_options=options, parameters=parameters)
