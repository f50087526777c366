"""stacks/deployers.py: `mlserver.runtime` chooses what serves: auto, or either one forced."""

from __future__ import annotations

import pytest

from core.errors import DeploymentError
from core.modeling import TrainConfig, fit_model
from core.sources import DemoSource, load_source
from core.validation import ValidationConfig, validate_training_data
from stacks.deployers import ModelToServe, _serving_choice
from stacks.mlserver.config import MLServerConfig


def served(estimator: str) -> ModelToServe:
    frame = load_source(DemoSource(kind="demo"))
    data, schema = validate_training_data(frame, "target", ValidationConfig())
    model, _ = fit_model(data, schema, TrainConfig(estimator=estimator))
    features = data[schema.features]
    return ModelToServe("demo", "1", model, schema, features.head(5), data.tail(100))


def test_auto_serves_the_compiled_model_when_it_is_proven() -> None:
    choice, onnx = _serving_choice(served("sklearn.linear_model.LogisticRegression"), MLServerConfig())

    assert choice.runtime == "onnx" and onnx is not None
    assert choice.proven_rows == 105  # the five example rows and the hundred held-out ones


def test_sklearn_forced_skips_the_compilation() -> None:
    config = MLServerConfig(runtime="sklearn")
    choice, onnx = _serving_choice(served("sklearn.linear_model.LogisticRegression"), config)

    assert choice.runtime == "sklearn" and onnx is None
    assert choice.reason == "mlserver.runtime is sklearn in the config"


def test_onnx_forced_on_a_pipeline_without_a_converter_fails_the_deployment() -> None:
    without_converter = served("sklearn.gaussian_process.GaussianProcessClassifier")

    with pytest.raises(DeploymentError, match=r"mlserver\.runtime is onnx, but no ONNX converter"):
        _serving_choice(without_converter, MLServerConfig(runtime="onnx"))
