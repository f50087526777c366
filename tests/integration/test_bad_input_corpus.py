"""The bad-input corpus: data files, configs, command lines and V2 requests that must be refused.

Each case gets a non-zero exit (or an HTTP 4xx) with one line naming the file, column or key, and
afterwards nothing has changed: the same production version, and the live endpoint (a real MLServer
on 127.0.0.1, started here and stopped after) gives the same answers as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests
import yaml
from sklearn.datasets import load_breast_cancer
from zenml.client import Client
from zenml.enums import ModelStages

from core.v2_client import V2Client, encode_request
from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import free_port, last_line, run_cli

pytestmark = [pytest.mark.store, pytest.mark.servers]

MODEL = "corpus_model"
MAX_ROWS = 40
DEMO = load_breast_cancer(as_frame=True).frame
PROBE = DEMO.drop(columns="target").iloc[:5]


def production_id() -> Any:
    return Client().get_model_version(MODEL, ModelStages.PRODUCTION).id


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[V2Client]:
    folder = tmp_path_factory.mktemp("corpus-deployment")
    config = yaml.safe_load((PROJECT_ROOT / "configs" / "deployment.yaml").read_text())
    config["parameters"].setdefault("mlserver", {}).update(
        port=free_port(), max_rows=MAX_ROWS, max_batch_size=1
    )
    (folder / "deployment.yaml").write_text(yaml.safe_dump(config))
    for args in (
        ("--pipeline", "training", "--model-name", MODEL),
        ("--pipeline", "deployment", "--model-name", MODEL, "--config", str(folder / "deployment.yaml")),
    ):
        result = run_cli(*args)
        assert result.returncode == 0, result.stderr[-3000:]
    url = ""
    try:
        status = run_cli("deployment", "status", "--model-name", MODEL).stdout
        url = status.split("url: ", 1)[1].split()[0]
        yield V2Client(url, MODEL, timeout_seconds=30)
    finally:
        run_cli("deployment", "stop", "--model-name", MODEL)


@pytest.fixture
def unchanged(endpoint: V2Client) -> Iterator[None]:
    """Whatever the case does, production and the endpoint's answers are the same afterwards."""
    before_id, before = production_id(), endpoint.predict(PROBE)
    yield
    after = endpoint.predict(PROBE)
    assert production_id() == before_id
    assert after.model_version == before.model_version
    np.testing.assert_array_equal(after.probabilities, before.probabilities)


def csv_file(write: Callable[[Path], object]) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / "data.csv"
        write(path)
        return path

    return make


def with_values(column: str, values: Any) -> Callable[[Path], object]:
    return lambda path: DEMO.assign(**{column: values}).to_csv(path, index=False)


def parts_of_a_batch(folder: Path, second: pd.DataFrame) -> Path:
    """A batch folder of two Parquet parts: the demo features, then `second`."""
    batch = folder / "batch"
    batch.mkdir()
    DEMO.drop(columns="target").to_parquet(batch / "part-0.parquet", index=False)
    second.to_parquet(batch / "part-1.parquet", index=False)
    return batch


DATA_CASES: dict[str, tuple[str, Callable[[Path], Path], str]] = {
    "empty file": ("training", csv_file(lambda p: p.write_bytes(b"")), "data.csv': is empty"),
    "header only": (
        "training",
        csv_file(lambda p: p.write_text(",".join(DEMO.columns) + "\n")),
        "has a header but no rows",
    ),
    "wrong delimiter": (
        "training",
        csv_file(lambda p: DEMO.to_csv(p, index=False, sep=";")),
        "the separator is probably not ','",
    ),
    "not utf-8": (
        "training",
        csv_file(lambda p: p.write_bytes(b"size,target\n" + "gro\xdf,1\n".encode("latin-1"))),
        "not valid utf-8 text",
    ),
    "duplicated columns": (
        "training",
        csv_file(lambda p: p.write_text("a,a,target\n1,2,0\n3,4,1\n")),
        "duplicated column name(s) a",
    ),
    "all-null column": (
        "training",
        csv_file(with_values("mean radius", np.nan)),
        "column 'mean radius': share of missing values above validation.max_null_fraction",
    ),
    "infinite values": (
        "training",
        csv_file(with_values("mean area", np.where(DEMO.index % 7 == 0, np.inf, DEMO["mean area"]))),
        "column 'mean area': infinite value",
    ),
    "a single class": ("training", csv_file(with_values("target", 1)), "needs at least two classes"),
    "no target column": (
        "training",
        csv_file(lambda p: DEMO.drop(columns="target").to_csv(p, index=False)),
        "column 'target': the target column is missing",
    ),
    "batch missing a feature": (
        "batch-inference",
        csv_file(lambda p: DEMO.drop(columns="worst area").to_csv(p, index=False)),
        "column 'worst area': the model needs it but it is missing",
    ),
    "batch with text in a number column": (
        "batch-inference",
        csv_file(with_values("mean texture", np.where(DEMO.index == 3, "rough", DEMO["mean texture"]))),
        "column 'mean texture': wrong type",
    ),
    "batch folder with a file of another schema": (
        "batch-inference",
        lambda folder: parts_of_a_batch(folder, DEMO.drop(columns="target").astype({"mean texture": str})),
        "part-1.parquet: column 'mean texture' is string here but double in",
    ),
    "labeled batch without labels": (
        "continuous-training",
        csv_file(lambda p: DEMO.drop(columns="target").to_csv(p, index=False)),
        "column 'target': a labeled batch needs the target column",
    ),
}


@pytest.mark.parametrize("case", list(DATA_CASES), ids=list(DATA_CASES))
@pytest.mark.usefixtures("unchanged")
def test_bad_data_file(case: str, tmp_path: Path) -> None:
    pipeline, make, message = DATA_CASES[case]
    data = make(tmp_path)

    result = run_cli("--pipeline", pipeline, "--data", str(data), "--model-name", MODEL)

    line = last_line(result.stderr)
    assert result.returncode == 1
    assert message in line
    assert line.startswith("error: ")
    assert f"data file '{data}'" in line or "column '" in line  # names the file or the column


CONFIG_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "unknown key": (
        {"parameters": {"split": {"test_fraction": 0.2}}},
        "parameters.split.test_fraction: unknown key",
    ),
    "wrong type": (
        {"parameters": {"train": {"seed": "forty-two"}}},
        "parameters.train.seed: Input should be",
    ),
    "impossible gate": (
        {"parameters": {"promotion": {"gates": {"roc_auc": 1.5}}}},
        "gate for 'roc_auc' is 1.5; it must be within [0, 1]",
    ),
    "impossible drift share": (
        {"parameters": {"drift": {"drift_share_threshold": 1.5}}},
        "parameters.drift.drift_share_threshold",
    ),
}


@pytest.mark.parametrize("case", list(CONFIG_CASES), ids=list(CONFIG_CASES))
@pytest.mark.usefixtures("unchanged")
def test_bad_config(case: str, tmp_path: Path) -> None:
    change, message = CONFIG_CASES[case]
    pipeline = "batch_inference" if "drift" in change["parameters"] else "training"
    config = yaml.safe_load((PROJECT_ROOT / "configs" / f"{pipeline}.yaml").read_text())
    for section, values in change["parameters"].items():
        config["parameters"].setdefault(section, {}).update(values)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))

    result = run_cli("--pipeline", pipeline.replace("_", "-"), "--config", str(path), "--model-name", MODEL)

    assert result.returncode == 1
    assert message in last_line(result.stderr)
    assert str(path) in last_line(result.stderr)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--pipeline", "retrain"), "unknown pipeline 'retrain'"),
        (
            ("--pipeline", "training", "--data", "/nowhere/data.csv"),
            "data file '/nowhere/data.csv': no such file",
        ),
        (("predict", "--data", "/nowhere/rows.csv", "--model-name", MODEL), "/nowhere/rows.csv"),
        (("--pipeline", "training", "--stack", "nowhere"), "--stack: no stack named 'nowhere'"),
        (("--pipeline", "all", "--config", "configs/training.yaml"), "with --pipeline all, give a folder"),
    ],
    ids=["unknown pipeline", "missing data file", "missing predict file", "unknown stack", "config with all"],
)
@pytest.mark.usefixtures("unchanged")
def test_bad_command_line(args: tuple[str, ...], message: str) -> None:
    result = run_cli(*args)

    assert result.returncode != 0
    assert message in last_line(result.stderr)


def request_with(change: Callable[[list[dict[str, Any]]], object]) -> dict[str, Any]:
    body = encode_request(PROBE.head(3))
    change(body["inputs"])
    return body


REQUEST_CASES: dict[str, tuple[Callable[[], dict[str, Any]], int, str]] = {
    "wrong column": (
        lambda: request_with(lambda inputs: inputs[0].update(name="radius")),
        400,
        "column 'radius': the model has no such input",
    ),
    "wrong type": (
        lambda: request_with(lambda inputs: inputs[2].update(datatype="BYTES", data=["a", "b", "c"])),
        400,
        "column 'mean perimeter': expected numbers, got 'a'",
    ),
    "wrong shape": (
        lambda: request_with(lambda inputs: inputs[0].update(shape=[3, 2])),
        400,
        "input 'mean radius': shape [3, 2]",
    ),
    "empty": (lambda: {"inputs": []}, 400, "no inputs"),
    "oversized": (
        lambda: encode_request(DEMO.drop(columns="target").head(MAX_ROWS + 1)),
        413,
        "the limit is",
    ),
}


@pytest.mark.parametrize("case", list(REQUEST_CASES), ids=list(REQUEST_CASES))
@pytest.mark.usefixtures("unchanged")
def test_bad_v2_request(case: str, endpoint: V2Client) -> None:
    make, status, message = REQUEST_CASES[case]

    response = requests.post(f"{endpoint.model_url}/infer", json=make(), timeout=30)

    assert response.status_code == status, response.text
    assert message in response.json()["error"]
