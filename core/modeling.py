"""Split, build and fit the one scikit-learn `Pipeline` (preprocessing + estimator) that is served.

Preprocessing is fitted together with the estimator, so whoever loads the model gets both and
training and serving cannot drift apart. scikit-learn is imported where a model is built or split,
so a config can be checked without it (its estimator check is the last, see `TrainConfig`).
"""

from __future__ import annotations

import functools
import importlib
import inspect
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, ValidationInfo, field_validator, model_validator

from core.errors import DataValidationError
from core.metrics import SCORERS
from core.types import SearchMetric, StrictModel
from core.validation import FeatureSchema

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.pipeline import Pipeline

ESTIMATOR_STEP = "estimator"
# Estimators that split on thresholds: scaling changes nothing they learn, and a compiled (float32)
# model's scaled values would cross their thresholds where the pipeline's do not.
TREE_MODULES = ("sklearn.tree", "sklearn.ensemble", "lightgbm", "xgboost", "catboost")
# Validation context that leaves out the estimator check (it imports scikit-learn): a config is
# first checked without it, so a mistake elsewhere is reported in about a second.
WITHOUT_ESTIMATOR_CHECK = {"estimator_check": False}


class SplitConfig(StrictModel):
    test_size: float = Field(default=0.2, gt=0.0, lt=1.0)
    """Share of the rows held out for evaluation and promotion (stratified)."""
    seed: int = 42
    """Seed of the split."""


class SearchConfig(StrictModel):
    """Hyper-parameter search over estimator parameters (names without the `estimator__` prefix)."""

    kind: Literal["grid", "random"] = "grid"
    """Grid search over every combination, or random search."""
    space: dict[str, list[Any]]
    """Values to try per estimator parameter."""
    cv: int = Field(default=5, ge=2)
    """Cross-validation folds."""
    scoring: SearchMetric = "f1_macro"
    """Metric the search maximises."""
    n_iter: int = Field(default=10, ge=1)
    """Candidates tried by random search."""

    @field_validator("space")
    @classmethod
    def _non_empty(cls, space: dict[str, list[Any]]) -> dict[str, list[Any]]:
        if not space:
            raise ValueError("needs at least one parameter to search")
        for name, values in space.items():
            if not values:
                raise ValueError(f"parameter '{name}' has no values to try")
        return space


class TrainConfig(StrictModel):
    """The estimator as an import path plus its parameters; preprocessing is built from the data."""

    estimator: str = "sklearn.ensemble.RandomForestClassifier"
    """Import path of any scikit-learn classifier."""
    params: dict[str, Any] = Field(default_factory=dict)
    """The estimator's parameters (checked against it)."""
    seed: int = 42
    """`random_state` where the estimator takes one."""
    search: SearchConfig | None = None
    """Hyper-parameter search; none: fit `params` as they are."""
    scale_numeric: bool | None = None
    """Standardise numeric features before the estimator; none: yes, unless it is a tree model
    (sklearn.tree, sklearn.ensemble, LightGBM, XGBoost, CatBoost)."""

    @model_validator(mode="after")
    def _estimator_accepts_params(self, info: ValidationInfo) -> TrainConfig:
        if info.context and not info.context.get("estimator_check", True):
            return self
        estimator_class = load_estimator_class(self.estimator)
        if not takes_any_keyword(estimator_class):  # LightGBM, XGBoost: their **kwargs check theirs
            accepted = set(estimator_class().get_params())
            searched = set(self.search.space) if self.search else set()
            unknown = sorted((set(self.params) | searched) - accepted)
            if unknown:
                raise ValueError(f"{self.estimator} has no parameter {', '.join(map(repr, unknown))}")
        if not hasattr(estimator_class(**self.params), "predict_proba"):
            raise ValueError(
                f"{self.estimator} gives no probabilities (predict_proba) with these parameters; the "
                "template evaluates, serves and monitors them (scikit-learn's SVC: probability: true)"
            )
        return self


def takes_any_keyword(estimator_class: type[Any]) -> bool:
    """Whether the constructor takes `**kwargs`: then it, not its signature, knows its parameters."""
    parameters = inspect.signature(estimator_class).parameters.values()
    return any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters)


@functools.cache
def load_estimator_class(path: str) -> type[Any]:
    """Import `package.module.Class` and check that it is a scikit-learn classifier."""
    from sklearn.base import is_classifier

    module_name, _, class_name = path.rpartition(".")
    if not module_name:
        raise ValueError(f"'{path}' is not an import path like sklearn.linear_model.LogisticRegression")
    try:
        estimator_class = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"cannot import '{path}': {error}") from None
    if not isinstance(estimator_class, type) or not hasattr(estimator_class, "get_params"):
        raise ValueError(f"'{path}' is not a scikit-learn estimator")
    try:
        estimator = estimator_class()
    except TypeError as error:
        raise ValueError(f"'{path}' cannot be created from parameters alone: {error}") from None
    if not is_classifier(estimator):
        raise ValueError(f"'{path}' is not a scikit-learn classifier")
    return estimator_class


def stratified_split(
    frame: pd.DataFrame, target: str, config: SplitConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A stratified, seeded train/test split that keeps every class on both sides."""
    from sklearn.model_selection import train_test_split

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
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = schema.of_kind("numeric", "integer", "boolean")
    categorical = schema.of_kind("categorical")
    estimator_class = load_estimator_class(config.estimator)
    scale = config.scale_numeric
    if scale is None:
        scale = not estimator_class.__module__.startswith(TREE_MODULES)
    numeric_steps = [SimpleImputer(strategy="median"), *([StandardScaler()] if scale else [])]
    preprocess = ColumnTransformer(
        [
            ("numeric", make_pipeline(*numeric_steps), numeric),
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
    params = dict(config.params)
    if "random_state" in estimator_class().get_params():  # XGBoost's is not in its signature
        params.setdefault("random_state", config.seed)
    return Pipeline([("preprocess", preprocess), (ESTIMATOR_STEP, estimator_class(**params))])


def fit_model(
    train: pd.DataFrame, schema: FeatureSchema, config: TrainConfig
) -> tuple[Pipeline, dict[str, Any]]:
    """Fit the pipeline (through a search when configured); return it and the chosen parameters."""
    model = build_model(schema, config)
    features, labels = prepare_features(train, schema), train[schema.target]
    if config.search is None:
        _fit(model, features, labels, config.estimator)
        return model, dict(config.params)
    search = _make_search(model, config.search, config.seed)
    _fit(search, features, labels, config.estimator)
    best = {name.removeprefix(f"{ESTIMATOR_STEP}__"): value for name, value in search.best_params_.items()}
    return search.best_estimator_, {**config.params, **best}


def _fit(model: Any, features: pd.DataFrame, labels: pd.Series, estimator: str) -> None:
    """Fit; the estimator refusing the data or its parameters (a ValueError) is one line naming it,
    e.g. XGBoost's classes must be 0..n-1."""
    try:
        model.fit(features, labels)
    except ValueError as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise DataValidationError(
            f"train.estimator {estimator} refused the training data: {reason}"
        ) from None


def prepare_features(frame: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
    """The feature columns in training order, as the pipeline takes them on every path: nullable
    extension dtypes become plain floats, and a missing category is NaN, whether it came as NaN (from
    pandas) or None (from Arrow, as every stored artifact gives it), so the imputer fills it."""
    features = frame[schema.features].copy()
    for name in schema.of_kind("integer", "boolean"):
        features[name] = features[name].astype("float64")
    for name in schema.of_kind("categorical"):
        column = features[name]
        if column.isna().any():
            features[name] = column.astype(object).where(column.notna(), np.nan)
    return features


def _make_search(model: Pipeline, config: SearchConfig, seed: int) -> GridSearchCV | RandomizedSearchCV:
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

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
