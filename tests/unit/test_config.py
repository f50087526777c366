"""The typed config sections (core/, pipelines/parameters.py), estimator checks, one-line errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from core.config_files import describe_validation_error
from core.modeling import SearchConfig, SplitConfig, TrainConfig, load_estimator_class
from core.promotion import PromotionConfig
from core.sources import (
    CsvSource,
    DataConfig,
    DemoSource,
    HttpSource,
    LabeledDataConfig,
    ParquetSource,
    SqlSource,
)
from core.validation import ValidationConfig
from pipelines.parameters import PARAMETERS, TrainingParameters

PROJECT_ROOT = Path(__file__).resolve().parents[2]


DEMO_DATA = {"source": {"kind": "demo"}, "target": "target"}


def error_line(parameters: dict[str, Any]) -> str:
    """The one-line message `load_run_config` would show for these `parameters` (with the demo data
    where they name none)."""
    raw = {**parameters, "data": {**DEMO_DATA, **parameters.get("data", {})}}
    with pytest.raises(ValidationError) as caught:
        TrainingParameters.model_validate(raw)
    return describe_validation_error(caught.value, "parameters", raw)


def test_default_training_yaml_validates() -> None:
    raw = yaml.safe_load((PROJECT_ROOT / "configs" / "training.yaml").read_text(encoding="utf-8"))
    parameters = TrainingParameters.model_validate(raw["parameters"])
    assert parameters.data.source == DemoSource(kind="demo", name="breast_cancer")
    assert parameters.data.target == "target"
    assert parameters.train.estimator == "sklearn.linear_model.LogisticRegression"
    assert parameters.train.params == {"C": 1.0, "max_iter": 2000}
    assert parameters.train.search is None
    assert parameters.split == SplitConfig(test_size=0.25, seed=42)
    assert parameters.validation.min_rows == 50
    assert parameters.validation.min_rows_per_class == 5
    assert parameters.promotion.metric == "roc_auc"
    assert parameters.promotion.gates == {"accuracy": 0.85, "roc_auc": 0.90}


def test_data_is_the_one_section_without_a_default() -> None:
    with pytest.raises(ValidationError) as caught:
        TrainingParameters.model_validate({"data": {"source": {"kind": "demo"}}})
    assert describe_validation_error(caught.value, "parameters") == "parameters.data.target: Field required"
    with pytest.raises(ValidationError, match="data\n  Field required"):
        TrainingParameters.model_validate({})


def test_defaults_of_everything_but_the_data() -> None:
    parameters = TrainingParameters.model_validate({"data": DEMO_DATA})
    assert parameters.data == LabeledDataConfig(
        source=DemoSource(kind="demo", name="breast_cancer"), target="target"
    )
    assert parameters.validation.max_null_fraction == 0.5
    assert parameters.validation.min_rows == 10
    assert parameters.split.test_size == 0.2
    assert parameters.train.estimator == "sklearn.ensemble.RandomForestClassifier"
    assert parameters.promotion.metric == "f1_macro"
    assert parameters.promotion.gates == {}


@pytest.mark.parametrize(
    ("source", "expected_type"),
    [
        ({"kind": "demo", "name": "iris"}, DemoSource),
        ({"kind": "csv", "path": "data/x.csv", "separator": ";"}, CsvSource),
        ({"kind": "parquet", "path": "data/x.parquet"}, ParquetSource),
        ({"kind": "sql", "url": "sqlite:///x.db", "query": "select 1"}, SqlSource),
        ({"kind": "http", "url": "https://example.org/x.csv"}, HttpSource),
    ],
)
def test_source_is_chosen_by_kind(source: dict[str, Any], expected_type: type[Any]) -> None:
    config = DataConfig.model_validate({"source": source})
    assert type(config.source) is expected_type
    assert config.source.kind == source["kind"]


def test_csv_source_reads_path_as_path_with_defaults() -> None:
    config = DataConfig.model_validate({"source": {"kind": "csv", "path": "data/x.csv"}})
    assert config.source == CsvSource(kind="csv", path=Path("data/x.csv"), separator=None, encoding="utf-8")


def test_unknown_top_level_key_names_dotted_key() -> None:
    assert error_line({"train": {"bogus": 1}}) == "parameters.train.bogus: unknown key"


def test_unknown_section_names_dotted_key() -> None:
    assert error_line({"trian": {}}) == "parameters.trian: unknown key"


def test_unknown_key_in_source_is_reported_as_unknown_key() -> None:
    line = error_line({"data": {"source": {"kind": "csv", "path": "x.csv", "bogus": 1}}})
    assert line.startswith("parameters.data.source.")
    assert line.endswith(".bogus: unknown key")


def test_unknown_key_in_source_names_the_yaml_path() -> None:
    line = error_line({"data": {"source": {"kind": "csv", "path": "x.csv", "bogus": 1}}})
    assert line == "parameters.data.source.bogus: unknown key"


def test_wrong_type_names_key_and_problem() -> None:
    line = error_line({"split": {"test_size": "a quarter"}})
    assert line.startswith("parameters.split.test_size: ")
    assert "valid number" in line


def test_out_of_range_test_size_names_key() -> None:
    line = error_line({"split": {"test_size": 1.5}})
    assert line == "parameters.split.test_size: Input should be less than 1"


def test_unknown_source_kind_lists_expected_tags() -> None:
    line = error_line({"data": {"source": {"kind": "excel"}}})
    assert line.startswith("parameters.data.source: ")
    assert "'excel'" in line
    assert "'csv'" in line


def test_source_without_kind_is_rejected() -> None:
    line = error_line({"data": {"source": {"path": "x.csv"}}})
    assert line.startswith("parameters.data.source: ")
    assert "'kind'" in line


def test_http_source_rejects_non_http_url() -> None:
    with pytest.raises(ValidationError, match="must start with http:// or https://"):
        HttpSource(kind="http", url="ftp://example.org/x.csv")


def test_http_source_rejects_non_positive_timeout() -> None:
    with pytest.raises(ValidationError, match="greater than 0"):
        HttpSource(kind="http", url="http://example.org/x.csv", timeout_seconds=0)


def test_error_count_is_mentioned_when_several_errors() -> None:
    line = error_line({"split": {"seed": "x", "bogus": 1}, "train": {"bogus": 2}})
    assert line.startswith("parameters.split.")
    assert line.endswith("(and 2 more)")


def test_single_error_has_no_more_suffix() -> None:
    assert "more" not in error_line({"split": {"seed": "x"}})


def test_estimator_that_is_not_a_classifier_is_rejected() -> None:
    line = error_line({"train": {"estimator": "sklearn.linear_model.LinearRegression"}})
    assert (
        line == "parameters.train: 'sklearn.linear_model.LinearRegression' is not a scikit-learn classifier"
    )


def test_unknown_estimator_parameter_is_named() -> None:
    line = error_line({"train": {"params": {"n_trees": 10}}})
    assert line == "parameters.train: sklearn.ensemble.RandomForestClassifier has no parameter 'n_trees'"


@pytest.mark.parametrize(
    "train",
    [
        {"estimator": "lightgbm.LGBMClassifier", "params": {"verbose": -1, "num_leaves": 15}},
        {"estimator": "xgboost.XGBClassifier", "params": {"nthread": 1}, "search": {"space": {"eta": [0.1]}}},
    ],
)
def test_estimators_that_take_keyword_parameters_check_their_own(train: dict[str, object]) -> None:
    """LightGBM and XGBoost take parameters beyond their signature (`verbose`, `nthread`)."""
    TrainingParameters.model_validate({"data": DEMO_DATA, "train": train})


def test_an_estimator_without_probabilities_is_refused_naming_the_fix() -> None:
    line = error_line({"train": {"estimator": "sklearn.svm.SVC"}})

    assert line.startswith("parameters.train: sklearn.svm.SVC gives no probabilities (predict_proba)")
    assert "probability: true" in line
    TrainingParameters.model_validate(
        {"data": DEMO_DATA, "train": {"estimator": "sklearn.svm.SVC", "params": {"probability": True}}}
    )


def test_unknown_search_parameter_is_named() -> None:
    line = error_line(
        {
            "train": {
                "estimator": "sklearn.linear_model.LogisticRegression",
                "search": {"space": {"C": [1.0], "depth": [2]}},
            }
        }
    )
    assert line == "parameters.train: sklearn.linear_model.LogisticRegression has no parameter 'depth'"


def test_unimportable_estimator_is_named() -> None:
    line = error_line({"train": {"estimator": "sklearn.nowhere.MagicClassifier"}})
    assert line.startswith("parameters.train: cannot import 'sklearn.nowhere.MagicClassifier'")


def test_missing_class_in_existing_module_is_named() -> None:
    line = error_line({"train": {"estimator": "sklearn.ensemble.MagicClassifier"}})
    assert line.startswith("parameters.train: cannot import 'sklearn.ensemble.MagicClassifier'")


def test_estimator_without_module_is_rejected() -> None:
    with pytest.raises(ValueError, match="'RandomForestClassifier' is not an import path"):
        load_estimator_class("RandomForestClassifier")


def test_function_is_not_a_classifier() -> None:
    with pytest.raises(ValueError, match=re.escape("'os.path.join' is not a scikit-learn estimator")):
        load_estimator_class("os.path.join")


def test_load_estimator_class_returns_the_class() -> None:
    from sklearn.linear_model import LogisticRegression

    assert load_estimator_class("sklearn.linear_model.LogisticRegression") is LogisticRegression


@pytest.mark.parametrize(
    "estimator",
    [
        pytest.param(
            "sklearn.multiclass.OneVsRestClassifier",
        ),
        pytest.param(
            "collections.OrderedDict",
        ),
    ],
)
def test_unusable_estimator_class_is_a_validation_error(estimator: str) -> None:
    line = error_line({"train": {"estimator": estimator}})
    assert line.startswith("parameters.train: ")
    assert estimator in line


def test_valid_train_config_keeps_params_and_search() -> None:
    config = TrainConfig(
        estimator="sklearn.linear_model.LogisticRegression",
        params={"max_iter": 50},
        search=SearchConfig(space={"C": [0.1, 1.0]}, cv=3),
    )
    assert config.params == {"max_iter": 50}
    assert config.search is not None
    assert config.search.space == {"C": [0.1, 1.0]}
    assert config.search.kind == "grid"
    assert config.search.scoring == "f1_macro"


def test_empty_search_space_is_rejected() -> None:
    line = error_line({"train": {"search": {"space": {}}}})
    assert line == "parameters.train.search.space: needs at least one parameter to search"


def test_search_parameter_without_values_is_rejected() -> None:
    line = error_line({"train": {"search": {"space": {"max_depth": []}}}})
    assert line == "parameters.train.search.space: parameter 'max_depth' has no values to try"


def test_search_cv_below_two_is_rejected() -> None:
    line = error_line({"train": {"search": {"space": {"max_depth": [2]}, "cv": 1}}})
    assert line.startswith("parameters.train.search.cv: ")


def test_search_scoring_f1_is_not_allowed() -> None:
    line = error_line({"train": {"search": {"space": {"max_depth": [2]}, "scoring": "f1"}}})
    assert line.startswith("parameters.train.search.scoring: ")


@pytest.mark.parametrize("gate", [1.5, -0.1])
def test_gate_outside_unit_interval_is_rejected(gate: float) -> None:
    line = error_line({"promotion": {"gates": {"accuracy": gate}}})
    assert line == f"parameters.promotion.gates: gate for 'accuracy' is {gate}; it must be within [0, 1]"


def test_gate_on_the_bounds_is_accepted() -> None:
    config = PromotionConfig(gates={"accuracy": 0.0, "roc_auc": 1.0})
    assert config.gates == {"accuracy": 0.0, "roc_auc": 1.0}


def test_log_loss_gate_may_exceed_one() -> None:
    config = PromotionConfig(metric="log_loss", gates={"log_loss": 1.5})
    assert config.gates == {"log_loss": 1.5}


def test_gate_on_unknown_metric_is_rejected() -> None:
    line = error_line({"promotion": {"gates": {"precision": 0.5}}})
    assert line.startswith("parameters.promotion.gates.precision")


def test_validation_rules_ranges() -> None:
    for bad in ({"max_null_fraction": 1.1}, {"min_rows": 0}, {"min_rows_per_class": 1}):
        key = next(iter(bad))
        with pytest.raises(ValidationError) as caught:
            ValidationConfig.model_validate(bad)
        assert describe_validation_error(caught.value, "validation").startswith(f"validation.{key}: ")


def test_validation_column_kind_must_be_known() -> None:
    line = error_line({"validation": {"columns": {"age": "float"}}})
    assert line.startswith("parameters.validation.columns.age: ")


def test_config_sections_are_frozen() -> None:
    config = SplitConfig()
    with pytest.raises(ValidationError, match="frozen"):
        config.seed = 7


def _repeated_defaults(model: type[Any], raw: dict[str, Any], prefix: str) -> list[str]:
    """Keys in `raw` whose value is the model's own default: defaults must be stated once."""
    repeated = []
    for key, value in raw.items():
        field = model.model_fields[key]
        section = field.annotation if isinstance(field.annotation, type) else None
        if section is not None and issubclass(section, BaseModel) and isinstance(value, dict):
            repeated += _repeated_defaults(section, value, f"{prefix}.{key}")
        elif not field.is_required() and field.get_default(call_default_factory=True) == value:
            repeated.append(f"{prefix}.{key}")
    return repeated


@pytest.mark.parametrize("pipeline", list(PARAMETERS))
def test_shipped_configs_list_only_what_differs_from_the_defaults(pipeline: str) -> None:
    path = PROJECT_ROOT / "configs" / f"{pipeline.replace('-', '_')}.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["parameters"]

    assert _repeated_defaults(PARAMETERS[pipeline], raw, "parameters") == []
    PARAMETERS[pipeline].model_validate(raw)


@pytest.mark.parametrize(
    ("pipeline", "raw", "expected"),
    [
        (
            "batch-inference",
            {"data": DEMO_DATA, "drift": {"drift_share": 0.3}},
            "parameters.drift: key 'drift_share' is now called 'drift_share_threshold'",
        ),
        (
            "deployment",
            {"serving": {"port": 9000}},
            "parameters: key 'serving' is now called 'mlserver'",
        ),
    ],
)
def test_a_renamed_key_names_its_new_name(pipeline: str, raw: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError) as caught:
        PARAMETERS[pipeline].model_validate(raw)
    assert describe_validation_error(caught.value, "parameters", raw) == expected
