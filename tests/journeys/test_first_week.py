"""A new user's first week, in the order the README and the first-run tutorial give it, in the
environment README command 1 makes: train, look, serve, feed it batches, let it retrain on drift and
on a quality drop, put an earlier version back, stop it. Each step is checked by what it leaves: the
Model Control Plane's versions, the endpoint's answers (equal to the model in memory), the files.

The tests run in order and build on each other's state, as a user's week does.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

from tests.docs_blocks import doc_block
from tests.journeys.conftest import answers_in_memory, infer, model_show, prediction_url
from tests.journeys.workspace import Workspace

pytestmark = pytest.mark.journey

MODEL = "breast_cancer_classifier"
FEATURES_OF = "target"  # the demo set's label column; every other column is a feature
TOLERANCE = 1e-5  # what compiled serving promises (core.compilation.PROBABILITY_TOLERANCE)


@pytest.fixture(scope="module")
def state() -> dict[str, str]:
    """What one step of the week leaves for the next (the endpoint's URL)."""
    return {}


def endpoint_answers(url: str, rows: pd.DataFrame) -> dict[str, object]:
    answer = infer(url, MODEL, rows.drop(columns=FEATURES_OF, errors="ignore"))
    assert answer["status_code"] == 200, answer
    outputs = {output["name"]: output for output in answer["outputs"]}
    n_classes = outputs["probabilities"]["shape"][1]
    return {
        "version": answer["model_version"],
        "labels": outputs["label"]["data"],
        "probabilities": np.asarray(outputs["probabilities"]["data"]).reshape(-1, n_classes),
    }


def assert_served_as_in_memory(workspace: Workspace, url: str, version: str, rows_file: Path) -> None:
    rows = pd.read_csv(rows_file)
    served = endpoint_answers(url, rows)
    expected = answers_in_memory(workspace, MODEL, version, rows_file)
    assert served["version"] == version
    assert served["labels"] == expected["labels"]
    np.testing.assert_allclose(
        np.asarray(served["probabilities"], dtype=float), expected["probabilities"], atol=TOLERANCE
    )


def test_quick_start_trains_evaluates_and_promotes_version_1(adopter: Workspace) -> None:
    command = doc_block("quick-start").splitlines()[0]
    assert command == doc_block("first-run-train").strip()  # the tutorial says the same

    output = adopter.bash(command)

    assert "passed all gates; no production version yet" in output
    version = model_show(adopter)
    assert (version["version"], version["stage"]) == ("1", "production")
    assert version["metrics"]["roc_auc"] > 0.95
    assert version["lineage"]["source"] == "demo data set 'breast_cancer'"


def test_info_says_where_mlflow_and_the_dashboard_are(adopter: Workspace) -> None:
    output = adopter.cli("info")

    assert "active stack: local" in output
    tracking = output.split("MLflow tracking URI: sqlite:///", 1)[1].split()[0]
    assert Path("/" + tracking.lstrip("/")).is_file()
    assert "zenml login --local" in output


def test_the_lifecycle_block_serves_retrains_on_drift_redeploys_and_stops(
    adopter: Workspace, state: dict[str, str], tmp_path: Path
) -> None:
    deploy, simulate, retrain, stop = doc_block("first-run-lifecycle").splitlines()
    demo_rows = tmp_path / "rows.csv"

    url = prediction_url(adopter.bash(deploy))
    adopter.cli("simulate", "--drift", "0", "--rows", "40", "--out", str(demo_rows))
    assert_served_as_in_memory(adopter, url, "1", demo_rows)

    adopter.bash(simulate)
    shifted = pd.read_csv(adopter.root / "shifted.csv")
    assert len(shifted) == 500 and FEATURES_OF in shifted

    output = adopter.bash(retrain)
    assert "breast_cancer_classifier version 2" in output
    retrained = model_show(adopter, "2")
    assert retrained["stage"] == "production"
    assert retrained["lineage"]["rows"] > 500  # the production data plus the batch
    assert_served_as_in_memory(adopter, url, "2", demo_rows)  # redeployed, at the same URL
    state["url"] = url

    assert "stopped 1 deployment(s)" in adopter.bash(stop)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/v2/health/ready", timeout=5)
    assert "is not deployed on this stack" in adopter.cli("deployment", "status")


def test_a_labeled_file_is_predicted_on_the_endpoint(
    adopter: Workspace, state: dict[str, str], tmp_path: Path
) -> None:
    state["url"] = prediction_url(adopter.cli("--pipeline", "deployment"))
    rows, out = tmp_path / "labeled.csv", tmp_path / "predictions.csv"
    adopter.cli("simulate", "--drift", "0", "--rows", "25", "--seed", "3", "--out", str(rows))

    adopter.cli("predict", "--data", str(rows), "--out", str(out))

    written = pd.read_csv(out)
    expected = answers_in_memory(adopter, MODEL, "2", rows)
    assert written[FEATURES_OF].tolist() == pd.read_csv(rows)[FEATURES_OF].tolist()  # the label rode along
    assert written["prediction"].tolist() == expected["labels"]
    np.testing.assert_allclose(
        written[["proba_0", "proba_1"]].to_numpy(), expected["probabilities"], atol=TOLERANCE
    )


def test_batch_inference_scores_csv_tsv_parquet_and_a_folder_alike(
    adopter: Workspace, tmp_path: Path
) -> None:
    source = tmp_path / "batch.csv"
    adopter.cli(
        "simulate", "--drift", "0", "--rows", "300", "--seed", "5", "--unlabeled", "--out", str(source)
    )
    rows = pd.read_csv(source)
    folder = tmp_path / "folder"
    folder.mkdir()
    rows.iloc[:120].to_parquet(folder / "part-a.parquet")
    rows.iloc[120:].to_parquet(folder / "part-b.parquet")
    rows.to_csv(tmp_path / "batch.tsv", sep="\t", index=False)
    rows.to_parquet(tmp_path / "batch.parquet")
    expected = answers_in_memory(adopter, MODEL, "2", source)
    outputs = adopter.root / "predictions"

    for data in ("batch.csv", "batch.tsv", "batch.parquet", "folder"):
        before = set(outputs.glob(f"{MODEL}-v2-*")) if outputs.exists() else set()
        adopter.cli("--pipeline", "batch-inference", "--data", str(tmp_path / data))
        (written,) = set(outputs.glob(f"{MODEL}-v2-*")) - before
        assert (written / "_SUCCESS").is_file(), data
        scored = pd.concat(pd.read_parquet(part) for part in sorted(written.glob("part-*.parquet")))
        assert scored["prediction"].tolist() == expected["labels"], data
        np.testing.assert_allclose(scored[["proba_0", "proba_1"]], expected["probabilities"], atol=TOLERANCE)
        shutil.rmtree(written)


def test_continuous_training_retrains_on_a_quality_drop(adopter: Workspace, tmp_path: Path) -> None:
    batch = tmp_path / "mislabeled.csv"
    adopter.cli("simulate", "--label-noise", "0.4", "--seed", "7", "--out", str(batch))

    output = adopter.cli("--pipeline", "continuous-training", "--data", str(batch))

    assert "quality dropped" in output
    retrained = model_show(adopter, "3")
    assert retrained["lineage"]["rows"] > 500
    production = model_show(adopter)
    assert production["version"] == ("3" if retrained["promotion"]["promoted"] else "2")


def test_an_earlier_version_is_put_back_into_production_and_onto_the_endpoint(
    adopter: Workspace, state: dict[str, str], tmp_path: Path
) -> None:
    listed = adopter.cli("model", "list")
    assert all(f"│ {number} " in listed for number in ("1", "2", "3"))

    adopter.cli("model", "promote", "1", "--reason", "version 1 was better on last week's audit")

    version = model_show(adopter, "1")
    assert version["stage"] == "production"
    assert version["manual_promotion"]["reason"] == "version 1 was better on last week's audit"
    rows = tmp_path / "rows.csv"
    adopter.cli("simulate", "--rows", "20", "--seed", "9", "--out", str(rows))
    assert_served_as_in_memory(adopter, state["url"], "1", rows)
    status = adopter.cli("deployment", "status")
    assert f"{MODEL} version 1: running" in status and "runtime: onnx" in status


def test_all_four_pipelines_run_in_order(adopter: Workspace) -> None:
    output = adopter.cli("--pipeline", "all")

    for title in ("Training run", "Deployed", "Batch inference run", "Continuous training run"):
        assert title in output, output[-3000:]


def test_the_local_servers_say_which_extra_they_need(adopter: Workspace) -> None:
    code, error = adopter.cli_fails("servers", "up", "s3")

    assert code == 1
    assert [line for line in error.splitlines() if line.strip()][-1].startswith("error:")
    assert "bash scripts/setup.sh servers" in error
