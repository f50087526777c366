"""core/modeling.py: the stratified split, the preprocessing + estimator pipeline and its fitting."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from core.errors import DataValidationError
from core.modeling import (
    SearchConfig,
    SplitConfig,
    TrainConfig,
    build_model,
    fit_model,
    prepare_features,
    stratified_split,
)
from core.validation import FeatureSchema, ValidationConfig, validate_training_data

SMALL_FOREST = TrainConfig(
    estimator="sklearn.ensemble.RandomForestClassifier", params={"n_estimators": 10, "n_jobs": 1}, seed=7
)


def make_frame(n: int = 90, seed: int = 0) -> pd.DataFrame:
    """Numeric and categorical features with gaps; three string classes the features partly explain."""
    rng = np.random.default_rng(seed)
    labels = np.array(["low", "mid", "high"])[np.arange(n) % 3]
    size = rng.normal(size=n) + np.select([labels == "low", labels == "mid"], [-2.0, 0.0], 2.0)
    colour = np.where(labels == "high", "red", rng.choice(["blue", "green"], size=n)).astype(object)
    frame = pd.DataFrame({"size": size, "colour": colour, "noise": rng.normal(size=n), "label": labels})
    frame.loc[[3, 10, 40], "size"] = np.nan
    frame.loc[[5, 22], "colour"] = None
    return frame


@pytest.fixture(scope="module")
def validated() -> tuple[pd.DataFrame, FeatureSchema]:
    return validate_training_data(make_frame(), "label", ValidationConfig())


# --- stratified_split ---------------------------------------------------------------------------------
def test_split_sizes_and_class_proportions() -> None:
    frame = pd.DataFrame({"x": range(100), "y": ["a"] * 60 + ["b"] * 30 + ["c"] * 10})
    train, test = stratified_split(frame, "y", SplitConfig(test_size=0.2, seed=3))
    assert len(train) == 80
    assert len(test) == 20
    assert test["y"].value_counts().to_dict() == {"a": 12, "b": 6, "c": 2}
    assert train["y"].value_counts().to_dict() == {"a": 48, "b": 24, "c": 8}
    assert set(train.index).isdisjoint(test.index)
    assert sorted([*train.index, *test.index]) == list(range(100))


def test_split_is_seeded() -> None:
    frame = make_frame()
    first = stratified_split(frame, "label", SplitConfig(test_size=0.3, seed=11))
    second = stratified_split(frame, "label", SplitConfig(test_size=0.3, seed=11))
    other = stratified_split(frame, "label", SplitConfig(test_size=0.3, seed=12))
    assert first[1].index.tolist() == second[1].index.tolist()
    assert first[0].index.tolist() == second[0].index.tolist()
    assert first[1].index.tolist() != other[1].index.tolist()


def test_split_rejects_test_size_too_small_for_every_class() -> None:
    frame = pd.DataFrame({"x": range(20), "y": ["a", "b", "c", "d"] * 5})
    with pytest.raises(DataValidationError) as caught:
        stratified_split(frame, "y", SplitConfig(test_size=0.1))
    assert str(caught.value) == (
        "split.test_size = 0.1: 2 test rows of 20 cannot hold all 4 classes on both sides"
    )


def test_split_rejects_test_size_leaving_too_few_training_rows() -> None:
    frame = pd.DataFrame({"x": range(10), "y": ["a", "b"] * 5})
    with pytest.raises(DataValidationError, match=re.escape("split.test_size = 0.95: 10 test rows of 10")):
        stratified_split(frame, "y", SplitConfig(test_size=0.95))


def test_split_keeps_every_class_on_both_sides_or_refuses() -> None:
    frame = pd.DataFrame({"x": range(10), "y": ["a"] * 8 + ["b"] * 2})
    try:
        train, test = stratified_split(frame, "y", SplitConfig(test_size=0.2, seed=0))
    except DataValidationError:
        return
    assert set(test["y"]) == {"a", "b"}
    assert set(train["y"]) == {"a", "b"}


# --- build_model / prepare_features ------------------------------------------------------------------------
def test_build_model_routes_columns_by_kind_and_seeds_estimator() -> None:
    schema = FeatureSchema(
        target="y",
        columns={"a": "numeric", "b": "categorical", "c": "integer", "d": "boolean"},
        classes=[],
    )
    model = build_model(schema, SMALL_FOREST)
    assert isinstance(model, Pipeline)
    assert [name for name, _ in model.steps] == ["preprocess", "estimator"]
    transformers = {name: columns for name, _, columns in model.named_steps["preprocess"].transformers}
    assert transformers == {"numeric": ["a", "c", "d"], "categorical": ["b"]}
    estimator = model.named_steps["estimator"]
    assert isinstance(estimator, RandomForestClassifier)
    assert estimator.random_state == 7
    assert estimator.n_estimators == 10


def test_build_model_keeps_explicit_random_state() -> None:
    schema = FeatureSchema(target="y", columns={"a": "numeric"}, classes=[])
    config = TrainConfig(
        estimator="sklearn.linear_model.LogisticRegression", params={"random_state": 3}, seed=9
    )
    estimator = build_model(schema, config).named_steps["estimator"]
    assert isinstance(estimator, LogisticRegression)
    assert estimator.random_state == 3


def test_build_model_without_random_state_parameter() -> None:
    schema = FeatureSchema(target="y", columns={"a": "numeric"}, classes=[])
    config = TrainConfig(estimator="sklearn.neighbors.KNeighborsClassifier", params={"n_neighbors": 3})
    estimator = build_model(schema, config).named_steps["estimator"]
    assert estimator.get_params()["n_neighbors"] == 3
    assert "random_state" not in estimator.get_params()


def test_prepare_features_orders_columns_and_makes_floats() -> None:
    schema = FeatureSchema(
        target="y", columns={"visits": "integer", "member": "boolean", "city": "categorical"}, classes=[]
    )
    frame = pd.DataFrame(
        {
            "y": ["a", "b"],
            "city": ["Oslo", None],
            "member": pd.array([True, None], dtype="boolean"),
            "visits": pd.array([3, None], dtype="Int64"),
        }
    )
    features = prepare_features(frame, schema)
    assert features.columns.tolist() == ["visits", "member", "city"]
    assert features["visits"].dtype == np.float64
    assert features["member"].dtype == np.float64
    assert features["visits"].tolist()[0] == 3.0
    assert np.isnan(features["member"].tolist()[1])
    assert str(frame["visits"].dtype) == "Int64"  # the input is not modified


# --- fit_model --------------------------------------------------------------------------------------------
def test_fit_and_predict_with_missing_values_and_string_labels(
    validated: tuple[pd.DataFrame, FeatureSchema],
) -> None:
    frame, schema = validated
    train, test = stratified_split(frame, "label", SplitConfig(test_size=0.3, seed=1))
    model, params = fit_model(train, schema, SMALL_FOREST)
    assert params == {"n_estimators": 10, "n_jobs": 1}
    assert sorted(model.classes_.tolist()) == ["high", "low", "mid"]
    predicted = model.predict(prepare_features(test, schema))
    assert len(predicted) == len(test)
    assert set(predicted) <= {"high", "low", "mid"}
    assert (predicted == test["label"].to_numpy()).mean() >= 0.6
    probabilities = model.predict_proba(prepare_features(test, schema))
    assert probabilities.shape == (len(test), 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)


def test_model_ignores_unknown_category_at_prediction(validated: tuple[pd.DataFrame, FeatureSchema]) -> None:
    frame, schema = validated
    model, _ = fit_model(frame, schema, SMALL_FOREST)
    new = pd.DataFrame({"size": [2.5, np.nan], "colour": ["purple", None], "noise": [0.0, 0.1]})
    assert len(model.predict(prepare_features(new, schema))) == 2


def test_logistic_regression_fits(validated: tuple[pd.DataFrame, FeatureSchema]) -> None:
    frame, schema = validated
    config = TrainConfig(estimator="sklearn.linear_model.LogisticRegression", params={"max_iter": 200})
    model, params = fit_model(frame, schema, config)
    assert params == {"max_iter": 200}
    assert isinstance(model.named_steps["estimator"], LogisticRegression)
    assert model.score(prepare_features(frame, schema), frame["label"]) >= 0.7


def test_same_seed_gives_identical_predictions(validated: tuple[pd.DataFrame, FeatureSchema]) -> None:
    frame, schema = validated
    train, test = stratified_split(frame, "label", SplitConfig(test_size=0.3, seed=1))
    config = TrainConfig(params={"n_estimators": 10, "max_features": 1}, seed=5)
    first, _ = fit_model(train, schema, config)
    second, _ = fit_model(train, schema, config)
    features = prepare_features(test, schema)
    np.testing.assert_array_equal(first.predict(features), second.predict(features))
    np.testing.assert_array_equal(first.predict_proba(features), second.predict_proba(features))


def test_grid_search_returns_best_params_without_prefix(
    validated: tuple[pd.DataFrame, FeatureSchema],
) -> None:
    frame, schema = validated
    config = TrainConfig(
        estimator="sklearn.ensemble.RandomForestClassifier",
        params={"n_estimators": 5, "n_jobs": 1},
        search=SearchConfig(kind="grid", space={"max_depth": [1, 4], "min_samples_leaf": [1, 3]}, cv=2),
    )
    model, params = fit_model(frame, schema, config)
    assert set(params) == {"n_estimators", "n_jobs", "max_depth", "min_samples_leaf"}
    assert not any(name.startswith("estimator__") for name in params)
    assert params["n_estimators"] == 5
    assert params["max_depth"] in (1, 4)
    assert params["min_samples_leaf"] in (1, 3)
    estimator = model.named_steps["estimator"]
    assert estimator.max_depth == params["max_depth"]
    assert estimator.min_samples_leaf == params["min_samples_leaf"]
    assert len(model.predict(prepare_features(frame, schema))) == len(frame)


def test_grid_search_picks_the_clearly_better_value(validated: tuple[pd.DataFrame, FeatureSchema]) -> None:
    frame, schema = validated
    config = TrainConfig(
        estimator="sklearn.linear_model.LogisticRegression",
        params={"max_iter": 200},
        search=SearchConfig(space={"C": [1e-6, 10.0]}, cv=3, scoring="accuracy"),
    )
    model, params = fit_model(frame, schema, config)
    assert params == {"max_iter": 200, "C": 10.0}
    assert model.named_steps["estimator"].C == 10.0


def test_random_search_is_seeded(validated: tuple[pd.DataFrame, FeatureSchema]) -> None:
    frame, schema = validated
    config = TrainConfig(
        params={"n_estimators": 5, "n_jobs": 1},
        search=SearchConfig(kind="random", space={"max_depth": [1, 2, 3, 4, 5, 6]}, cv=2, n_iter=2),
        seed=4,
    )
    _, first = fit_model(frame, schema, config)
    _, second = fit_model(frame, schema, config)
    assert first == second
    assert first["max_depth"] in {1, 2, 3, 4, 5, 6}
    assert "estimator__max_depth" not in first
