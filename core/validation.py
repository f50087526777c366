"""The data contract of tabular classification data, checked with pandera.

A contract is each feature's kind (inferred from the training data, or pinned in the config) and
the declared rules of `validation` (null shares, ranges, allowed values, patterns, uniqueness,
relations between columns). It travels with the model as its `FeatureSchema`, so every path that
feeds the model (batch inference on pandas or Spark, continuous training, the V2 endpoint) checks
new rows by the rules the model was trained under. What each rule means is in `core.rules`, shared
by pandera's checks here and the endpoint's.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core import rules as rule
from core.errors import ConfigError, DataValidationError
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
RULE_WORDING = {"not_nullable": rule.NOT_NULL, "field_uniqueness": rule.UNIQUE}
DTYPE_CHECK = re.compile(r"(?:coerce_)?dtype\('?([^')]+)'?\)")
NAMED_COLUMN = re.compile(r"column '([^']+)': ")  # a check's wording that names its column itself
NUMBER_KINDS: tuple[ColumnKind, ...] = ("numeric", "integer")
Comparison = Literal["<", "<=", ">", ">=", "==", "!="]


class ColumnRules(StrictModel):
    """Rules on one column's values (`validation.rules.<column>`); a missing value breaks only the
    null-share rule."""

    min: float | None = None
    """Smallest value allowed (numeric and integer columns)."""
    max: float | None = None
    """Largest value allowed (numeric and integer columns)."""
    allowed: list[str | int | float | bool] | None = Field(default=None, min_length=1)
    """The only values allowed (categories, or numbers)."""
    pattern: str | None = None
    """A regular expression every value must match whole (categorical columns)."""
    unique: bool = False
    """No value twice in one set of rows: a training set, a batch, a request."""
    max_null_fraction: float | None = Field(default=None, ge=0.0, le=1.0)
    """This column's largest share of missing values, instead of `validation.max_null_fraction`;
    0: never missing, which is checked on every request to the endpoint too."""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"not a regular expression: {error}") from None
        return pattern

    @model_validator(mode="after")
    def _min_below_max(self) -> ColumnRules:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}")
        return self

    def value_rules(self) -> list[tuple[str, Any]]:
        """The declared value rules as (name, value), in `core.rules`' terms."""
        return [(name, getattr(self, name)) for name in rule.VALUE_RULES if getattr(self, name) is not None]


class Relation(StrictModel):
    """`left op right` on every row where both numbers are present, e.g. `{left: worst radius, op:
    ">=", right: mean radius}`."""

    left: str
    """A numeric or integer column."""
    op: Comparison
    """One of <, <=, >, >=, ==, !=."""
    right: str
    """A numeric or integer column."""


class ValidationConfig(StrictModel):
    """The data contract: kinds (`columns` pins chosen ones, the rest is inferred from the data),
    required columns, null shares and the declared rules. Saved with each model version and
    enforced on every path that feeds it."""

    columns: dict[str, ColumnKind] = Field(default_factory=dict)
    """Pin a column's kind (numeric, integer, categorical, boolean); the rest is inferred."""
    required_columns: list[str] = Field(default_factory=list)
    """Columns that must be present."""
    max_null_fraction: float = Field(default=0.5, ge=0.0, le=1.0)
    """Largest share of missing values in any feature (a column's own rule may set another)."""
    min_rows: int = Field(default=10, ge=1)
    """Fewest rows to train on (training only)."""
    min_rows_per_class: int = Field(default=2, ge=2)
    """Fewest rows of any class (training only)."""
    rules: dict[str, ColumnRules] = Field(default_factory=dict)
    """Rules per column: min, max, allowed, pattern, unique, max_null_fraction."""
    relations: list[Relation] = Field(default_factory=list)
    """Rules between two numeric columns, e.g. `{left: a, op: "<=", right: b}`."""

    def null_share_limit(self, column: str) -> float:
        own = self.rules[column].max_null_fraction if column in self.rules else None
        return self.max_null_fraction if own is None else own

    def null_share_key(self, column: str) -> str:
        """The key that sets a column's null share, as a message names it."""
        own = column in self.rules and self.rules[column].max_null_fraction is not None
        return f"validation.rules.{column}.max_null_fraction" if own else "validation.max_null_fraction"


class FeatureSchema(BaseModel):
    """What a model was trained on: the label, each feature's kind, the classes seen, and the
    contract its data kept (the versions saved before contracts had rules read back with none)."""

    model_config = ConfigDict(frozen=True)

    target: str
    columns: dict[str, ColumnKind]
    classes: list[Any]
    contract: ValidationConfig = Field(default_factory=ValidationConfig)

    @property
    def features(self) -> list[str]:
        return list(self.columns)

    def of_kind(self, *kinds: ColumnKind) -> list[str]:
        return [name for name, kind in self.columns.items() if kind in kinds]

    def describe_contract(self) -> list[str]:
        """The contract in words, a line each: kinds, missing values, then the declared rules."""
        kinds: dict[str, int] = {}
        for kind in self.columns.values():
            kinds[kind] = kinds.get(kind, 0) + 1
        contract = self.contract
        lines = [
            "features: " + ", ".join(f"{count} {kind}" for kind, count in kinds.items()),
            f"missing values: at most {contract.max_null_fraction:.0%} of a batch per feature",
        ]
        for column, declared in contract.rules.items():
            said = [f"{name} {_shown(value)}" for name, value in declared.value_rules()]
            said += ["unique"] if declared.unique else []
            if declared.max_null_fraction is not None:
                limit = declared.max_null_fraction
                said.append("never missing" if limit == 0 else f"at most {limit:.0%} missing")
            lines.append(f"{column}: {', '.join(said)}")
        lines += [f"{relation.left} {relation.op} {relation.right}" for relation in contract.relations]
        return lines

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
    _check_rules_fit(rules, columns)
    return FeatureSchema(target=target, columns=columns, classes=[], contract=rules)


def _check_rules_fit(rules: ValidationConfig, columns: dict[str, ColumnKind]) -> None:
    """Every declared rule names a feature of a kind it applies to."""

    def kind_of(column: str, key: str) -> ColumnKind:
        if column not in columns:
            raise ConfigError(f"validation.{key}: the data has no feature column '{column}'")
        return columns[column]

    for column, declared in rules.rules.items():
        kind = kind_of(column, f"rules.{column}")
        for name in ("min", "max"):
            if getattr(declared, name) is not None and kind not in NUMBER_KINDS:
                raise ConfigError(
                    f"validation.rules.{column}.{name}: applies to numbers; '{column}' is {kind}"
                )
        if declared.pattern is not None and kind != "categorical":
            raise ConfigError(f"validation.rules.{column}.pattern: applies to text; '{column}' is {kind}")
    for index, relation in enumerate(rules.relations):
        for side in ("left", "right"):
            column = getattr(relation, side)
            kind = kind_of(column, f"relations.{index}.{side}")
            if kind not in NUMBER_KINDS:
                raise ConfigError(
                    f"validation.relations.{index}.{side}: applies to numbers; '{column}' is {kind}"
                )


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
    checked = _validate(frame, schema, _pandera_schema(schema, with_target=True, per_chunk=False))
    classes = sorted(checked[target].unique().tolist(), key=str)
    return checked, schema.model_copy(update={"classes": classes})


def validate_features(frame: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
    """Check new, unlabelled rows by the contract the model was trained under."""
    return features_validator(schema)(frame)


def features_validator(
    schema: FeatureSchema, per_chunk: bool = False
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """`validate_features` with its checks built once. `per_chunk`: for a batch checked chunk by
    chunk, the rules about a whole set of rows (null shares, uniqueness) are left to a
    `BatchContract`, which judges them on the whole batch."""
    checks = _pandera_schema(schema, with_target=False, per_chunk=per_chunk)

    def validate(frame: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in schema.features if c not in frame]
        if missing:
            raise DataValidationError(f"column '{missing[0]}': the model needs it but it is missing")
        if _passes_unchanged(frame, schema, per_chunk):
            return _with_categories_as_text(frame, schema)
        return _validate(frame, schema, checks)

    return validate


def _passes_unchanged(frame: pd.DataFrame, schema: FeatureSchema, per_chunk: bool) -> bool:
    """True when pandera would change nothing and find nothing: every feature already has the dtype
    it would be coerced to, and no check of the contract fails, each found with numpy by the same
    `core.rules` functions in a tenth of pandera's time (about 1.4 s a million rows of 30
    columns). Anything else goes through pandera, for its messages."""
    for name, kind in schema.columns.items():
        expected = PANDERA_DTYPES[kind]
        if expected is not None and str(frame[name].dtype) != expected:
            return False
    contract = schema.contract
    for name, kind in schema.columns.items():
        column = frame[name]
        limit = contract.null_share_limit(name)
        judged_here = limit == 0.0 or (limit < 1.0 and not per_chunk)  # a share is the batch's to judge
        if judged_here and len(column) and column.isna().mean() > limit:
            return False
        if kind == "numeric" and np.isinf(column.to_numpy()).any():
            return False
        declared = contract.rules.get(name)
        if declared is None:
            continue
        values, numeric = _column_values(column, kind), kind != "categorical"
        if any(rule.breaks_value_rule(r, v, values, numeric).any() for r, v in declared.value_rules()):
            return False
        if declared.unique and not per_chunk and column.dropna().duplicated().any():
            return False
    return not any(_breaks_relation(frame, relation).any() for relation in contract.relations)


Labels = Literal["none", "every_row", "where_arrived"]
"""What a batch's labels must be: absent (batch inference), on every row (a labeled batch), or on
the rows whose labels have arrived (captured requests)."""


def validate_batch(frame: pd.DataFrame, schema: FeatureSchema, labels: Labels) -> pd.DataFrame:
    """Check a new batch by the contract of the model's training data; other columns pass through.

    A labeled batch (for retraining) must also carry the target column, with a label on every row
    unless its labels arrive later (captured requests).
    """
    checked = validate_features(frame, schema)
    if labels != "none":
        check_labels(frame, schema.target, every_row=labels == "every_row")
    return checked


def labeled_rows(batch: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
    """The batch's rows that have a label, with the model's features and the label only: what the
    quality check scores and retraining learns from."""
    rows = batch.loc[batch[schema.target].notna(), [*schema.features, schema.target]]
    labels = rows[schema.target].infer_objects()
    # A label column with gaps comes back from Parquet as floats: whole numbers there are the model's
    # integer classes, or the retrained model's classes would be 0.0 and 1.0.
    integer_classes = all(isinstance(c, int) and not isinstance(c, bool) for c in schema.classes)
    if integer_classes and pd.api.types.is_float_dtype(labels) and bool((labels == labels.round()).all()):
        labels = labels.astype("int64")
    return rows.assign(**{schema.target: labels}).reset_index(drop=True)


class BatchContract:
    """The rules about a whole set of rows (null shares and uniqueness), judged on a batch that is
    checked chunk by chunk (`features_validator(..., per_chunk=True)` checks each chunk's rows):
    missing values are counted and unique columns' values remembered (a 64-bit hash each) as the
    chunks go by."""

    def __init__(self, schema: FeatureSchema) -> None:
        self.schema = schema
        self.rows = 0
        self.missing = pd.Series(0, index=schema.features, dtype="int64")
        self._unique = [name for name, declared in schema.contract.rules.items() if declared.unique]
        self._seen: dict[str, set[int]] = {name: set() for name in self._unique}

    def add(self, features: pd.DataFrame) -> None:
        """Count a checked chunk; a value of a unique column seen before fails at once."""
        self.rows += len(features)
        self.missing += features[self.schema.features].isna().sum()
        for name in self._unique:
            values = features[name].dropna()
            hashes = pd.util.hash_pandas_object(values, index=False).to_numpy()
            seen = self._seen[name]
            repeated = pd.Series(hashes).duplicated().to_numpy() | np.fromiter(
                (value in seen for value in hashes.tolist()), dtype=bool, count=len(hashes)
            )
            seen.update(hashes.tolist())
            if repeated.any():
                shown = ", ".join(map(str, values[repeated].unique()[:MAX_REPORTED_FAILURES]))
                raise DataValidationError(f"column '{name}': {rule.UNIQUE} (e.g. {shown})")

    def check(self) -> None:
        """The null shares of the whole batch."""
        check_null_shares(self.schema.contract, self.missing, self.rows)


def check_null_shares(contract: ValidationConfig, missing: pd.Series, rows: int) -> None:
    """The share of missing values per feature of a whole batch (counted chunk by chunk, or by
    Spark), as the rules read for a frame."""
    for name, count in missing.items():
        limit = contract.null_share_limit(str(name))
        if rows and count / rows > limit:
            raise DataValidationError(
                f"column '{name}': share of missing values above {contract.null_share_key(str(name))} = "
                f"{limit} ({count / rows:.1%} of {rows:,} rows)"
            )


def check_labels(frame: pd.DataFrame, target: str, every_row: bool = True) -> None:
    """A labeled batch (for retraining) carries the target column, with a label on every row
    (unless `every_row` is False: labels that have not arrived yet)."""
    if target not in frame:
        raise DataValidationError(
            f"column '{target}': a labeled batch needs the target column the model was trained on"
        )
    unlabeled = int(frame[target].isna().sum())
    if unlabeled and every_row:
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


def _pandera_schema(schema: FeatureSchema, with_target: bool, per_chunk: bool) -> pa.DataFrameSchema:
    """The contract as pandera checks: dtypes (coerced), null shares, finite numbers and the
    declared rules (through `core.rules`); `per_chunk` leaves out null shares and uniqueness."""
    pa = _pandera()
    contract = schema.contract

    columns = {}
    for name, kind in schema.columns.items():
        declared = contract.rules.get(name)
        limit = contract.null_share_limit(name)
        checks = [] if per_chunk or limit in (0.0, 1.0) else [_null_share_check(name, limit, contract)]
        if kind in NUMBER_KINDS:
            checks.append(pa.Check(_is_finite, error="infinite value"))
        if declared is not None:
            checks += [_value_rule_check(kind, r, v) for r, v in declared.value_rules()]
        columns[name] = pa.Column(
            PANDERA_DTYPES[kind],
            coerce=True,
            nullable=limit > 0.0,
            unique=bool(declared and declared.unique and not per_chunk),
            checks=checks,
        )
    if with_target:
        columns[schema.target] = pa.Column(
            nullable=False,
            checks=[
                pa.Check(lambda s: s.nunique() >= 2, error="needs at least two classes"),
                pa.Check(
                    lambda s: s.value_counts().min() >= contract.min_rows_per_class,
                    error=f"every class needs at least {contract.min_rows_per_class} rows",
                ),
            ],
        )
    relations = [
        pa.Check(
            lambda frame, relation=relation: ~_breaks_relation(frame, relation),
            error=f"column '{relation.left}': {rule.describe_relation(relation.op, relation.right)}",
        )
        for relation in contract.relations
    ]
    return pa.DataFrameSchema(columns, checks=relations)


def _null_share_check(name: str, limit: float, contract: ValidationConfig) -> pa.Check:
    return _pandera().Check(
        lambda s: s.isna().mean() <= limit,
        ignore_na=False,
        error=f"share of missing values above {contract.null_share_key(name)} = {limit}",
    )


def _value_rule_check(kind: ColumnKind, name: str, value: Any) -> pa.Check:
    def holds(values: pd.Series) -> pd.Series:
        broken = rule.breaks_value_rule(name, value, _column_values(values, kind), kind != "categorical")
        return pd.Series(~broken, index=values.index)

    return _pandera().Check(holds, error=rule.describe_value_rule(name, value))


def _column_values(values: pd.Series, kind: ColumnKind) -> np.ndarray:
    """A column as `core.rules` takes it: floats with NaN for missing, or objects."""
    if kind == "categorical":
        return values.to_numpy(dtype=object)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _breaks_relation(frame: pd.DataFrame, relation: Relation) -> pd.Series:
    broken = rule.breaks_relation(
        _column_values(frame[relation.left], "numeric"),
        relation.op,
        _column_values(frame[relation.right], "numeric"),
    )
    return pd.Series(broken, index=frame.index)


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
    """One line: each failing (column, rule) once, with a few offending values. A relation is
    checked on the whole frame, so pandera lists each column of a failing row: its own wording
    names the column whose values are shown."""
    parts = []
    for (column, check), group in failures.groupby(["column", "check"], sort=False, dropna=False):
        wording = str(check)
        if expected_dtype := DTYPE_CHECK.fullmatch(wording):
            wording = f"wrong type, expected {expected_dtype.group(1)}"
        wording = RULE_WORDING.get(wording, wording)
        named = NAMED_COLUMN.match(wording)
        if named and named.group(1) != column:
            continue
        values = group["failure_case"].dropna().astype(str).unique()[:MAX_REPORTED_FAILURES]
        shown = f" (e.g. {', '.join(values)})" if len(values) and group["index"].notna().any() else ""
        parts.append(f"{wording}{shown}" if named else f"column '{column}': {wording}{shown}")
    return "; ".join(dict.fromkeys(parts))


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "{" + ", ".join(map(str, value)) + "}"
    return (
        f"{value:g}" if isinstance(value, float) else f"'{value}'" if isinstance(value, str) else str(value)
    )


def _preview(names: pd.Index, limit: int = 8) -> str:
    shown = ", ".join(str(n) for n in names[:limit])
    return shown + (", ..." if len(names) > limit else "")
