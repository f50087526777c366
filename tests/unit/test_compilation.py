"""core/compilation.py: the pipeline compiled to ONNX is served only when it answers as the
pipeline does; otherwise the pipeline serves and the reason says why."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from core.compilation import PROBABILITY_TOLERANCE, OnnxModel, choose_runtime, compile_to_onnx
from core.modeling import TrainConfig, fit_model, prepare_features
from core.sources import DemoSource, load_source
from core.validation import FeatureSchema, ValidationConfig, validate_training_data
from tests.integration.conftest import make_multiclass_frame


def trained(
    frame: pd.DataFrame, target: str, estimator: str, scale: bool | None = None, **params: object
) -> tuple[Any, FeatureSchema]:
    data, schema = validate_training_data(frame, target, ValidationConfig())
    config = TrainConfig(estimator=estimator, params=params, scale_numeric=scale)
    model, _ = fit_model(data, schema, config)
    return model, schema


@pytest.fixture(scope="module")
def flowers() -> pd.DataFrame:
    """Numeric and categorical features with missing values, three string classes."""
    return make_multiclass_frame()


def test_a_logistic_regression_with_categories_and_gaps_compiles_and_answers_the_same(
    flowers: pd.DataFrame,
) -> None:
    model, schema = trained(flowers, "species", "sklearn.linear_model.LogisticRegression", max_iter=2000)

    choice, onnx = choose_runtime(model, schema, flowers)

    assert choice.runtime == "onnx" and onnx is not None
    assert choice.proven_rows == len(flowers)
    assert choice.max_probability_difference is not None
    assert choice.max_probability_difference <= PROBABILITY_TOLERANCE
    labels, probabilities = OnnxModel(onnx, schema).predict(flowers)
    expected = model.predict_proba(prepare_features(flowers, schema))
    assert labels.tolist() == model.predict(prepare_features(flowers, schema)).tolist()
    np.testing.assert_allclose(probabilities, expected, atol=PROBABILITY_TOLERANCE)


def test_the_binary_demo_model_compiles() -> None:
    frame = load_source(DemoSource(kind="demo"))
    model, schema = trained(frame, "target", "sklearn.linear_model.LogisticRegression", max_iter=2000)

    choice, onnx = choose_runtime(model, schema, frame.head(200))

    assert choice.runtime == "onnx" and onnx is not None


def test_answers_that_differ_keep_the_pipeline_and_say_by_how_much(flowers: pd.DataFrame) -> None:
    # A forest on scaled features: ONNX scales in float32, and values cross the forest's thresholds.
    model, schema = trained(
        flowers, "species", "sklearn.ensemble.RandomForestClassifier", scale=True, n_estimators=50
    )

    choice, onnx = choose_runtime(model, schema, flowers)

    assert choice.runtime == "sklearn" and onnx is None
    assert choice.reason.startswith(f"the ONNX model answers differently on {len(flowers)} proof rows")
    assert choice.max_probability_difference is not None
    assert choice.max_probability_difference > PROBABILITY_TOLERANCE


@pytest.mark.parametrize(
    "estimator",
    [
        "sklearn.ensemble.RandomForestClassifier",
        "sklearn.ensemble.HistGradientBoostingClassifier",
        "lightgbm.LGBMClassifier",
        "xgboost.XGBClassifier",
    ],
)
def test_tree_models_are_not_scaled_and_compile_with_the_same_answers(estimator: str) -> None:
    """Trees split on thresholds: unscaled, their compiled (float32) form answers as they do;
    LightGBM and XGBoost through onnxmltools' converters. Integer labels: XGBoost's rule."""
    frame = make_multiclass_frame().assign(
        species=lambda f: f["species"].map({"setosa": 0, "versicolor": 1, "virginica": 2})
    )
    model, schema = trained(frame, "species", estimator)

    choice, onnx = choose_runtime(model, schema, frame)

    assert [name for name, _ in model.named_steps["preprocess"].named_transformers_["numeric"].steps] == [
        "simpleimputer"
    ]
    assert choice.runtime == "onnx" and onnx is not None, choice.reason
    assert choice.max_probability_difference is not None
    assert choice.max_probability_difference <= PROBABILITY_TOLERANCE


def test_an_estimator_without_a_converter_keeps_the_pipeline_and_names_why(flowers: pd.DataFrame) -> None:
    model, schema = trained(flowers, "species", "sklearn.gaussian_process.GaussianProcessClassifier")

    with pytest.raises(Exception):  # noqa: B017  (skl2onnx's own error, whatever its kind)
        compile_to_onnx(model, schema)
    choice, onnx = choose_runtime(model, schema, flowers)

    assert choice.runtime == "sklearn" and onnx is None
    assert choice.reason.startswith("no ONNX converter for this pipeline (")


@pytest.mark.parametrize("runtime", ["onnx", "sklearn"])
def test_a_missing_category_is_missing_on_every_path(tmp_path: Path, runtime: str) -> None:
    """Stored artifacts give a missing category as None (Arrow), files as NaN (pandas), a V2
    request as null: trained on artifacts, the pipeline, its compiled form and the serving scorer
    (as MLServer runs it) all impute it, and answer the same."""
    import sys

    import pyarrow as pa

    from stacks.mlserver import repository

    frame = pa.Table.from_pandas(make_multiclass_frame(), preserve_index=False).to_pandas()  # None
    model, schema = trained(frame, "species", "sklearn.linear_model.LogisticRegression", max_iter=2000)
    rows = make_multiclass_frame(n_rows=40, seed=5).drop(columns="species")  # NaN
    rows.loc[rows.index[:5], "habitat"] = np.nan
    choice, onnx = choose_runtime(model, schema, frame)
    assert choice.runtime == "onnx", choice.reason
    if runtime == "sklearn":
        choice, onnx = choice.model_copy(update={"runtime": "sklearn"}), None
    folder = repository.write_model_version(
        tmp_path, "m", "1", model, schema, rows, 100, repository.Batching(1, 2.0), choice, onnx
    )
    sys.path.insert(0, str(folder.parent))
    try:
        from version_scorer import VersionScorer  # the copy MLServer imports beside the runtime
    finally:
        sys.path.remove(str(folder.parent))
    request = {
        name: rows[name].to_numpy(dtype=object) if kind == "categorical" else rows[name].to_numpy(dtype=float)
        for name, kind in schema.columns.items()
    }
    request["habitat"] = np.array([None if pd.isna(v) else v for v in request["habitat"]], dtype=object)

    labels, probabilities = VersionScorer(folder).predict(request)

    expected = model.predict_proba(prepare_features(rows, schema))
    np.testing.assert_allclose(probabilities, expected, atol=PROBABILITY_TOLERANCE)
    assert labels.tolist() == model.predict(prepare_features(rows, schema)).tolist()


def test_a_redeployed_version_never_rewrites_a_file_a_server_reads(
    tmp_path: Path, flowers: pd.DataFrame
) -> None:
    """Writing a version that is already in the repository (a redeploy of the served version)
    puts new files in place by renames: a reader holding the old ones reads them whole, and no
    staging folder is left behind."""
    from stacks.mlserver import repository

    model, schema = trained(flowers, "species", "sklearn.linear_model.LogisticRegression", max_iter=2000)
    choice, onnx = choose_runtime(model, schema, flowers)

    def write() -> Path:
        rows = flowers.drop(columns="species")
        batching = repository.Batching(1, 2.0)
        return repository.write_model_version(
            tmp_path, "m", "1", model, schema, rows, 100, batching, choice, onnx
        )

    folder = write()
    served = {path.name: path.open("rb") for path in [*folder.iterdir(), *folder.parent.glob("*.py")]}
    before = {name: handle.read() for name, handle in served.items()}
    inodes = {name: os.fstat(handle.fileno()).st_ino for name, handle in served.items()}
    write()

    for name, handle in served.items():
        handle.seek(0)
        assert handle.read() == before[name], name
        assert (folder / name if (folder / name).exists() else folder.parent / name).stat().st_ino != inodes[
            name
        ]
        handle.close()
    assert sorted(path.name for path in folder.parent.iterdir() if path.name.startswith(".")) == []
