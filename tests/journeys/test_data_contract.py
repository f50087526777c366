"""A declarative rule added to the training config as "Your own data" shows it: the model's data
contract, saved with its version and enforced on every path that feeds it. A row that breaks it is
refused by name in training, in a batch (in process and on Spark), in continuous training and at the
V2 endpoint, which counts the refusal in Prometheus; nothing is promoted or written on the way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests
import yaml

from tests.docs_blocks import doc_block
from tests.journeys.conftest import infer, model_show, prediction_url, stop_deployments
from tests.journeys.test_estimators import SPARK_INSTALL
from tests.journeys.workspace import Workspace, adopter_project

pytestmark = pytest.mark.journey

MODEL = "churn_classifier"
BAD_AGE = "column 'age': above the maximum 120 (e.g. 150.0)"


def churn(rows: int, seed: int, labeled: bool = True) -> pd.DataFrame:
    """Customers that keep the tutorial's rules: ages 18-90, three plans, five-digit zip codes,
    total charges at least the monthly ones."""
    rng = np.random.default_rng(seed)
    monthly = rng.uniform(20, 120, rows).round(2)
    tenure = rng.integers(1, 72, rows)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 90, rows),
            "plan": rng.choice(["basic", "plus", "premium"], rows),
            "zip_code": rng.integers(10000, 99999, rows).astype(str),
            "monthly_charges": monthly,
            "total_charges": (monthly * tenure).round(2),
            "tenure": tenure,
        }
    )
    if labeled:
        frame["churned"] = ((monthly / 40 - tenure / 24 + rng.normal(0, 0.6, rows)) > 0).astype(int)
    return frame


def with_bad_age(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(age=frame["age"].where(frame.index != 7, 150))


@pytest.fixture(scope="module")
def extended(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = adopter_project(installs=(doc_block("estimator-install"), SPARK_INSTALL))
    workspace = Workspace(root=root, home=tmp_path_factory.mktemp("contract"))
    yield workspace
    stop_deployments(workspace)


@pytest.fixture(scope="module")
def configs(extended: Workspace, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The shipped configs, for the churn data, with the tutorial's `validation` in training's."""
    folder = tmp_path_factory.mktemp("configs")
    written = {}
    for name in ("training", "batch_inference", "continuous_training", "deployment"):
        config: dict[str, Any] = yaml.safe_load((extended.root / "configs" / f"{name}.yaml").read_text())
        config["model"]["name"] = MODEL
        parameters = config.setdefault("parameters", {}) or {}
        config["parameters"] = parameters
        if name == "training":
            parameters.update(yaml.safe_load(doc_block("contract-rule")))
            parameters["data"] = {
                "source": {"kind": "csv", "path": str(folder / "churn.csv")},
                "target": "churned",
            }
            parameters["promotion"] = {"gates": {"accuracy": 0.6}}
        if name == "continuous_training":
            parameters["data"]["target"] = "churned"
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        written[name] = folder / f"{name}.yaml"
    return written


def test_training_data_that_breaks_the_rule_is_refused_and_nothing_is_trained(
    extended: Workspace, configs: dict[str, Path]
) -> None:
    with_bad_age(churn(600, seed=1)).to_csv(configs["training"].parent / "churn.csv", index=False)

    code, error = extended.cli_fails("--pipeline", "training", "--config", str(configs["training"]))

    assert (code, error.strip().splitlines()[-1]) == (1, f"error: {BAD_AGE}")


def test_clean_data_trains_a_version_that_carries_the_contract(
    extended: Workspace, configs: dict[str, Path]
) -> None:
    churn(600, seed=1).to_csv(configs["training"].parent / "churn.csv", index=False)

    extended.cli("--pipeline", "training", "--config", str(configs["training"]))

    version = model_show(extended, "--model-name", MODEL)
    assert version["stage"] == "production"
    contract = version["data_contract"]["contract"]
    assert contract["rules"]["age"]["max"] == 120
    assert contract["relations"] == [{"left": "total_charges", "op": ">=", "right": "monthly_charges"}]
    shown = extended.cli("model", "show", "--model-name", MODEL)
    assert "age: min 18, max 120" in shown and "total_charges >= monthly_charges" in shown


@pytest.mark.parametrize(
    ("engine", "where"),
    [("local", "part-1.parquet, rows 1-150 (row group 0): "), ("spark", "part-1.parquet: ")],
)
def test_a_batch_that_breaks_it_is_refused_in_process_and_on_spark_naming_the_file_and_nothing_is_written(
    extended: Workspace, configs: dict[str, Path], engine: str, where: str, tmp_path: Path
) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    churn(150, seed=2, labeled=False).to_parquet(batch / "part-0.parquet")
    with_bad_age(churn(150, seed=5, labeled=False)).to_parquet(batch / "part-1.parquet")
    config = yaml.safe_load(configs["batch_inference"].read_text())
    config["parameters"]["scoring"] = {"engine": engine, "spark": {"master": "local[2]"}}
    config["parameters"]["output"] = {"folder": str(tmp_path / "out")}
    path = tmp_path / "batch.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")

    code, error = extended.cli_fails(
        "--pipeline", "batch-inference", "--config", str(path), "--data", str(batch)
    )

    assert (code, error.strip().splitlines()[-1]) == (1, f"error: step score_batch: {batch}/{where}{BAD_AGE}")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_continuous_training_refuses_a_batch_that_breaks_it(
    extended: Workspace, configs: dict[str, Path], tmp_path: Path
) -> None:
    batch = tmp_path / "labeled.csv"
    with_bad_age(churn(300, seed=3)).to_csv(batch, index=False)

    code, error = extended.cli_fails(
        "--pipeline",
        "continuous-training",
        "--config",
        str(configs["continuous_training"]),
        "--data",
        str(batch),
    )

    assert code == 1 and BAD_AGE in error.strip().splitlines()[-1], error[-2000:]
    assert model_show(extended, "--model-name", MODEL)["version"] == "1"  # nothing retrained


def test_the_endpoint_refuses_a_request_that_breaks_it_by_name_and_counts_it(
    extended: Workspace, configs: dict[str, Path]
) -> None:
    url = prediction_url(extended.cli("--pipeline", "deployment", "--config", str(configs["deployment"])))
    rows = churn(3, seed=4, labeled=False)

    good = infer(url, MODEL, rows)
    bad = infer(url, MODEL, rows.assign(age=[30, 150, 40], zip_code=["12345", "123", "54321"]))

    assert good["status_code"] == 200, good
    assert bad["status_code"] == 422
    assert bad["error"] == (
        "the request breaks the model's data contract: column 'age': above the maximum 120 (e.g. 150.0); "
        "column 'zip_code': does not match the pattern '\\d{5}' (e.g. 123)"
    )
    status = extended.cli("deployment", "status", "--model-name", MODEL)
    metrics = requests.get(status.split("metrics: ", 1)[1].split()[0], timeout=10).text
    counted = [line for line in metrics.splitlines() if line.startswith("model_contract_violations_total{")]
    assert f'model_contract_violations_total{{column="age",model="{MODEL}",rule="max"}} 1.0' in counted
