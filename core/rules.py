"""What each declarative rule of a data contract means, on plain arrays: one place for every path
that enforces it (pandera's checks on pandas and Spark batches, the V2 endpoint's requests).

This module imports nothing but numpy: the MLServer deployer copies it beside the serving runtime,
which runs in an environment of its own and checks each request with `row_failures`. A rule is a
name and a value, as the contract stores them: `min`, `max`, `allowed`, `pattern` (on one column)
and a relation between two columns (`<`, `<=`, `>`, `>=`, `==`, `!=`). A missing value never
breaks a value rule: whether a value may be missing is the null-share rule's to say.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

VALUE_RULES = ("min", "max", "allowed", "pattern")
NOT_NULL = "missing values are not allowed"
UNIQUE = "values must be unique"
RELATIONS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def breaks_value_rule(rule: str, value: Any, values: np.ndarray, numeric: bool) -> np.ndarray:
    """Where `values` (one column: floats with NaN for missing, or objects with None/NaN for
    missing) break `rule: value`; a boolean array of the same length."""
    present = _present(values, numeric)
    if rule == "min":
        return present & (_numbers(values, present) < value)
    if rule == "max":
        return present & (_numbers(values, present) > value)
    if rule == "allowed":
        if numeric:
            return present & ~np.isin(_numbers(values, present), np.array(value, dtype="float64"))
        return present & ~np.isin(np.asarray(values).astype(str), np.array([str(item) for item in value]))
    if rule == "pattern":
        matcher = re.compile(value).fullmatch
        return present & np.array([not matcher(str(item)) for item in values], dtype=bool)
    raise ValueError(f"unknown rule '{rule}'")


def breaks_relation(left: np.ndarray, op: str, right: np.ndarray) -> np.ndarray:
    """Where `left op right` is false for two numeric columns; rows missing either side pass."""
    left_numbers, right_numbers = np.asarray(left, dtype="float64"), np.asarray(right, dtype="float64")
    known = ~np.isnan(left_numbers) & ~np.isnan(right_numbers)
    with np.errstate(invalid="ignore"):
        return known & ~RELATIONS[op](left_numbers, right_numbers)


def breaks_not_null(values: np.ndarray, numeric: bool) -> np.ndarray:
    """Where a value is missing: the row rule of a column whose null share must be 0."""
    return ~_present(values, numeric)


def describe_value_rule(rule: str, value: Any) -> str:
    """The rule as a message names it: `above the maximum 50`."""
    if rule == "min":
        return f"below the minimum {value:g}"
    if rule == "max":
        return f"above the maximum {value:g}"
    if rule == "allowed":
        return f"not one of the allowed values {_listed(value)}"
    if rule == "pattern":
        return f"does not match the pattern '{value}'"
    raise ValueError(f"unknown rule '{rule}'")


def describe_relation(op: str, right: str) -> str:
    return f"must be {op} column '{right}'"


def _present(values: np.ndarray, numeric: bool) -> np.ndarray:
    """Where a value is present: not NaN, and (for objects) not None either, as pandas' `isna` says."""
    if numeric:
        return ~np.isnan(np.asarray(values, dtype="float64"))
    objects = np.asarray(values, dtype=object)
    return ~((objects == None) | (objects != objects))  # noqa: E711  (elementwise: None, and NaN != NaN)


def _numbers(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    numbers = np.asarray(values, dtype="float64")
    return np.where(present, numbers, 0.0)


def _listed(values: Sequence[Any]) -> str:
    shown = ", ".join(map(str, values[:8]))
    return f"[{shown}{', ...' if len(values) > 8 else ''}]"


@dataclass(frozen=True)
class Failure:
    """One rule a set of rows breaks: the column, the rule's short name (a metric label), its wording
    and a few of the values that break it."""

    column: str
    rule: str
    wording: str
    examples: tuple[str, ...]

    def message(self) -> str:
        shown = f" (e.g. {', '.join(self.examples)})" if self.examples else ""
        return f"column '{self.column}': {self.wording}{shown}"


def has_row_rules(contract: dict[str, Any]) -> bool:
    """Whether a contract (a `ValidationConfig` as JSON) has any rule a single row can break."""
    return (
        bool(contract.get("rules") or contract.get("relations")) or contract.get("max_null_fraction") == 0.0
    )


def row_failures(
    contract: dict[str, Any], kinds: dict[str, str], columns: dict[str, np.ndarray]
) -> list[Failure]:
    """What the rows in `columns` (one array per feature, as `breaks_value_rule` takes them) break
    of a contract (a `ValidationConfig` as JSON): its value rules, never-missing columns, unique
    columns within these rows, and relations. Null shares above 0 are a batch's to judge, not a
    request's."""
    found: list[Failure] = []
    general_limit = contract.get("max_null_fraction", 1.0)
    for name, values in columns.items():
        declared = contract.get("rules", {}).get(name) or {}
        numeric = kinds[name] != "categorical"
        own_limit = declared.get("max_null_fraction")
        never_missing = (general_limit if own_limit is None else own_limit) == 0.0
        if never_missing and breaks_not_null(values, numeric).any():
            found.append(Failure(name, "not_null", NOT_NULL, ()))  # no value to show
        for rule in VALUE_RULES:
            if declared.get(rule) is not None:
                broken = breaks_value_rule(rule, declared[rule], values, numeric)
                found += _failure(name, rule, describe_value_rule(rule, declared[rule]), values, broken)
        if declared.get("unique"):
            found += _failure(name, "unique", UNIQUE, values, _repeated(values, numeric))
    for relation in contract.get("relations", []):
        left, op, right = relation["left"], relation["op"], relation["right"]
        broken = breaks_relation(columns[left], op, columns[right])
        found += _failure(left, "relation", describe_relation(op, right), columns[left], broken)
    return found


def _failure(column: str, rule: str, wording: str, values: np.ndarray, broken: np.ndarray) -> list[Failure]:
    if not broken.any():
        return []
    examples = tuple(dict.fromkeys(str(value) for value in np.asarray(values)[broken][:3]))
    return [Failure(column, rule, wording, examples)]


def _repeated(values: np.ndarray, numeric: bool) -> np.ndarray:
    """Where a present value already appeared earlier in `values`."""
    seen: set[Any] = set()
    repeated = np.zeros(len(values), dtype=bool)
    for index, (value, present) in enumerate(
        zip(values.tolist(), _present(values, numeric).tolist(), strict=True)
    ):
        if present:
            repeated[index] = value in seen
            seen.add(value)
    return repeated
