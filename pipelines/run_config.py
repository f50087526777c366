"""A pipeline's YAML run config: the ZenML options as they are, the `parameters` validated, and the
command-line overrides applied.

Nothing here imports ZenML, so a bad config fails in a fraction of a second.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Generic, TypeVar

from core.config_files import read_yaml_mapping, validate
from core.errors import ConfigError
from core.model_names import checked_name
from core.modeling import WITHOUT_ESTIMATOR_CHECK
from core.sources import data_option_source
from core.types import StrictModel
from pipelines.parameters import PARAMETERS, BatchInferenceParameters
from stacks.overlays import OVERLAYS_DIR, merged, stack_parameters

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


def load_run_config(path: Path, parameters_type: type[P]) -> RunConfig[P]:
    """Read a pipeline's YAML; `parameters` is validated with `parameters_type`."""
    options = read_yaml_mapping(path)
    model = options.get("model")
    if not isinstance(model, dict) or not model.get("name"):
        raise ConfigError(f"{path}: model.name: required (the Model Control Plane's model name)")
    checked_name(str(model["name"]), f"{path}: model.name")
    raw = options.pop("parameters", None) or {}
    # First without the estimator check, which imports scikit-learn: any other mistake is reported
    # in about a second.
    validate(parameters_type, raw, str(path), "parameters", context=WITHOUT_ESTIMATOR_CHECK)
    parameters = validate(parameters_type, raw, str(path), "parameters")
    return RunConfig(path=path, zenml_options=options, parameters=parameters)


def with_stack_parameters(
    config: RunConfig[P], stack_name: str, pipeline: str, folder: Path = OVERLAYS_DIR
) -> RunConfig[P]:
    """The config with the stack overlay's defaults for `pipeline`'s parameters laid over it (a
    source is replaced whole); for runs with the shipped config and no `--data`."""
    defaults = stack_parameters(stack_name, pipeline, folder)
    if not defaults:
        return config
    raw = merged(config.parameters.model_dump(mode="json", exclude_none=True), defaults, whole_if="kind")
    where = f"{folder / stack_name}.yaml over {config.path}"
    parameters = validate(type(config.parameters), raw, where, "parameters")
    return replace(config, parameters=parameters)


def load_pipeline_config(pipeline: str, path: Path) -> RunConfig[Any]:
    """The run config of `pipeline` (training, deployment, batch-inference, continuous-training)."""
    return load_run_config(path, PARAMETERS[pipeline])


def with_overrides(
    config: RunConfig[P],
    data: str | None = None,
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
            source = data_option_source(data, by_reference=isinstance(parameters, BatchInferenceParameters))
            data_config = data_config.model_copy(update={"source": source})
        if target is not None:
            data_config = data_config.model_copy(update={"target": target})
        parameters = parameters.model_copy(update={"data": data_config})
    if isinstance(parameters, BatchInferenceParameters):
        _check_engine_reads(parameters, config.path)
    options = dict(config.zenml_options)
    if model_name is not None:
        options["model"] = {**options["model"], "name": model_name}
    if no_cache:
        options["enable_cache"] = False
    return replace(config, zenml_options=options, parameters=parameters)


def _check_engine_reads(parameters: BatchInferenceParameters, path: Path) -> None:
    """Spark reads files: known only once `--data` has replaced the config's source."""
    kind = parameters.data.source.kind
    if parameters.scoring.engine == "spark" and kind != "files":
        raise ConfigError(
            f"{path}: parameters.scoring.engine: spark reads files; data.source is of kind '{kind}' "
            "(give a file, folder or URI with --data, or a source of kind `files`)"
        )


def retraining_configs(config: RunConfig[Any]) -> tuple[RunConfig[Any], RunConfig[Any]]:
    """The training and deployment configs a continuous-training config names (relative to its
    folder), for its model: read before anything runs, so a bad one costs no drift check."""
    params, folder, model = config.parameters, config.path.parent, config.model_name
    return (
        with_overrides(load_pipeline_config("training", folder / params.training_config), model_name=model),
        with_overrides(
            load_pipeline_config("deployment", folder / params.deployment_config), model_name=model
        ),
    )
