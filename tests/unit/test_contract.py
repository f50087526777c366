"""The declared rules of a data contract (`validation.rules`, `validation.relations`): refused rows
name the column and the rule, on training data, on new batches whatever their dtypes (no shortcut
skips a rule), chunk by chunk over a batch, and on plain arrays as the endpoint checks them."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from core import rules
from core.errors import ConfigError, DataValidationError
from core.validation import (
    BatchContract,
    FeatureSchema,
    ValidationConfig,
    features_validator,
    validate_features,
    validate_training_data,
)
from pipelines.parameters import BatchInferenceParameters, ContinuousTrainingParameters


def frame(rows: int = 12) -> pd.DataFrame:
    """Clean rows that keep every rule of `CONTRACT`: a numeric range, an id, a code, a relation."""
    index = np.arange(rows)
    return pd.DataFrame(
        {
            "radius": 10.0 + index % 5,
            "worst_radius": 12.0 + index % 5,
            "customer_id": index + 100,
            "code": [f"AB-{i:03d}" for i in index],
            "tier": ["gold", "silver", "bronze"] * (rows // 3),
            "target": index % 2,
        }
    )


CONTRACT = ValidationConfig.model_validate(
    {
        "min_rows": 4,
        "rules": {
            "radius": {"min": 0, "max": 40},
            "customer_id": {"unique": True, "max_null_fraction": 0},
            "code": {"pattern": r"[A-Z]{2}-\d{3}"},
            "tier": {"allowed": ["gold", "silver", "bronze"]},
        },
        "relations": [{"left": "worst_radius", "op": ">=", "right": "radius"}],
    }
)
BROKEN: dict[str, tuple[dict[str, Any], str]] = {
    "min": ({"radius": -1.0}, "column 'radius': below the minimum 0 (e.g. -1.0)"),
    "max": ({"radius": 55.0}, "column 'radius': above the maximum 40 (e.g. 55.0)"),
    "allowed": (
        {"tier": "platinum"},
        "column 'tier': not one of the allowed values [gold, silver, bronze] (e.g. platinum)",
    ),
    "pattern": ({"code": "ab-1"}, "column 'code': does not match the pattern '[A-Z]{2}-\\d{3}' (e.g. ab-1)"),
    "unique": ({"customer_id": 100}, "column 'customer_id': values must be unique (e.g. 100"),
    "not null": ({"customer_id": None}, "column 'customer_id': missing values are not allowed"),
    "relation": ({"worst_radius": 1.0}, "column 'worst_radius': must be >= column 'radius' (e.g. 1.0)"),
}


def breaking(name: str) -> tuple[pd.DataFrame, str]:
    """Clean rows with one value changed to break the rule `name`, and the message expected."""
    changes, message = BROKEN[name]
    rows = frame()
    for column, value in changes.items():
        rows[column] = rows[column].astype(object)
        rows.loc[3, column] = value
    return rows.infer_objects(), message


@pytest.fixture(scope="module")
def schema() -> FeatureSchema:
    _, trained = validate_training_data(frame(), "target", CONTRACT)
    return trained


@pytest.mark.parametrize("name", list(BROKEN))
def test_training_data_that_breaks_a_rule_is_refused_naming_column_and_rule(name: str) -> None:
    rows, message = breaking(name)

    with pytest.raises(DataValidationError) as raised:
        validate_training_data(rows, "target", CONTRACT)

    assert message in str(raised.value)


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_batch_with_the_trained_dtypes_is_checked_by_every_rule_too(
    schema: FeatureSchema, name: str
) -> None:
    """The fast path (dtypes already right) finds what pandera would, by the same rules."""
    rows, message = breaking(name)
    batch = rows.drop(columns="target").astype({"customer_id": "float64"})

    with pytest.raises(DataValidationError) as raised:
        validate_features(batch, schema)

    assert message.replace("(e.g. 100", "(e.g. 100.0") in str(raised.value)


def test_clean_batches_pass_both_ways(schema: FeatureSchema) -> None:
    batch = frame().drop(columns="target")

    assert validate_features(batch, schema).shape == batch.shape
    assert validate_features(batch.astype({"customer_id": "float64"}), schema).shape == batch.shape


def test_the_contract_travels_with_the_schema_and_reads_back(schema: FeatureSchema) -> None:
    assert schema.contract == CONTRACT
    assert FeatureSchema.model_validate_json(schema.model_dump_json()) == schema
    older = {"target": "t", "columns": {"x": "numeric"}, "classes": [0, 1]}  # saved before contracts
    assert FeatureSchema.model_validate(older).contract == ValidationConfig()


def test_a_batch_chunk_by_chunk_judges_uniqueness_and_null_shares_over_all_its_chunks(
    schema: FeatureSchema,
) -> None:
    chunks = [frame().drop(columns="target").iloc[:6], frame().drop(columns="target").iloc[6:]]
    validate, contract = features_validator(schema, per_chunk=True), BatchContract(schema)
    for chunk in chunks:
        contract.add(validate(chunk))
    contract.check()

    repeat = frame().drop(columns="target").iloc[:2]
    with pytest.raises(
        DataValidationError, match=re.escape("column 'customer_id': values must be unique (e.g. 100")
    ):
        contract.add(validate(repeat))


def test_the_null_share_of_a_column_of_its_own_is_judged_on_the_whole_batch() -> None:
    contract = ValidationConfig.model_validate(
        {"min_rows": 4, "max_null_fraction": 0.9, "rules": {"radius": {"max_null_fraction": 0.25}}}
    )
    _, schema = validate_training_data(frame(), "target", contract)
    batch = BatchContract(schema)
    gaps = frame().drop(columns="target").assign(radius=[np.nan] * 4 + [1.0] * 8)
    validate = features_validator(schema, per_chunk=True)

    batch.add(validate(gaps.iloc[:4]))  # a chunk all missing passes: the share is the batch's
    batch.add(validate(gaps.iloc[4:]))
    with pytest.raises(DataValidationError) as raised:
        batch.check()

    assert str(raised.value) == (
        "column 'radius': share of missing values above validation.rules.radius.max_null_fraction = 0.25 "
        "(33.3% of 12 rows)"
    )


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"rules": {"nope": {"min": 0}}}, "validation.rules.nope: the data has no feature column 'nope'"),
        (
            {"rules": {"tier": {"max": 3}}},
            "validation.rules.tier.max: applies to numbers; 'tier' is categorical",
        ),
        (
            {"rules": {"radius": {"pattern": "x"}}},
            "validation.rules.radius.pattern: applies to text; 'radius' is numeric",
        ),
        (
            {"relations": [{"left": "tier", "op": "<", "right": "radius"}]},
            "validation.relations.0.left: applies to numbers; 'tier' is categorical",
        ),
    ],
)
def test_a_rule_that_does_not_fit_the_data_names_its_key(declared: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        validate_training_data(
            frame(), "target", ValidationConfig.model_validate({"min_rows": 4, **declared})
        )

    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"min": 5, "max": 1}, "min 5 is above max 1"),
        ({"pattern": "(unclosed"}, "not a regular expression"),
        ({"allowed": []}, "at least 1 item"),
        ({"max_null_fraction": 2}, "less than or equal to 1"),
    ],
)
def test_a_malformed_rule_is_refused_when_the_config_is_read(rule: dict[str, Any], message: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=re.escape(message)):
        ValidationConfig.model_validate({"rules": {"x": rule}})


@pytest.mark.parametrize("parameters", [BatchInferenceParameters, ContinuousTrainingParameters])
def test_batch_configs_say_the_contract_comes_with_the_model(parameters: Any) -> None:
    from pydantic import ValidationError

    with pytest.raises(
        ValidationError, match="key 'validation' is gone: the data contract travels with the model"
    ):
        parameters.model_validate({"data": {"source": {"kind": "demo"}, "target": "t"}, "validation": {}})


def test_the_rules_on_plain_arrays_as_the_endpoint_reads_a_request() -> None:
    numbers = np.array([1.0, np.nan, 50.0])
    text = np.array(["AB-001", None, "zz"], dtype=object)

    assert rules.breaks_value_rule("max", 40, numbers, numeric=True).tolist() == [False, False, True]
    assert rules.breaks_value_rule("allowed", [1, 50], numbers, numeric=True).tolist() == [
        False,
        False,
        False,
    ]
    assert rules.breaks_value_rule("pattern", r"[A-Z]{2}-\d{3}", text, numeric=False).tolist() == [
        False,
        False,
        True,
    ]
    assert rules.breaks_value_rule("allowed", ["zz"], text, numeric=False).tolist() == [True, False, False]
    assert rules.breaks_not_null(text, numeric=False).tolist() == [False, True, False]
    assert rules.breaks_relation(np.array([1.0, np.nan]), "<", np.array([0.5, 2.0])).tolist() == [True, False]


def request_columns(rows: pd.DataFrame, schema: FeatureSchema) -> dict[str, np.ndarray]:
    """The rows as the serving runtime decodes a V2 request: floats with NaN, or objects."""
    return {
        name: rows[name].to_numpy(dtype=object) if kind == "categorical" else rows[name].to_numpy(dtype=float)
        for name, kind in schema.columns.items()
    }


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_request_is_checked_by_the_same_rules_as_a_batch(schema: FeatureSchema, name: str) -> None:
    rows, message = breaking(name)
    contract = schema.contract.model_dump(mode="json")

    failures = rules.row_failures(contract, dict(schema.columns), request_columns(rows, schema))

    assert rules.has_row_rules(contract)
    by_rule = {failure.rule: failure.message() for failure in failures}
    assert message.replace("(e.g. 100", "(e.g. 100.0)") in by_rule.pop(
        {"not null": "not_null"}.get(name, name)
    )
    assert set(by_rule) <= {"relation"}  # a radius out of range may break the relation as well
    assert rules.row_failures(contract, dict(schema.columns), request_columns(frame(), schema)) == []


def test_a_contract_without_row_rules_costs_a_request_nothing() -> None:
    assert not rules.has_row_rules(ValidationConfig().model_dump(mode="json"))
    assert not rules.has_row_rules(ValidationConfig(max_null_fraction=0.1).model_dump(mode="json"))
    assert rules.has_row_rules(ValidationConfig(max_null_fraction=0).model_dump(mode="json"))
