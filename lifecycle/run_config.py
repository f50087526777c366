"""Load a pipeline's YAML run config, validate its parameters and apply command-line overrides.

Nothing here imports ZenML, so a bad config fails in a fraction of a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from lifecycle.config import TrainingParameters, describe_validation_error
from lifecycle.errors import ConfigError
from lifecycle.sources import source_for_path


@dataclass(frozen=True)
class RunConfig:
    """The ZenML part of the YAML (model, caching, settings) and the validated parameters."""

    path: Path
    zenml_options: dict[str, Any]
    parameters: TrainingParameters

    @property
    def model_name(self) -> str:
        return str(self.zenml_options["model"]["name"])


def load_run_config(path: Path) -> RunConfig:
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
        parameters = TrainingParameters.model_validate(options.pop("parameters", None) or {})
    except ValidationError as error:
        raise ConfigError(f"{path}: {describe_validation_error(error, 'parameters')}") from None
    model = options.get("model")
    if not isinstance(model, dict) or not model.get("name"):
        raise ConfigError(f"{path}: model.name: required (the Model Control Plane's model name)")
    return RunConfig(path=path, zenml_options=options, parameters=parameters)


def with_overrides(
    config: RunConfig,
    data: Path | None = None,
    target: str | None = None,
    model_name: str | None = None,
    no_cache: bool = False,
) -> RunConfig:
    """The config with `--data`, `--target`, `--model-name` and `--no-cache` applied."""
    data_config = config.parameters.data
    if data is not None:
        if not data.is_file():
            raise ConfigError(f"--data: data file '{data}': no such file")
        data_config = data_config.model_copy(update={"source": source_for_path(data)})
    if target is not None:
        data_config = data_config.model_copy(update={"target": target})
    options = dict(config.zenml_options)
    if model_name is not None:
        options["model"] = {**options["model"], "name": model_name}
    if no_cache:
        options["enable_cache"] = False
    parameters = config.parameters.model_copy(update={"data": data_config})
    return RunConfig(path=config.path, zenml_options=options, parameters=parameters)
