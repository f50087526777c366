"""Batch inference by reference: a folder of Parquet parts scored chunk by chunk, and a run killed
halfway that leaves nothing complete. Spark's engine on a folder (the same answers as this one,
and a bad file named) is the journeys' (tests/journeys/test_estimators.py, test_data_contract.py),
in the environment a user installs Spark into.

Figures at 1M and 10M rows are `bench/batch_inference.py`'s; these tests use batches small enough
to run in seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from zenml.client import Client
from zenml.enums import ModelStages

from core.simulate import simulate_batch
from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import run_cli

pytestmark = pytest.mark.store

MODEL = "batch_scale_model"


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def latest_batch_run() -> Any:
    return Client().list_pipeline_runs(pipeline="batch_inference", sort_by="desc:created", size=1).items[0]


@pytest.fixture(scope="module")
def production() -> Any:
    ok(run_cli("--pipeline", "training", "--model-name", MODEL))
    return Client().get_model_version(MODEL, ModelStages.PRODUCTION)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three Parquet parts of 4,000 simulated rows each, and Spark's `_SUCCESS` beside them."""
    batch = tmp_path_factory.mktemp("batch") / "2026-12-01"
    batch.mkdir()
    for index in range(3):
        part = simulate_batch(drift=0.2, rows=4_000, seed=index, labeled=False)
        part.insert(0, "row_id", np.arange(index * 4_000, (index + 1) * 4_000))
        part.to_parquet(batch / f"part-{index}.parquet", index=False)
    (batch / "_SUCCESS").write_text("")
    return batch


def config(tmp_path: Path, **scoring: Any) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    settings = yaml.safe_load((PROJECT_ROOT / "configs" / "batch_inference.yaml").read_text())
    settings["model"]["name"] = MODEL
    settings["parameters"]["output"] = {"folder": str(tmp_path / "predictions")}
    settings["parameters"]["scoring"] = {"chunk_rows": 1_500, **scoring}
    path = tmp_path / "batch_inference.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def score(tmp_path: Path, data: Path, **scoring: Any) -> tuple[pd.DataFrame, Any]:
    ok(
        run_cli(
            "--pipeline", "batch-inference", "--config", str(config(tmp_path, **scoring)), "--data", str(data)
        )
    )
    run = latest_batch_run()
    location = Path(run.run_metadata["predictions_location"])
    assert (location / "_SUCCESS").is_file()
    return pd.read_parquet(location).sort_values("row_id", ignore_index=True), run


def kill_halfway(folder: Path, tmp_path: Path) -> None:
    """Start a run on `folder` and kill -9 it while it writes the second of its three parts."""
    predictions = tmp_path / "predictions"
    args = [
        "--pipeline",
        "batch-inference",
        "--config",
        str(config(tmp_path, chunk_rows=100)),
        "--data",
        str(folder),
    ]
    process = subprocess.Popen(
        [sys.executable, str(PROJECT_ROOT / "run.py"), *args],
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not list(predictions.glob(".*.incomplete/part-00001.parquet")):  # halfway: the 2nd of 3 parts
            assert process.poll() is None and time.monotonic() < deadline, (
                "the run ended before it was killed"
            )
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)

    assert [p.name for p in predictions.iterdir() if not p.name.startswith(".")] == []
    assert not list(predictions.rglob("_SUCCESS"))


def test_a_run_killed_halfway_leaves_nothing_complete_and_the_rerun_scores_in_chunks_as_the_model_whole(
    production: Any, folder: Path, tmp_path: Path
) -> None:
    kill_halfway(folder, tmp_path)

    written, run = score(tmp_path, folder)

    parts = sorted(p.name for p in Path(run.run_metadata["predictions_location"]).iterdir())
    assert parts == ["_SUCCESS", "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    rows = pd.concat([pd.read_parquet(p) for p in sorted(folder.glob("part-*"))], ignore_index=True)
    model = production.get_model_artifact("model").load()
    features = rows.drop(columns="row_id")
    assert written["row_id"].tolist() == rows["row_id"].tolist()
    assert written["prediction"].tolist() == model.predict(features).tolist()
    np.testing.assert_array_equal(written["proba_1"], model.predict_proba(features)[:, 1])
    reference = run.steps["score_batch"].outputs["batch_input"][0].load()
    assert (reference["files"], reference["rows"], reference["uri"]) == (3, 12_000, str(folder))
    assert run.run_metadata["n_rows"] == 12_000
    assert run.steps["check_data_drift"].outputs["drift_result"][0].load().n_rows == 12_000
