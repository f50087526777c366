"""Split, build and fit the one scikit-learn `Pipeline` (preprocessing + estimator) that is served.

Preprocessing is fitted together with the estimator, so whoever loads the model gets both and
training and serving cannot drift apart.
"""

from __future__ import annotations

import inspect
from typing import Any

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from lifecycle.config import SearchConfig, SplitConfig, TrainConfig, load_estimator_class
from lifecycle.errors import DataValidationError
from lifecycle.metrics import SCORERS
from lifecycle.validation import FeatureSchema

ESTIMATOR_STEP = "estimator"


def stratified_split(
    frame: pd.DataFrame, target: str, config: SplitConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A stratified, seeded train/test split that keeps every class on both sides."""
    counts = frame[target].value_counts()
    n_test = int(-(-len(frame) * config.test_size // 1))
    if n_test < len(counts) or len(frame) - n_test < len(counts):
        raise DataValidationError(
            f"split.test_size = {config.test_size}: {n_test} test rows of {len(frame)} cannot hold "
            f"all {len(counts)} classes on both sides"
        )
    train, test = train_test_split(
        frame, test_size=config.test_size, random_state=config.seed, stratify=frame[target]
    )
    for side, part in (("test", test), ("train", train)):
        absent = sorted(set(counts.index) - set(part[target]), key=str)
        if absent:
            raise DataValidationError(
                f"split.test_size = {config.test_size}: the {side} side gets no row of class "
                f"{', '.join(map(repr, absent))}; add rows of it or change the test size"
            )
    return train, test


def build_model(schema: FeatureSchema, config: TrainConfig) -> Pipeline:
    """Preprocessing by column kind, then the configured estimator with a fixed seed."""
    numeric = schema.of_kind("numeric", "integer", "boolean")
    categorical = schema.of_kind("categorical")
    preprocess = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                categorical,
            ),
        ],
        remainder="drop",
    )
    estimator_class = load_estimator_class(config.estimator)
    params = dict(config.params)
    if "random_state" in inspect.signature(estimator_class).parameters:
        params.setdefault("random_state", config.seed)
    return Pipeline([("preprocess", preprocess), (ESTIMATOR_STEP, estimator_class(**params))])


def fit_model(
    train: pd.DataFrame, schema: FeatureSchema, config: TrainConfig
) -> tuple[Pipeline, dict[str, Any]]:
    """Fit the pipeline (through a search when configured); return it and the chosen parameters."""
    model = build_model(schema, config)
    features, labels = prepare_features(train, schema), train[schema.target]
    if config.search is None:
        model.fit(features, labels)
        return model, dict(config.params)
    search = _make_search(model, config.search, config.seed)
    search.fit(features, labels)
    best = {name.removeprefix(f"{ESTIMATOR_STEP}__"): value for name, value in search.best_params_.items()}
    return search.best_estimator_, {**config.params, **best}


def prepare_features(frame: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
    """The feature columns in training order; nullable extension dtypes become plain floats."""
    features = frame[schema.features].copy()
    for name in schema.of_kind("integer", "boolean"):
        features[name] = features[name].astype("float64")
    return features


def _make_search(model: Pipeline, config: SearchConfig, seed: int) -> GridSearchCV | RandomizedSearchCV:
    space = {f"{ESTIMATOR_STEP}__{name}": values for name, values in config.space.items()}
    scoring = SCORERS[config.scoring]
    if config.kind == "grid":
        return GridSearchCV(model, space, cv=config.cv, scoring=scoring, n_jobs=1)
    return RandomizedSearchCV(
        model,
        space,
        n_iter=config.n_iter,
        cv=config.cv,
        scoring=scoring,
        random_state=seed,
        n_jobs=1,
    )
