"""core/validation.py: inferred schema and pandera quality rules, with errors naming column and rule."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from core.errors import DataValidationError
from core.validation import (
    FeatureSchema,
    ValidationConfig,
    infer_kind,
    infer_schema,
    validate_features,
    validate_training_data,
)

RULES = ValidationConfig(min_rows=4)


def make_frame() -> pd.DataFrame:
    """Eight rows: a numeric and a categorical feature with gaps, and string labels."""
    return pd.DataFrame(
        {
            "age": [31.0, 45.0, np.nan, 27.0, 52.0, 38.0, 61.0, 23.0],
            "city": ["Oslo", "Rome", "Oslo", None, "Lima", "Rome", "Oslo", "Lima"],
            "target": ["yes", "no", "yes", "no", "yes", "no", "yes", "no"],
        }
    )


# --- infer_kind / infer_schema ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("series", "kind"),
    [
        (pd.Series([1, 2, 3]), "numeric"),
        (pd.Series([1.5, np.nan]), "numeric"),
        (pd.Series([True, False]), "boolean"),
        (pd.Series(pd.array([True, None], dtype="boolean")), "boolean"),
        (pd.Series(["a", None]), "categorical"),
        (pd.Series(pd.Categorical(["a", "b"])), "categorical"),
        (pd.Series([1, "a"], dtype=object), "categorical"),
    ],
)
def test_infer_kind(series: pd.Series, kind: str) -> None:
    assert infer_kind(series) == kind


def test_datetime_feature_is_rejected_by_name() -> None:
    frame = make_frame()
    frame["signed_up"] = pd.date_range("2024-01-01", periods=len(frame), freq="D")
    with pytest.raises(DataValidationError, match="column 'signed_up': date/time columns are not supported"):
        validate_training_data(frame, "target", RULES)


def test_timedelta_feature_is_rejected_by_name() -> None:
    series = pd.Series(pd.to_timedelta([1, 2], unit="s"), name="duration")
    with pytest.raises(DataValidationError, match="column 'duration': date/time columns"):
        infer_kind(series)


def test_datetime_column_pinned_as_categorical_is_accepted() -> None:
    frame = make_frame()
    frame["signed_up"] = pd.date_range("2024-01-01", periods=len(frame), freq="D")
    rules = ValidationConfig(min_rows=4, columns={"signed_up": "categorical"})
    _, schema = validate_training_data(frame, "target", rules)
    assert schema.columns["signed_up"] == "categorical"


def test_infer_schema_kinds_and_pins() -> None:
    frame = make_frame()
    frame["code"] = [1, 2, 3, 1, 2, 3, 1, 2]
    rules = ValidationConfig(columns={"code": "categorical"})
    schema = infer_schema(frame, "target", rules)
    assert schema == FeatureSchema(
        target="target",
        columns={"age": "numeric", "city": "categorical", "code": "categorical"},
        classes=[],
        contract=rules,
    )
    assert schema.features == ["age", "city", "code"]
    assert schema.of_kind("categorical") == ["city", "code"]
    assert schema.of_kind("numeric", "integer") == ["age"]


def test_missing_target_column_lists_columns() -> None:
    with pytest.raises(DataValidationError) as caught:
        validate_training_data(make_frame(), "label", RULES)
    assert str(caught.value) == (
        "column 'label': the target column is missing; "
        "set data.target (or --target) to one of: age, city, target"
    )


def test_missing_required_column_is_named() -> None:
    rules = ValidationConfig(min_rows=4, required_columns=["income"])
    with pytest.raises(DataValidationError, match="column 'income': required but missing"):
        validate_training_data(make_frame(), "target", rules)


def test_missing_pinned_column_is_named() -> None:
    rules = ValidationConfig(min_rows=4, columns={"zip": "categorical"})
    with pytest.raises(DataValidationError, match="column 'zip': required but missing"):
        validate_training_data(make_frame(), "target", rules)


def test_target_only_frame_has_no_features() -> None:
    with pytest.raises(
        DataValidationError, match="column 'target': is the only column; there are no features"
    ):
        validate_training_data(make_frame()[["target"]], "target", RULES)


# --- happy path ---------------------------------------------------------------------------------------
def test_valid_frame_passes_with_schema_and_classes() -> None:
    checked, schema = validate_training_data(make_frame(), "target", RULES)
    assert schema == FeatureSchema(
        target="target",
        columns={"age": "numeric", "city": "categorical"},
        classes=["no", "yes"],
        contract=RULES,
    )
    assert checked["age"].dtype == np.float64
    assert checked["target"].tolist() == make_frame()["target"].tolist()
    assert len(checked) == 8


def test_categorical_values_become_str_and_missing_stays_missing() -> None:
    frame = make_frame()
    frame["code"] = [1.0, 2.0, np.nan, 1.0, 2.0, 3.0, 1.0, 2.0]
    rules = ValidationConfig(min_rows=4, columns={"code": "categorical"})
    checked, _ = validate_training_data(frame, "target", rules)
    assert checked["city"].isna().tolist() == [False, False, False, True, False, False, False, False]
    assert checked["code"].isna().tolist() == [False, False, True, False, False, False, False, False]
    assert checked["code"].dropna().tolist() == ["1.0", "2.0", "1.0", "2.0", "3.0", "1.0", "2.0"]
    assert all(type(value) is str for value in checked["city"].dropna())
    assert all(type(value) is str for value in checked["code"].dropna())


def test_integer_and_boolean_columns_are_coerced() -> None:
    frame = make_frame()
    frame["visits"] = [1.0, 2.0, np.nan, 4.0, 5.0, 6.0, 7.0, 8.0]
    frame["member"] = [True, False] * 4
    rules = ValidationConfig(min_rows=4, columns={"visits": "integer"})
    checked, schema = validate_training_data(frame, "target", rules)
    assert schema.columns["visits"] == "integer"
    assert schema.columns["member"] == "boolean"
    assert str(checked["visits"].dtype) == "Int64"
    assert str(checked["member"].dtype) == "boolean"
    assert checked["visits"].isna().sum() == 1


def test_numeric_strings_are_coerced_to_float() -> None:
    frame = make_frame()
    frame["age"] = ["31", "45", "50", "27", "52", "38", "61", "23"]
    rules = ValidationConfig(min_rows=4, columns={"age": "numeric"})
    checked, _ = validate_training_data(frame, "target", rules)
    assert checked["age"].dtype == np.float64
    assert checked["age"].tolist()[:2] == [31.0, 45.0]


def test_integer_target_keeps_its_labels() -> None:
    frame = make_frame()
    frame["target"] = [0, 1, 0, 1, 0, 1, 0, 1]
    checked, schema = validate_training_data(frame, "target", RULES)
    assert schema.classes == [0, 1]
    assert checked["target"].tolist() == [0, 1, 0, 1, 0, 1, 0, 1]


def test_float_target_with_whole_numbers_is_accepted() -> None:
    frame = make_frame()
    frame["target"] = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    _, schema = validate_training_data(frame, "target", RULES)
    assert len(schema.classes) == 2


# --- quality rules ----------------------------------------------------------------------------------------
def test_numeric_column_holding_strings_is_wrong_type() -> None:
    frame = make_frame().astype({"age": object})
    frame.loc[1, "age"] = "forty-five"
    rules = ValidationConfig(min_rows=4, columns={"age": "numeric"})
    with pytest.raises(
        DataValidationError, match=r"column 'age': wrong type, expected '?float64'? \(e\.g\. forty-five\)"
    ):
        validate_training_data(frame, "target", rules)


def test_wrong_type_does_not_claim_infinite_values() -> None:
    frame = make_frame().astype({"age": object})
    frame.loc[1, "age"] = "forty-five"
    rules = ValidationConfig(min_rows=4, columns={"age": "numeric"})
    with pytest.raises(DataValidationError) as caught:
        validate_training_data(frame, "target", rules)
    assert "infinite" not in str(caught.value)


def test_integer_column_with_fractions_is_wrong_type() -> None:
    frame = make_frame()
    frame["visits"] = [1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    rules = ValidationConfig(min_rows=4, columns={"visits": "integer"})
    with pytest.raises(DataValidationError, match=r"column 'visits': wrong type, expected '?Int64'?"):
        validate_training_data(frame, "target", rules)


def test_too_many_nulls_names_column_and_rule() -> None:
    frame = make_frame()
    frame.loc[[0, 1, 3, 4, 5], "age"] = np.nan  # 6 of 8 missing
    with pytest.raises(DataValidationError) as caught:
        validate_training_data(frame, "target", ValidationConfig(min_rows=4, max_null_fraction=0.5))
    assert str(caught.value) == (
        "column 'age': share of missing values above validation.max_null_fraction = 0.5"
    )


def test_nulls_at_the_limit_pass() -> None:
    frame = make_frame()
    frame.loc[[0, 1, 3], "age"] = np.nan  # 4 of 8 missing = 0.5
    checked, _ = validate_training_data(frame, "target", ValidationConfig(min_rows=4, max_null_fraction=0.5))
    assert checked["age"].isna().sum() == 4


def test_too_many_nulls_in_categorical_column() -> None:
    frame = make_frame()
    frame["city"] = [None, None, None, None, None, "Oslo", "Rome", "Lima"]
    with pytest.raises(DataValidationError, match="column 'city': share of missing values above"):
        validate_training_data(frame, "target", ValidationConfig(min_rows=4, max_null_fraction=0.5))


def test_infinite_value_is_named() -> None:
    frame = make_frame()
    frame.loc[4, "age"] = np.inf
    with pytest.raises(DataValidationError) as caught:
        validate_training_data(frame, "target", RULES)
    assert str(caught.value) == "column 'age': infinite value (e.g. inf)"


def test_negative_infinity_is_named() -> None:
    frame = make_frame()
    frame.loc[2, "age"] = -np.inf
    with pytest.raises(DataValidationError, match=re.escape("column 'age': infinite value (e.g. -inf)")):
        validate_training_data(frame, "target", RULES)


def test_single_class_target() -> None:
    frame = make_frame()
    frame["target"] = "yes"
    with pytest.raises(DataValidationError, match="column 'target': needs at least two classes"):
        validate_training_data(frame, "target", RULES)


def test_class_with_too_few_rows() -> None:
    frame = make_frame()
    frame["target"] = ["yes"] * 6 + ["no"] * 2
    rules = ValidationConfig(min_rows=4, min_rows_per_class=3)
    with pytest.raises(DataValidationError, match="column 'target': every class needs at least 3 rows"):
        validate_training_data(frame, "target", rules)


def test_class_with_exactly_min_rows_passes() -> None:
    frame = make_frame()
    frame["target"] = ["yes"] * 5 + ["no"] * 3
    _, schema = validate_training_data(frame, "target", ValidationConfig(min_rows=4, min_rows_per_class=3))
    assert schema.classes == ["no", "yes"]


def test_fewer_rows_than_min_rows() -> None:
    with pytest.raises(DataValidationError) as caught:
        validate_training_data(make_frame(), "target", ValidationConfig(min_rows=50))
    assert str(caught.value) == "data: 8 rows, fewer than validation.min_rows = 50"


def test_continuous_float_target() -> None:
    frame = make_frame()
    frame["target"] = np.linspace(0.1, 0.9, len(frame))
    with pytest.raises(DataValidationError, match="column 'target': the target holds non-integer numbers"):
        validate_training_data(frame, "target", RULES)


def test_infinite_float_target_is_not_a_label() -> None:
    frame = make_frame()
    frame["target"] = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, np.inf]
    with pytest.raises(DataValidationError, match="column 'target': the target holds non-integer numbers"):
        validate_training_data(frame, "target", RULES)


def test_missing_label_is_rejected() -> None:
    frame = make_frame()
    frame.loc[2, "target"] = None
    with pytest.raises(DataValidationError, match=r"column 'target': missing values are not allowed$"):
        validate_training_data(frame, "target", RULES)


def test_missing_label_message_has_no_empty_example() -> None:
    frame = make_frame()
    frame.loc[2, "target"] = None
    with pytest.raises(DataValidationError) as caught:
        validate_training_data(frame, "target", RULES)
    assert "(e.g. )" not in str(caught.value)


def test_several_failures_are_reported_together() -> None:
    frame = make_frame()
    frame.loc[4, "age"] = np.inf
    frame["city"] = [None] * 6 + ["Oslo", "Rome"]
    with pytest.raises(DataValidationError) as caught:
        validate_training_data(frame, "target", RULES)
    message = str(caught.value)
    assert "column 'age': infinite value" in message
    assert "column 'city': share of missing values" in message


# --- validate_features -------------------------------------------------------------------------------------


@pytest.fixture
def trained_schema() -> FeatureSchema:
    _, schema = validate_training_data(make_frame(), "target", RULES)
    return schema


def test_validate_features_accepts_unlabelled_rows(trained_schema: FeatureSchema) -> None:
    new = pd.DataFrame({"age": ["40", None], "city": pd.Series([7, None], dtype=object), "extra": [1, 2]})
    checked = validate_features(new, trained_schema)
    assert checked["age"].tolist()[0] == 40.0
    assert checked["age"].isna().tolist() == [False, True]
    assert checked["city"].tolist()[0] == "7"
    assert checked["city"].isna().tolist() == [False, True]


def test_validate_features_rejects_missing_model_column(trained_schema: FeatureSchema) -> None:
    with pytest.raises(DataValidationError) as caught:
        validate_features(pd.DataFrame({"age": [40.0]}), trained_schema)
    assert str(caught.value) == "column 'city': the model needs it but it is missing"


def test_validate_features_rejects_wrong_type(trained_schema: FeatureSchema) -> None:
    new = pd.DataFrame({"age": ["old", "40"], "city": ["Oslo", "Rome"]})
    with pytest.raises(
        DataValidationError, match=r"column 'age': wrong type, expected '?float64'? \(e\.g\. old\)"
    ):
        validate_features(new, trained_schema)


def test_validate_features_rejects_infinite(trained_schema: FeatureSchema) -> None:
    new = pd.DataFrame({"age": [np.inf, 40.0], "city": ["Oslo", "Rome"]})
    with pytest.raises(DataValidationError, match=re.escape("column 'age': infinite value (e.g. inf)")):
        validate_features(new, trained_schema)


def test_schema_differences_name_what_a_caller_of_the_served_version_would_notice() -> None:
    served = FeatureSchema(
        target="y", columns={"age": "numeric", "city": "categorical"}, classes=["no", "yes"]
    )
    same = FeatureSchema(
        target="label", columns={"city": "categorical", "age": "numeric"}, classes=["no", "yes"]
    )
    other = FeatureSchema(
        target="y", columns={"age": "categorical", "income": "numeric"}, classes=["a", "b", "c"]
    )

    assert same.differences_from(served) == []  # column order and the target's name do not matter to callers
    assert other.differences_from(served) == [
        "needs column 'income'",
        "ignores column 'city'",
        "takes column 'age' as categorical, not numeric",
        "answers classes ['a', 'b', 'c'], not ['no', 'yes']",
    ]
