"""The fitted pipeline compiled to ONNX, switched in only once it is proven to answer the same.

One row through the scikit-learn `Pipeline` costs milliseconds (its per-call checks through the
`ColumnTransformer`); the same imputation, scaling, one-hot encoding and estimator compiled with
skl2onnx and run by onnxruntime cost a fraction of that. A compiled model is used only when it
gives identical labels and probabilities within `PROBABILITY_TOLERANCE` on the rows it is proven
on (the example rows and the held-out set); when an estimator or transformer has no converter, or
the answers differ (tree ensembles compare float32 thresholds), the pipeline itself is served and
the reason is kept. LightGBM's and XGBoost's classifiers convert with onnxmltools' converters,
registered with skl2onnx when their package is installed (their extras install it).
"""

from __future__ import annotations

import copy
import functools
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from core.dependencies import estimator_parts
from core.modeling import ESTIMATOR_STEP, prepare_features
from core.validation import FeatureSchema

PROBABILITY_TOLERANCE = 1e-5
# ONNX has no missing string: a missing category goes in as "", and the compiled imputers of
# string columns look for "" where the pipeline's look for NaN (skl2onnx converts only those).
MISSING_CATEGORY = ""
ONNX_OPSETS = {"": 17, "ai.onnx.ml": 3}
Runtime = Literal["onnx", "sklearn"]


class ServingChoice(BaseModel):
    """What serves a model version and why: kept as metadata and shown by `deployment status`."""

    model_config = ConfigDict(frozen=True)

    runtime: Runtime
    reason: str
    proven_rows: int = 0
    max_probability_difference: float | None = None


class OnnxModel:
    """An ONNX model of the pipeline, scored from feature columns by name as the pipeline is."""

    def __init__(self, onnx: bytes, schema: FeatureSchema) -> None:
        import onnxruntime

        self.onnx = onnx
        self.schema = schema
        self._session = onnxruntime.InferenceSession(onnx, providers=["CPUExecutionProvider"])
        self.input_names = [item.name for item in self._session.get_inputs()]

    def predict(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Labels and class probabilities of the rows of `frame`."""
        return self.run(self.feed(frame))

    def feed(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """The rows of `frame` as the model's inputs: one float32 or string column vector each."""
        features = prepare_features(frame, self.schema)
        return {
            input_name: _column_block(features[column], kind)
            for input_name, (column, kind) in zip(self.input_names, self.schema.columns.items(), strict=True)
        }

    def run(self, feed: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        labels, probabilities = self._session.run(None, feed)
        return np.asarray(labels).ravel(), np.asarray(probabilities, dtype="float64")


def _column_block(values: pd.Series, kind: str) -> np.ndarray:
    """One column as the ONNX input takes it: a float32 or string column vector."""
    if kind == "categorical":
        strings = values.astype(object).where(values.isna(), values.astype(str))
        return strings.where(values.notna(), MISSING_CATEGORY).to_numpy(dtype=object).reshape(-1, 1)
    return values.to_numpy(dtype="float32", na_value=np.nan).reshape(-1, 1)


def compile_to_onnx(model: Any, schema: FeatureSchema) -> bytes:
    """The pipeline as ONNX: one input per feature column, labels and a probability matrix out.

    Raises whatever skl2onnx raises for a step it cannot convert.
    """
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    _register_boosting_converters()
    initial_types = [
        (name, StringTensorType([None, 1]) if kind == "categorical" else FloatTensorType([None, 1]))
        for name, kind in schema.columns.items()
    ]
    convertible = _imputing_missing_categories_from_strings(model)
    estimator = convertible.named_steps[ESTIMATOR_STEP]
    onnx = to_onnx(
        convertible,
        initial_types=initial_types,
        options={id(estimator): {"zipmap": False}},
        target_opset=ONNX_OPSETS,
    )
    serialized: bytes = onnx.SerializeToString()
    return serialized


@functools.cache
def _register_boosting_converters() -> None:
    """skl2onnx's converters for LightGBM's and XGBoost's classifiers, from onnxmltools, for the
    ones that are installed (the way skl2onnx documents it, with the options the project passes)."""
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

    options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    try:
        from lightgbm import LGBMClassifier
        from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm

        update_registered_converter(
            LGBMClassifier,
            "LightGbmLGBMClassifier",
            calculate_linear_classifier_output_shapes,
            convert_lightgbm,
            options=options,
        )
    except ImportError:
        pass
    try:
        from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
        from xgboost import XGBClassifier

        update_registered_converter(
            XGBClassifier,
            "XGBoostXGBClassifier",
            calculate_linear_classifier_output_shapes,
            convert_xgboost,
            options=options,
        )
    except ImportError:
        pass


def _imputing_missing_categories_from_strings(model: Any) -> Any:
    """A copy of the fitted pipeline whose imputers of string columns look for `MISSING_CATEGORY`
    instead of NaN; what they fill in (the fitted statistics) is the same."""
    from sklearn.impute import SimpleImputer

    convertible = copy.deepcopy(model)
    for step in estimator_parts(convertible):
        fitted = getattr(step, "statistics_", None)  # None: a branch without columns, never fitted
        if isinstance(step, SimpleImputer) and fitted is not None and np.asarray(fitted).dtype == object:
            step.missing_values = MISSING_CATEGORY
    return convertible


def choose_runtime(
    model: Any, schema: FeatureSchema, proof: pd.DataFrame
) -> tuple[ServingChoice, bytes | None]:
    """Compile `model` and prove it on the rows of `proof`; the ONNX bytes only if they are served."""
    try:
        compiled = OnnxModel(compile_to_onnx(model, schema), schema)
    except Exception as error:  # skl2onnx raises many kinds for what it cannot convert
        reason = f"no ONNX converter for this pipeline ({type(error).__name__}: {_first_line(error)})"
        return ServingChoice(runtime="sklearn", reason=reason), None
    labels, probabilities = compiled.predict(proof)
    expected = model.predict_proba(prepare_features(proof, schema))
    expected_labels = np.asarray(model.classes_)[expected.argmax(axis=1)]
    difference = float(np.abs(probabilities - expected).max())
    rows = len(proof)
    mismatched = int((labels.astype(str) != expected_labels.astype(str)).sum())
    if mismatched or difference > PROBABILITY_TOLERANCE:
        reason = (
            f"the ONNX model answers differently on {rows} proof rows ({mismatched} labels differ, "
            f"probabilities up to {difference:.2g} apart, tolerance {PROBABILITY_TOLERANCE:g})"
        )
        return ServingChoice(
            runtime="sklearn", reason=reason, proven_rows=rows, max_probability_difference=difference
        ), None
    reason = (
        f"compiled to ONNX: identical labels and probabilities within {PROBABILITY_TOLERANCE:g} on "
        f"{rows} proof rows (largest difference {difference:.2g})"
    )
    choice = ServingChoice(
        runtime="onnx", reason=reason, proven_rows=rows, max_probability_difference=difference
    )
    return choice, compiled.onnx


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [""])[0][:200]
