"""Every pydantic model the pipelines hand their steps survives what ZenML does to a step parameter
(it dumps the value and validates the dump again, every field set) in the environment README
command 1 makes, where no extra is installed: one test per model, with the shipped configs' values.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.journeys.workspace import Workspace

pytestmark = pytest.mark.journey

# Run in the workspace: each pipeline's steps, each parameter whose type is a pydantic model, its
# value from the pipeline's shipped config (or the model's own default), through ZenML's own
# `validate_input` after the dump and re-construction ZenML's `_finalize_parameters` does.
CHECK = """
import importlib, inspect, json, pkgutil
from pathlib import Path
from pydantic import BaseModel
import steps
from pipelines.parameters import PARAMETERS
from pipelines.run_config import load_pipeline_config

values = {}
for name in PARAMETERS:
    parameters = load_pipeline_config(name, Path("configs") / f"{name.replace('-', '_')}.yaml").parameters
    for value in vars(parameters).values():
        if isinstance(value, BaseModel):
            values.setdefault(type(value), value)
found = {}
for module in pkgutil.iter_modules(steps.__path__):
    for step in vars(importlib.import_module(f"steps.{module.name}")).values():
        definition = getattr(step, "entrypoint_definition", None)
        for key, parameter in (definition.inputs.items() if definition is not None else []):
            kind = parameter.annotation
            given = [v for t, v in values.items() if inspect.isclass(kind) and issubclass(t, kind)]
            value = given[0] if given else None
            if value is None:
                continue  # not a parameter from a config: an artifact another step makes
            try:
                definition.validate_input(key=key, value=kind(**value.model_dump()).model_dump())
                found.setdefault(kind.__name__, "ok")
            except Exception as error:
                found[kind.__name__] = f"{type(error).__name__}: {error}"
print(json.dumps(found))
"""
MODELS = (
    "DataConfig",
    "LabeledDataConfig",
    "ValidationConfig",
    "SplitConfig",
    "TrainConfig",
    "EvaluationConfig",
    "PromotionConfig",
    "MLServerConfig",
    "SeldonSettings",
    "DriftConfig",
    "QualityConfig",
    "ScoringConfig",
    "OutputConfig",
    "MonitoringConfig",
)


@pytest.fixture(scope="module")
def survived(adopter: Workspace) -> dict[str, str]:
    results: dict[str, str] = adopter.python_json(CHECK)
    return results


@pytest.mark.parametrize("model", MODELS)
def test_the_model_survives_zenmls_dump_and_validate_without_extras(
    survived: dict[str, Any], model: str
) -> None:
    assert survived.get(model) == "ok", survived.get(model, f"no step of the pipelines takes a {model}")


def test_every_model_a_step_takes_is_checked(survived: dict[str, Any]) -> None:
    assert sorted(survived) == sorted(MODELS)
