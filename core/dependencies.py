"""What a fitted model needs installed wherever it is loaded: the distributions of the classes it is
made of (scikit-learn, and LightGBM, XGBoost or any other estimator's package), pinned to the
versions that are installed here, where it was trained or loaded.

The one place that answers it: the MLServer serving environment, the MLflow model Spark scores with
and the model version's lineage all ask `model_requirements`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import metadata
from typing import Any


def model_requirements(model: Any) -> list[str]:
    """`name==version` of every distribution a class inside `model` comes from, sorted."""
    found: dict[str, str] = {}
    for part in estimator_parts(model):
        module = type(part).__module__.split(".")[0]
        for distribution in _distributions().get(module, []):
            found[distribution] = metadata.version(distribution)
    return [f"{name}=={version}" for name, version in sorted(found.items())]


def pyfunc_requirements(model: Any) -> list[str]:
    """What an MLflow model of the pipeline needs: its own packages, and pandas for the frames it is
    given. Named when the model is saved, so MLflow does not infer them by loading it in a child
    process (about 7 s)."""
    return sorted({*model_requirements(model), f"pandas=={metadata.version('pandas')}"})


def estimator_parts(estimator: Any) -> list[Any]:
    """Every estimator inside a fitted pipeline or column transformer, depth first, itself first."""
    children = [step for _, step in getattr(estimator, "steps", [])]
    children += [transformer for _, transformer, _ in getattr(estimator, "transformers_", [])]
    return [estimator, *(nested for child in children for nested in estimator_parts(child))]


@functools.cache
def _distributions() -> Mapping[str, list[str]]:
    """Top-level module -> distributions; read once (about 0.2 s with a few hundred installed)."""
    return metadata.packages_distributions()
