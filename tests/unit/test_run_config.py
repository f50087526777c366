"""pipelines/run_config.py: loading a run config YAML and applying command-line overrides."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.sources import CsvSource, DemoSource, FilesSource, ParquetSource
from pipelines.parameters import BatchInferenceParameters, TrainingParameters
from pipelines.run_config import RunConfig, load_run_config, with_overrides

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TRAINING_YAML = PROJECT_ROOT / "configs" / "training.yaml"

MINIMAL = """\
model:
  name: churn
enable_cache: true
parameters:
  data:
    source: {kind: csv, path: data/churn.csv}
    target: churned
"""


DATA = "  data: {source: {kind: demo}, target: target}\n"
LINEAR_REGRESSION = "sklearn.linear_model.LinearRegression"


def write(tmp_path: Path, text: str, name: str = "run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def minimal(tmp_path: Path) -> RunConfig[TrainingParameters]:
    return load_run_config(write(tmp_path, MINIMAL), TrainingParameters)


def test_default_training_config_loads() -> None:
    config = load_run_config(TRAINING_YAML, TrainingParameters)
    assert config.path == TRAINING_YAML
    assert config.model_name == "breast_cancer_classifier"
    assert "parameters" not in config.zenml_options
    assert config.zenml_options["model"]["tags"] == ["template", "tabular-classification"]
    assert config.parameters.data.source == DemoSource(kind="demo", name="breast_cancer")
    assert config.parameters.train.params == {"C": 1.0, "max_iter": 2000}
    assert config.parameters.promotion.metric == "roc_auc"


def test_minimal_config_fills_defaults(minimal: RunConfig[TrainingParameters]) -> None:
    assert minimal.model_name == "churn"
    assert minimal.zenml_options == {"model": {"name": "churn"}, "enable_cache": True}
    assert minimal.parameters.data.source == CsvSource(kind="csv", path=Path("data/churn.csv"))
    assert minimal.parameters.data.target == "churned"
    assert minimal.parameters.split.test_size == 0.2


def test_config_without_data_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "model: {name: m}\n")
    with pytest.raises(ConfigError) as caught:
        load_run_config(path, TrainingParameters)
    assert str(caught.value) == f"{path}: parameters.data: Field required"


def test_missing_config_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError) as caught:
        load_run_config(path, TrainingParameters)
    assert str(caught.value) == f"config file '{path}': no such file"


def test_directory_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"config file '{tmp_path}': no such file")):
        load_run_config(tmp_path, TrainingParameters)


def test_invalid_yaml_names_file(tmp_path: Path) -> None:
    path = write(tmp_path, "model:\n  name: [churn\n")
    with pytest.raises(ConfigError, match=re.escape(f"config file '{path}': not valid YAML (")):
        load_run_config(path, TrainingParameters)


def test_non_utf8_config_names_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes("model: {name: caf\xe9}\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=re.escape(f"config file '{path}': not valid YAML (")):
        load_run_config(path, TrainingParameters)


@pytest.mark.parametrize("text", ["- model\n- parameters\n", "just a string\n", ""])
def test_yaml_that_is_not_a_mapping(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_run_config(path, TrainingParameters)
    assert str(caught.value) == f"config file '{path}': must be a mapping of keys to values"


@pytest.mark.parametrize(
    "text", ["parameters: {}\n", "model: {description: x}\n", "model: {name: ''}\n", "model: m\n"]
)
def test_missing_model_name(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_run_config(path, TrainingParameters)
    assert str(caught.value) == f"{path}: model.name: required (the Model Control Plane's model name)"


def test_unknown_parameter_key_names_file_and_dotted_key(tmp_path: Path) -> None:
    path = write(tmp_path, f"model: {{name: m}}\nparameters:\n{DATA}  split:\n    test_fraction: 0.3\n")
    with pytest.raises(ConfigError) as caught:
        load_run_config(path, TrainingParameters)
    assert str(caught.value) == f"{path}: parameters.split.test_fraction: unknown key"


def test_wrong_parameter_type_names_key(tmp_path: Path) -> None:
    path = write(tmp_path, "model: {name: m}\nparameters:\n  validation:\n    min_rows: many\n")
    with pytest.raises(
        ConfigError, match=re.escape(f"{path}: parameters.validation.min_rows: Input should be")
    ):
        load_run_config(path, TrainingParameters)


def test_bad_estimator_names_file_and_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"model: {{name: m}}\nparameters:\n{DATA}  train: {{estimator: {LINEAR_REGRESSION}}}\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_run_config(path, TrainingParameters)
    assert str(caught.value) == (
        f"{path}: parameters.train: 'sklearn.linear_model.LinearRegression' is not a scikit-learn classifier"
    )


def test_parameters_that_are_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "model: {name: m}\nparameters: [1, 2]\n")
    with pytest.raises(
        ConfigError, match=re.escape(f"{path}: parameters: Input should be a valid dictionary")
    ):
        load_run_config(path, TrainingParameters)


# --- with_overrides ------------------------------------------------------------------------------------


def test_without_overrides_nothing_changes(minimal: RunConfig[TrainingParameters]) -> None:
    assert with_overrides(minimal) == minimal


def test_data_override_with_csv_file(minimal: RunConfig[TrainingParameters], tmp_path: Path) -> None:
    data = tmp_path / "new.csv"
    data.write_text("a,churned\n1,y\n", encoding="utf-8")
    config = with_overrides(minimal, data=str(data))
    assert config.parameters.data.source == CsvSource(kind="csv", path=data)
    assert config.parameters.data.target == "churned"
    assert minimal.parameters.data.source == CsvSource(kind="csv", path=Path("data/churn.csv"))


def test_data_override_with_tsv_and_parquet(minimal: RunConfig[TrainingParameters], tmp_path: Path) -> None:
    tsv = tmp_path / "new.tsv"
    tsv.write_text("a\tchurned\n1\ty\n", encoding="utf-8")
    parquet = tmp_path / "new.parquet"
    parquet.write_bytes(b"PAR1")
    assert with_overrides(minimal, data=str(tsv)).parameters.data.source == CsvSource(kind="csv", path=tsv)
    assert with_overrides(minimal, data=str(parquet)).parameters.data.source == ParquetSource(
        kind="parquet", path=parquet
    )


def test_missing_data_file(minimal: RunConfig[TrainingParameters], tmp_path: Path) -> None:
    data = tmp_path / "absent.csv"
    with pytest.raises(ConfigError) as caught:
        with_overrides(minimal, data=str(data))
    assert str(caught.value) == f"--data: data file '{data}': no such file"


def test_data_directory_is_not_a_file(minimal: RunConfig[TrainingParameters], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"--data: data file '{tmp_path}': no such file")):
        with_overrides(minimal, data=str(tmp_path))


def test_batch_inference_takes_a_folder_or_uri_by_reference(tmp_path: Path) -> None:
    path = tmp_path / "batch.yaml"
    path.write_text("model: {name: m}\nparameters: {data: {source: {kind: demo}}}\n", encoding="utf-8")
    config = load_run_config(path, BatchInferenceParameters)

    for data in (str(tmp_path), "s3://bucket/batches/2026-12-01/", "nowhere/yet.tsv"):
        source = with_overrides(config, data=data).parameters.data.source
        assert source == FilesSource(kind="files", uri=data)


def test_data_file_with_unsupported_suffix(minimal: RunConfig[TrainingParameters], tmp_path: Path) -> None:
    data = tmp_path / "data.xyz"
    data.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"--data {data}: unsupported file type '.xyz'")):
        with_overrides(minimal, data=str(data))


def test_target_model_name_and_no_cache(minimal: RunConfig[TrainingParameters]) -> None:
    config = with_overrides(minimal, target="label", model_name="churn_v2", no_cache=True)
    assert config.parameters.data.target == "label"
    assert config.parameters.data.source == minimal.parameters.data.source
    assert config.model_name == "churn_v2"
    assert config.zenml_options["enable_cache"] is False
    assert config.path == minimal.path
    # the original is untouched
    assert minimal.model_name == "churn"
    assert minimal.parameters.data.target == "churned"
    assert minimal.zenml_options["enable_cache"] is True


def test_model_name_override_keeps_other_model_options() -> None:
    config = with_overrides(load_run_config(TRAINING_YAML, TrainingParameters), model_name="other")
    assert config.zenml_options["model"]["name"] == "other"
    assert config.zenml_options["model"]["license"] == "Apache-2.0"


def test_no_cache_false_leaves_cache_setting(minimal: RunConfig[TrainingParameters]) -> None:
    assert with_overrides(minimal, no_cache=False).zenml_options["enable_cache"] is True


def test_spark_scoring_needs_files_once_data_is_applied(tmp_path: Path) -> None:
    path = tmp_path / "batch.yaml"
    path.write_text(
        "model: {name: m}\nparameters: {data: {source: {kind: demo}}, scoring: {engine: spark}}\n",
        encoding="utf-8",
    )
    config = load_run_config(path, BatchInferenceParameters)

    with pytest.raises(
        ConfigError, match=r"parameters.scoring.engine: spark reads files; data.source is of kind 'demo'"
    ):
        with_overrides(config)
    assert with_overrides(config, data=str(tmp_path)).parameters.data.source.kind == "files"


def test_local_servers_continuous_training_reads_the_captured_traffic_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from core.sources import CapturedSource
    from pipelines.run_config import load_pipeline_config, with_stack_parameters

    monkeypatch.setenv("LOCAL_REDIS_URL", "redis://127.0.0.1:6999")
    shipped = load_pipeline_config(
        "continuous-training", PROJECT_ROOT / "configs" / "continuous_training.yaml"
    )

    on_servers = with_stack_parameters(shipped, "local-servers", "continuous-training")
    on_local = with_stack_parameters(shipped, "local", "continuous-training")
    training = load_pipeline_config("training", TRAINING_YAML)

    source = on_servers.parameters.data.source
    assert isinstance(source, CapturedSource)
    assert (source.url, source.secret, source.stream) == (
        "redis://127.0.0.1:6999/0",
        "local_redis",
        "inference-captures",
    )
    assert on_servers.parameters.data.target == shipped.parameters.data.target
    assert on_servers.parameters.drift == shipped.parameters.drift
    assert on_local == shipped
    assert with_stack_parameters(training, "local-servers", "training") == training


def test_a_stack_overlay_with_a_bad_parameter_names_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.run_config import load_pipeline_config, with_stack_parameters

    (tmp_path / "mine.yaml").write_text(
        "parameters:\n  continuous_training:\n    data:\n      source: {kind: captured, url: http://x}\n"
    )
    shipped = load_pipeline_config(
        "continuous-training", PROJECT_ROOT / "configs" / "continuous_training.yaml"
    )

    with pytest.raises(ConfigError, match=r"mine.yaml over .*parameters.data.source.*url"):
        with_stack_parameters(shipped, "mine", "continuous-training", tmp_path)
