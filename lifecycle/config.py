"""Typed schema of the pipeline configs in `configs/`, so a bad key fails before any work starts.

Each YAML under `configs/` is a ZenML run configuration; its `parameters` section is validated here.
Every model forbids unknown keys, and `describe_validation_error` turns pydantic's report into one
line that names the offending key.
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lifecycle.drift import DriftConfig
from lifecycle.seldon_manifest import SeldonSettings

ColumnKind = Literal["numeric", "integer", "categorical", "boolean"]
SearchMetric = Literal["accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss"]
MetricName = Literal[SearchMetric, "f1"]


class StrictModel(BaseModel):
    """Base for every config section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# `kind` has no default on purpose: ZenML stores parameters without their defaults, and the union
# below needs `kind` to tell the sources apart when it reads them back.


class DemoSource(StrictModel):
    """A data set that ships with scikit-learn, so the template trains offline."""

    kind: Literal["demo"]
    name: Literal["breast_cancer", "iris", "wine"] = "breast_cancer"


class CsvSource(StrictModel):
    kind: Literal["csv"]
    path: Path
    separator: str = ","
    encoding: str = "utf-8"


class ParquetSource(StrictModel):
    kind: Literal["parquet"]
    path: Path


class SqlSource(StrictModel):
    """A query through SQLAlchemy; `$VAR` in the URL is read from the environment when read.

    Write `$PGPASSWORD`, not the braced form, which ZenML would substitute into the stored config.
    """

    kind: Literal["sql"]
    url: str
    query: str


class HttpSource(StrictModel):
    """A CSV or Parquet file behind an HTTP(S) URL; `format: auto` goes by the URL's suffix."""

    kind: Literal["http"]
    url: str
    format: Literal["auto", "csv", "parquet"] = "auto"
    timeout_seconds: float = Field(default=60.0, gt=0)

    @field_validator("url")
    @classmethod
    def _http_only(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url


class ArtifactsSource(StrictModel):
    """ZenML artifact versions (DataFrames) read back and stacked: how continuous training hands the
    reference data plus the new batch to the training pipeline, with lineage, on any stack."""

    kind: Literal["artifacts"]
    ids: list[str] = Field(min_length=1)


SOURCE_KINDS = ("demo", "csv", "parquet", "sql", "http", "artifacts")
Source = Annotated[
    DemoSource | CsvSource | ParquetSource | SqlSource | HttpSource | ArtifactsSource,
    Field(discriminator="kind"),
]


class DataConfig(StrictModel):
    source: Source = Field(default_factory=lambda: DemoSource(kind="demo"))
    target: str = "target"


class ValidationConfig(StrictModel):
    """Quality rules; `columns` pins the kind of chosen columns, the rest is inferred from the data."""

    columns: dict[str, ColumnKind] = Field(default_factory=dict)
    required_columns: list[str] = Field(default_factory=list)
    max_null_fraction: float = Field(default=0.5, ge=0.0, le=1.0)
    min_rows: int = Field(default=10, ge=1)
    min_rows_per_class: int = Field(default=2, ge=2)


class SplitConfig(StrictModel):
    test_size: float = Field(default=0.2, gt=0.0, lt=1.0)
    seed: int = 42


class SearchConfig(StrictModel):
    """Hyper-parameter search over estimator parameters (names without the `estimator__` prefix)."""

    kind: Literal["grid", "random"] = "grid"
    space: dict[str, list[Any]]
    cv: int = Field(default=5, ge=2)
    scoring: SearchMetric = "f1_macro"
    n_iter: int = Field(default=10, ge=1)

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
    params: dict[str, Any] = Field(default_factory=dict)
    seed: int = 42
    search: SearchConfig | None = None

    @model_validator(mode="after")
    def _estimator_accepts_params(self) -> TrainConfig:
        estimator_class = load_estimator_class(self.estimator)
        accepted = set(estimator_class().get_params())
        searched = set(self.search.space) if self.search else set()
        unknown = sorted((set(self.params) | searched) - accepted)
        if unknown:
            raise ValueError(f"{self.estimator} has no parameter {', '.join(map(repr, unknown))}")
        return self


class PromotionConfig(StrictModel):
    """Absolute gates and the metric that decides champion vs challenger.

    A gate is a minimum, except for `log_loss`, where it is a maximum.
    """

    metric: MetricName = "f1_macro"
    gates: dict[MetricName, float] = Field(default_factory=dict)

    @field_validator("gates")
    @classmethod
    def _gates_reachable(cls, gates: dict[str, float]) -> dict[str, float]:
        for metric, minimum in gates.items():
            if metric != "log_loss" and not 0.0 <= minimum <= 1.0:
                raise ValueError(f"gate for '{metric}' is {minimum}; it must be within [0, 1]")
        return gates


class TrainingParameters(StrictModel):
    """The `parameters` section of `configs/training.yaml`: the training pipeline's arguments."""

    data: DataConfig = Field(default_factory=DataConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    promotion: PromotionConfig = Field(default_factory=PromotionConfig)


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


def describe_validation_error(error: ValidationError, prefix: str) -> str:
    """One line naming the first offending key, e.g. `parameters.train.params: ...`."""
    first = error.errors()[0]
    parts = [str(part) for part in (prefix, *first["loc"]) if part != ""]
    # pydantic names the chosen member of a tagged union in the location; the user never wrote it
    location = ".".join(
        part for i, part in enumerate(parts) if not (i and parts[i - 1] == "source" and part in SOURCE_KINDS)
    )
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    extra = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{location}: {message}{extra}"


class ServingConfig(StrictModel):
    """How the model server runs: preferred port (a free one is taken if it is busy), workers,
    the largest request it accepts, and how long a start or a switch may take."""

    port: int = Field(default=8585, ge=1024, le=65535)
    parallel_workers: int = Field(default=0, ge=0)
    max_rows: int = Field(default=100_000, ge=1)
    max_batch_size: int = Field(default=1, ge=1)
    max_batch_time_ms: float = Field(default=2.0, ge=0)
    timeout_seconds: int = Field(default=180, ge=5)


class DeploymentParameters(StrictModel):
    """The `parameters` section of `configs/deployment.yaml`."""

    serving: ServingConfig = Field(default_factory=ServingConfig)
    seldon: SeldonSettings = Field(default_factory=SeldonSettings)


class ScoringConfig(StrictModel):
    """Where batch inference scores: the live endpoint when one runs (`auto`), always, or never."""

    mode: Literal["auto", "endpoint", "in_process"] = "auto"
    request_rows: int = Field(default=10_000, ge=1)


class OutputConfig(StrictModel):
    """Where predictions are written: `<folder>/<model>-v<version>-<run id>.<format>`."""

    folder: Path = Path("predictions")
    format: Literal["parquet", "csv"] = "parquet"


class MonitoringConfig(StrictModel):
    """Where drift numbers go besides run metadata: a Prometheus Pushgateway and/or a textfile
    (node_exporter's textfile collector format)."""

    pushgateway_url: str | None = None
    textfile: Path | None = None
    job: str = "zenml_mlops_template"

    @field_validator("pushgateway_url")
    @classmethod
    def _http_only(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url


class BatchInferenceParameters(StrictModel):
    """The `parameters` section of `configs/batch_inference.yaml`."""

    data: DataConfig = Field(default_factory=DataConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)


class ContinuousTrainingParameters(StrictModel):
    """The `parameters` section of `configs/continuous_training.yaml`.

    The config files are relative to this one's folder; the retraining run uses the training
    config's gates and promotion, and the redeploy the deployment config.
    """

    data: DataConfig = Field(default_factory=DataConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    training_config: Path = Path("training.yaml")
    deployment_config: Path = Path("deployment.yaml")
    redeploy: bool = True
