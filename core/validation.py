"""Schema and quality rules for tabular classification data, checked with pandera.

The schema is inferred from the training data (and pinned by config where the user wants), then
travels with the model as a `FeatureSchema`, so batch inference checks new data by the same rules.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from core.errors import DataValidationError
from core.types import ColumnKind, StrictModel

if TYPE_CHECKING:  # pandera loads when data is validated, not when a config is checked
    import pandera.pandas as pa

PANDERA_DTYPES: dict[ColumnKind, str | None] = {
    "numeric": "float64",
    "integer": "Int64",
    "boolean": "boolean",
    "categorical": None,
}
MAX_REPORTED_FAILURES = 3
RULE_WORDING = {"not_nullable": "missing values are not allowed"}
DTYPE_CHECK = re.compile(r"(?:coerce_)?dtype\('?([^')]+)'?\)")


class ValidationConfig(StrictModel):
    """Quality rules; `columns` pins the kind of chosen columns, the rest is inferred from the data."""

    columns: dict[str, ColumnKind] = Field(default_factory=dict)
    """Pin a column's kind (numeric, integer, categorical, boolean); the rest is inferred."""
    required_columns: list[str] = Field(default_factory=list)
    """Columns that must be present."""
    max_null_fraction: float = Field(default=0.5, ge=0.0, le=1.0)
    """Largest share of missing values in any feature."""
    min_rows: int = Field(default=10, ge=1)
    """Fewest rows to train on (training only)."""
    min_rows_per_class: int = Field(default=2, ge=2)
    """Fewest rows of any class (training only)."""


class FeatureSchema(BaseModel):
    """What a model was trained on: the label, each feature's kind, and the classes seen."""

    model_config = ConfigDict(frozen=True)

    target: str
    columns: dict[str, ColumnKind]
    classes: list[Any]

    @property
    def features(self) -> list[str]:
        return list(self.columns)

    def of_kind(self, *kinds: ColumnKind) -> list[str]:
        return [name for name, kind in self.columns.items() if kind in kinds]

    def differences_from(self, served: FeatureSchema) -> list[str]:
        """How a model with this schema would answer a caller of one with `served` differently:
        columns it needs that are not sent, columns it ignores, kinds and classes that changed."""
        found = [f"needs column '{name}'" for name in self.columns if name not in served.columns]
        found += [f"ignores column '{name}'" for name in served.columns if name not in self.columns]
        found += [
            f"takes column '{name}' as {kind}, not {served.columns[name]}"
            for name, kind in self.columns.items()
            if name in served.columns and kind != served.columns[name]
        ]
        if list(map(str, self.classes)) != list(map(str, served.classes)):
            found.append(f"answers classes {self.classes}, not {served.classes}")
        return found


def infer_kind(series: pd.Series) -> ColumnKind:
    """Numbers are numeric, booleans boolean, everything else (strings, categories) categorical."""
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_timedelta64_dtype(series):
        raise DataValidationError(
            f"column '{series.name}': date/time columns are not supported as features; "
            "derive numeric features from it or drop it"
        )
    return "categorical"


def infer_schema(frame: pd.DataFrame, target: str, rules: ValidationConfig) -> FeatureSchema:
    """The feature schema of a training frame: configured kinds first, the rest inferred."""
    if target not in frame:
        raise DataValidationError(
            f"column '{target}': the target column is missing; set data.target (or --target) "
            f"to one of: {_preview(frame.columns)}"
        )
    missing = [c for c in [*rules.required_columns, *rules.columns] if c not in frame]
    if missing:
        raise DataValidationError(
            f"column '{missing[0]}': required but missing "
            f"(the data has {len(frame.columns)} columns: {_preview(frame.columns)})"
        )
    columns = {
        str(name): rules.columns.get(str(name)) or infer_kind(frame[name])
        for name in frame.columns
        if name != target
    }
    if not columns:
        raise DataValidationError(f"column '{target}': is the only column; there are no features")
    return FeatureSchema(target=target, columns=columns, classes=[])


def validate_training_data(
    frame: pd.DataFrame, target: str, rules: ValidationConfig
) -> tuple[pd.DataFrame, FeatureSchema]:
    """Check a labelled frame; return it with normalised dtypes and its schema with the classes."""
    schema = infer_schema(frame, target, rules)
    _check_target_is_a_label(frame[target])
    if len(frame) < rules.min_rows:
        raise DataValidationError(
            f"data: {len(frame)} rows, fewer than validation.min_rows = {rules.min_rows}"
        )
    checked = _validate(frame, schema, _pandera_schema(schema, rules, with_target=True))
    classes = sorted(checked[target].unique().tolist(), key=str)
    return checked, schema.model_copy(update={"classes": classes})


def validate_features(frame: pd.DataFrame, schema: FeatureSchema, rules: ValidationConfig) -> pd.DataFrame:
    """Check new, unlabelled rows against the schema a model was trained on."""
    return features_validator(schema, rules)(frame)


def features_validator(
    schema: FeatureSchema, rules: ValidationConfig
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """`validate_features` with its rules built once, for a batch checked chunk by chunk."""
    checks = _pandera_schema(schema, rules, with_target=False)

    def validate(frame: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in schema.features if c not in frame]
        if missing:
            raise DataValidationError(f"column '{missing[0]}': the model needs it but it is missing")
        if _passes_unchanged(frame, schema, rules.max_null_fraction):
            return _with_categories_as_text(frame, schema)
        return _validate(frame, schema, checks)

    return validate


def _passes_unchanged(frame: pd.DataFrame, schema: FeatureSchema, max_null_fraction: float) -> bool:
    """True when pandera would change nothing and find nothing: every feature already has the dtype
    it would be coerced to, no number is infinite and no column has too many missing values. Found
    with numpy in a tenth of pandera's time (about 1.4 s a million rows of 30 columns); anything
    else goes through pandera, for its messages."""
    for name, kind in schema.columns.items():
        expected = PANDERA_DTYPES[kind]
        if expected is not None and str(frame[name].dtype) != expected:
            return False
    if max_null_fraction < 1.0 and any(
        frame[name].isna().mean() > max_null_fraction for name in schema.features
    ):
        return False
    return not any(np.isinf(frame[name].to_numpy()).any() for name in schema.of_kind("numeric"))


def validate_batch(
    frame: pd.DataFrame, schema: FeatureSchema, rules: ValidationConfig, labeled: bool
) -> pd.DataFrame:
    """Check a new batch by the rules of the model's training data; other columns pass through.

    A labeled batch (for retraining) must also carry the target column, with a label on every row.
    """
    checked = validate_features(frame, schema, rules)
    if labeled:
        check_labels(frame, schema.target)
    return checked


def check_labels(frame: pd.DataFrame, target: str) -> None:
    """A labeled batch (for retraining) carries the target column, with a label on every row."""
    if target not in frame:
        raise DataValidationError(
            f"column '{target}': a labeled batch needs the target column the model was trained on"
        )
    unlabeled = int(frame[target].isna().sum())
    if unlabeled:
        raise DataValidationError(f"column '{target}': {unlabeled} row(s) have no label")


def _check_target_is_a_label(labels: pd.Series) -> None:
    if pd.api.types.is_float_dtype(labels):
        present = labels.dropna()
        if not np.all(np.isfinite(present)) or not np.all(present == np.round(present)):
            raise DataValidationError(
                f"column '{labels.name}': the target holds non-integer numbers; "
                "this template trains classifiers, so labels must be classes"
            )


@cache
def _pandera() -> ModuleType:
    """`pandera.pandas`, imported without its pandas-on-Spark type hints: with PySpark installed (the
    `spark` extra) pandera imports `pyspark.pandas` for them, about a second in every process that
    validates, for types this project never uses. Later imports of `pyspark.pandas` work as usual."""
    blocked = "pyspark.pandas" not in sys.modules
    if blocked:
        sys.modules["pyspark.pandas"] = None  # type: ignore[assignment]  # makes its import fail
    try:
        import pandera.pandas
    finally:
        if blocked:
            del sys.modules["pyspark.pandas"]
    return pandera.pandas


def _pandera_schema(schema: FeatureSchema, rules: ValidationConfig, with_target: bool) -> pa.DataFrameSchema:
    pa = _pandera()

    columns = {
        name: pa.Column(
            PANDERA_DTYPES[kind],
            coerce=True,
            nullable=True,
            checks=_feature_checks(kind, rules.max_null_fraction),
        )
        for name, kind in schema.columns.items()
    }
    if with_target:
        columns[schema.target] = pa.Column(
            nullable=False,
            checks=[
                pa.Check(lambda s: s.nunique() >= 2, error="needs at least two classes"),
                pa.Check(
                    lambda s: s.value_counts().min() >= rules.min_rows_per_class,
                    error=f"every class needs at least {rules.min_rows_per_class} rows",
                ),
            ],
        )
    return pa.DataFrameSchema(columns)


def _feature_checks(kind: ColumnKind, max_null_fraction: float) -> list[pa.Check]:
    pa = _pandera()

    checks = [
        pa.Check(
            lambda s: s.isna().mean() <= max_null_fraction,
            ignore_na=False,
            error=f"share of missing values above validation.max_null_fraction = {max_null_fraction}",
        )
    ]
    if kind in ("numeric", "integer"):
        checks.append(pa.Check(_is_finite, error="infinite value"))
    return checks


def _is_finite(values: pd.Series) -> pd.Series:
    """True where a value is not +/-inf; values that are not numbers are the dtype check's job."""
    numbers = pd.Series(pd.to_numeric(values, errors="coerce"), index=values.index)
    return pd.Series(~np.isinf(numbers.to_numpy(dtype="float64", na_value=np.nan)), index=values.index)


def _validate(frame: pd.DataFrame, schema: FeatureSchema, rules: pa.DataFrameSchema) -> pd.DataFrame:
    """Run the rules; categorical features come back as strings (missing values kept missing),
    so `1` in one file and `"1"` in another are the same category. Labels are left as they are."""
    pa = _pandera()
    try:
        checked: pd.DataFrame = rules.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        raise DataValidationError(_describe_failures(errors.failure_cases)) from None
    return _with_categories_as_text(checked, schema)


def _with_categories_as_text(frame: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
    categorical = schema.of_kind("categorical")
    if categorical:
        frame = frame.copy()
    for name in categorical:
        values = frame[name]
        frame[name] = values.astype(object).where(values.isna(), values.astype(str))
    return frame


def _describe_failures(failures: pd.DataFrame) -> str:
    """One line: each failing (column, rule) once, with a few offending values."""
    parts = []
    for (column, check), group in failures.groupby(["column", "check"], sort=False, dropna=False):
        rule = str(check)
        if expected_dtype := DTYPE_CHECK.fullmatch(rule):
            rule = f"wrong type, expected {expected_dtype.group(1)}"
        rule = RULE_WORDING.get(rule, rule)
        values = group["failure_case"].dropna().astype(str).unique()[:MAX_REPORTED_FAILURES]
        shown = f" (e.g. {', '.join(values)})" if len(values) and group["index"].notna().any() else ""
        parts.append(f"column '{column}': {rule}{shown}")
    return "; ".join(dict.fromkeys(parts))


def _preview(names: pd.Index, limit: int = 8) -> str:
    shown = ", ".join(str(n) for n in names[:limit])
    return shown + (", ..." if len(names) > limit else "")
