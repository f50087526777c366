"""The drift loop through the real CLI: batch inference with Evidently, continuous training, redeploy,
and the numbers in Prometheus (real Prometheus and Pushgateway servers on 127.0.0.1).

Each test trains its own model name, so production versions never leak between tests.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
import yaml
from zenml.client import Client
from zenml.enums import ModelStages

from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import free_port, last_line, run_cli

pytestmark = [pytest.mark.store, pytest.mark.servers]

REPORT_SUMMARY = re.compile(r"Drift is detected for ([0-9.]+)% of columns \((\d+) out of (\d+)\)")
SERVER_START_SECONDS = 60


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def production(model: str) -> Any:
    return Client().get_model_version(model, ModelStages.PRODUCTION)


def latest_run(pipeline: str) -> Any:
    run = Client().list_pipeline_runs(pipeline=pipeline, sort_by="desc:created", size=1).items[0]
    return run.get_hydrated_version()


def versions(model: str) -> list[int]:
    return sorted(v.number for v in Client().list_model_versions(model_name_or_id=model, size=100).items)


def continuous_training(folder: Path, model: str, batch: Path) -> subprocess.CompletedProcess[str]:
    """`--pipeline continuous-training` with the configs in `folder` on `batch`; it must succeed."""
    config = str(folder / "continuous_training.yaml")
    return ok(
        run_cli(
            "--pipeline",
            "continuous-training",
            "--config",
            config,
            "--model-name",
            model,
            "--data",
            str(batch),
        )
    )


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A clean and a shifted labeled batch, written by `run.py simulate` as a user would."""
    folder = tmp_path_factory.mktemp("batches")
    paths = {
        "clean": folder / "clean.csv",
        "shifted": folder / "shifted.parquet",
        "mislabeled": folder / "mislabeled.csv",
    }
    ok(run_cli("simulate", "--drift", "0", "--rows", "400", "--seed", "11", "--out", str(paths["clean"])))
    ok(run_cli("simulate", "--drift", "1.0", "--rows", "400", "--seed", "12", "--out", str(paths["shifted"])))
    mislabeled = ("--label-noise", "0.4", "--rows", "400", "--seed", "13", "--out", str(paths["mislabeled"]))
    ok(run_cli("simulate", *mislabeled))
    return paths


@pytest.fixture
def configs(tmp_path: Path) -> Callable[..., Path]:
    """Copies of configs/*.yaml in one folder (continuous training finds its siblings there), with
    `changes` as {file: {dotted.key: value}}; returns the folder."""

    def write(**changes: dict[str, Any]) -> Path:
        folder = tmp_path / "configs"
        folder.mkdir(exist_ok=True)
        for source in (PROJECT_ROOT / "configs").glob("*.yaml"):
            config = yaml.safe_load(source.read_text())
            if source.stem == "batch_inference":
                config["parameters"]["output"] = {"folder": str(tmp_path / "predictions")}
            for dotted, value in changes.get(source.stem, {}).items():
                node = config
                *parents, leaf = dotted.split(".")
                for key in parents:
                    node = node.setdefault(key, {})
                node[leaf] = value
            (folder / source.name).write_text(yaml.safe_dump(config))
        return folder

    return write


@pytest.fixture(scope="module")
def model() -> str:
    """One production model for the tests that only read it or add a version that is not promoted."""
    name = "drift_model"
    ok(run_cli("--pipeline", "training", "--model-name", name))
    return name


def test_clean_batch_no_drift_predictions_equal_the_model(
    model: str, batches: dict[str, Path], configs: Callable[..., Path], tmp_path: Path
) -> None:
    folder = configs()

    result = ok(
        run_cli(
            "--pipeline",
            "batch-inference",
            "--config",
            str(folder / "batch_inference.yaml"),
            "--model-name",
            model,
            "--data",
            str(batches["clean"]),
        )
    )

    run = latest_run("batch_inference")
    metadata = run.run_metadata
    assert metadata["dataset_drift"] is False
    assert metadata["drift_share"] < 0.5
    assert metadata["n_rows"] == 400
    assert metadata["scored_by"] == "in_process"
    location = Path(metadata["predictions_location"])
    written = pd.read_parquet(location)  # the parts; `_SUCCESS` is skipped as Spark's readers do
    assert location.parent == tmp_path / "predictions"
    assert (location / "_SUCCESS").is_file() and [p.name for p in location.glob("part-*")] == [
        "part-00000.parquet"
    ]
    assert str(location) in result.stdout.replace("\n", "").replace(" ", "").replace("│", "")
    version = production(model)
    batch = pd.read_csv(batches["clean"])
    fitted = version.get_model_artifact("model").load()
    features = batch.drop(columns="target")
    assert written["prediction"].tolist() == fitted.predict(features).tolist()
    pd.testing.assert_series_equal(
        written["proba_1"], pd.Series(fitted.predict_proba(features)[:, 1], name="proba_1")
    )
    assert set(written["model_version"]) == {str(version.number)}
    linked = version.get_data_artifact("predictions")
    assert linked is not None and linked.producer_pipeline_run_id == run.id
    summary = linked.load()
    assert (summary.rows, summary.location, summary.scored_by) == (400, str(location), "in_process")
    assert summary.label_counts == {str(k): v for k, v in written["prediction"].value_counts().items()}
    reference = run.steps["score_batch"].outputs["batch_input"][0].load()
    assert (reference["uri"], reference["rows"], reference["files"]) == (str(batches["clean"]), None, 1)
    assert len(run.steps["score_batch"].outputs["drift_sample"][0].load()) == 400


def test_shifted_batch_drift_report_matches_the_run_metadata(
    model: str, batches: dict[str, Path], configs: Callable[..., Path]
) -> None:
    folder = configs()

    ok(
        run_cli(
            "--pipeline",
            "batch-inference",
            "--config",
            str(folder / "batch_inference.yaml"),
            "--model-name",
            model,
            "--data",
            str(batches["shifted"]),
        )
    )

    run = latest_run("batch_inference")
    metadata = run.run_metadata
    assert metadata["dataset_drift"] is True
    assert metadata["drift_share"] >= 0.5
    report = run.steps["check_data_drift"].outputs["drift_report"][0]
    html = str(report.load())
    assert len(html) > 10_000 and "<html" in html.lower()
    assert report.visualizations  # what the dashboard shows
    share, count, total = REPORT_SUMMARY.search(html).groups()  # type: ignore[union-attr]
    assert float(share) == pytest.approx(100 * metadata["drift_share"], abs=1e-3)
    assert int(count) == len(metadata["drifted_columns"])
    assert int(total) == 30
    assert production(model).get_artifact("drift_report") is not None


def test_bad_batch_fails_with_one_line_and_changes_nothing(
    model: str, batches: dict[str, Path], configs: Callable[..., Path], tmp_path: Path
) -> None:
    folder = configs()
    bad = tmp_path / "bad.csv"
    pd.read_csv(batches["clean"]).drop(columns="mean radius").to_csv(bad, index=False)
    before = production(model).id

    result = run_cli(
        "--pipeline",
        "batch-inference",
        "--config",
        str(folder / "batch_inference.yaml"),
        "--model-name",
        model,
        "--data",
        str(bad),
    )

    assert result.returncode == 1
    assert "column 'mean radius': the model needs it but it is missing" in last_line(result.stderr)
    assert production(model).id == before
    assert not (tmp_path / "predictions").exists()


def test_labels_that_no_longer_follow_the_model_retrain_on_quality_and_a_loser_stays_out(
    model: str, batches: dict[str, Path], configs: Callable[..., Path]
) -> None:
    """Features from the training distribution, 40% of labels changed: no drift, quality dropped;
    the version retrained on them misses a gate, so production and the endpoint stay."""
    folder = configs(training={"parameters.promotion.gates.accuracy": 1.0})
    before, latest = production(model).number, versions(model)[-1]
    held_out_accuracy = production(model).run_metadata["accuracy"]

    result = continuous_training(folder, model, batches["mislabeled"])

    run = latest_run("continuous_training")
    metadata = run.run_metadata
    assert metadata["dataset_drift"] is False
    assert metadata["retrain_triggered"] is True
    assert metadata["retrain_reason"] == "quality"
    assert metadata["quality_scores"]["accuracy"] < held_out_accuracy - 0.05
    assert metadata["quality_held_out"]["accuracy"] == held_out_accuracy
    assert set(metadata["quality_degraded"]) == {"accuracy", "roc_auc"}
    assert "yes (quality)" in result.stdout
    report = run.steps["check_model_quality"].outputs["quality_report"][0]
    assert report.visualizations[0].type == "html"
    page = report.load()
    assert "Production version on this batch (400 rows): quality dropped: retrain" in page
    assert "classification report could not be made" not in page and "evidently" in page.lower()
    assert metadata["retrained_version"] == str(latest + 1)
    assert versions(model)[-1] == latest + 1
    assert production(model).number == before
    assert "Not redeployed: version" in result.stdout
    retrain_run = Client().get_pipeline_run(metadata["retrain_run"])
    assert retrain_run.model_version is not None and retrain_run.model_version.number == latest + 1
    training_rows = retrain_run.steps["ingest_data"].outputs["raw_data"][0].run_metadata["n_rows"]
    assert training_rows == 569 + 400  # the production version's data plus the batch


@pytest.fixture
def monitoring_servers(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """Pushgateway and Prometheus on 127.0.0.1 (free ports), stopped after the test.

    Prometheus scrapes the Pushgateway and whatever targets are written to the returned file
    (file-based discovery, re-read when it changes), so a model server started later can join.
    """
    gateway_port, prometheus_port = free_port(), free_port()
    targets = tmp_path / "targets.json"
    targets.write_text("[]")
    config = {
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "pushgateway",
                "honor_labels": True,
                "static_configs": [{"targets": [f"127.0.0.1:{gateway_port}"]}],
            },
            {
                "job_name": "mlserver",
                "file_sd_configs": [{"files": [str(targets)], "refresh_interval": "1s"}],
            },
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    log_path = tmp_path / "servers.log"
    commands = [
        ["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{gateway_port}"],
        [
            "prometheus",
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prometheus_port}",
        ],
    ]
    with log_path.open("ab") as log:
        processes = [subprocess.Popen(command, stdout=log, stderr=log) for command in commands]
    try:
        gateway, prometheus = f"http://127.0.0.1:{gateway_port}", f"http://127.0.0.1:{prometheus_port}"
        deadline = time.monotonic() + SERVER_START_SECONDS
        for ready in (f"{gateway}/-/ready", f"{prometheus}/-/ready"):
            while not _answers(ready):
                assert time.monotonic() < deadline, log_path.read_text()[-2000:]
                time.sleep(0.2)
        yield gateway, prometheus, targets
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def query(prometheus: str, promql: str, timeout: float = 60) -> list[dict[str, Any]]:
    """Prometheus' answer to `promql` once it has one (scrapes run every second)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = requests.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=5).json()
        results: list[dict[str, Any]] = answer["data"]["result"]
        if results or time.monotonic() > deadline:
            return results
        time.sleep(0.5)


def dashboard_answers(prometheus: str, model: str) -> set[str]:
    """Run every query of stacks/prometheus/grafana-dashboard.json; each must be valid PromQL. Returns the
    titles of the panels whose first query has data."""
    dashboard = json.loads((PROJECT_ROOT / "stacks" / "prometheus" / "grafana-dashboard.json").read_text())
    with_data = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            promql = target["expr"].replace("$model", model)
            answer = requests.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=5).json()
            assert answer["status"] == "success", (panel["title"], promql, answer)
            if target["refId"] == "A" and answer["data"]["result"]:
                with_data.add(panel["title"])
    return with_data


def test_shipped_prometheus_config_is_valid() -> None:
    result = subprocess.run(
        ["promtool", "check", "config", str(PROJECT_ROOT / "stacks" / "prometheus" / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_whole_loop_retrains_promotes_redeploys_and_reports_to_prometheus(
    batches: dict[str, Path],
    configs: Callable[..., Path],
    monitoring_servers: tuple[str, str, Path],
) -> None:
    gateway, prometheus, targets = monitoring_servers
    model = "ct_loop"
    folder = configs(
        deployment={"parameters.mlserver.port": free_port()},
        continuous_training={"parameters.monitoring.pushgateway_url": gateway},
        batch_inference={"parameters.monitoring.pushgateway_url": gateway},
    )
    # All four pipelines: train, serve, score the demo batch on the endpoint, check it with its
    # labels: no drift, quality holds, no retraining.
    done = ok(run_cli("--pipeline", "all", "--config", str(folder), "--model-name", model))
    try:
        first = production(model).number
        assert latest_run("batch_inference").run_metadata["scored_by"].startswith("http://127.0.0.1:")
        clean = latest_run("continuous_training").run_metadata
        assert clean["retrain_triggered"] is False and clean["retrain_reason"] == "none"
        assert clean["retrain_explanation"].startswith("no dataset drift")
        assert "quality holds" in clean["retrain_explanation"]
        assert clean["quality_scores"]["accuracy"] > 0.9
        assert versions(model) == [first]
        assert "no dataset drift" in done.stdout
        status = ok(run_cli("deployment", "status", "--model-name", model)).stdout
        assert f"version {first}: running" in status
        metrics_url = status.split("metrics: ", 1)[1].split()[0]
        assert metrics_url.startswith("http://127.0.0.1:")
        targets.write_text(json.dumps([{"targets": [metrics_url.split("//")[1].split("/")[0]]}]))
        assert production(model).number == first
        continuous_training(folder, model, batches["shifted"])

        metadata = latest_run("continuous_training").run_metadata
        assert metadata["retrain_triggered"] is True
        # Every feature moved a standard deviation: drift, and the model's accuracy fell with it.
        assert metadata["retrain_reason"] == "both"
        assert metadata["retrain_explanation"].startswith("dataset drift: 30 of 30 feature columns drifted")
        accuracy = query(prometheus, f'mlops_model_quality{{model="{model}",metric="accuracy"}}')
        assert float(accuracy[0]["value"][1]) == pytest.approx(metadata["quality_scores"]["accuracy"])
        coverage = query(prometheus, f'mlops_label_coverage{{model="{model}"}}')
        assert float(coverage[0]["value"][1]) == metadata["label_coverage"] == 1.0  # a batch handed in
        second = production(model).number
        assert second == first + 1
        assert str(second) == metadata["retrained_version"]
        assert (
            f"version {second}: running" in ok(run_cli("deployment", "status", "--model-name", model)).stdout
        )
        base_url = str(metadata["redeployed_url"])

        ok(
            run_cli(
                "--pipeline",
                "batch-inference",
                "--config",
                str(folder / "batch_inference.yaml"),
                "--model-name",
                model,
                "--data",
                str(batches["shifted"]),
            )
        )
        batch_run = latest_run("batch_inference")
        assert batch_run.run_metadata["scored_by"] == base_url
        written = pd.read_parquet(batch_run.run_metadata["predictions_location"])
        assert set(written["model_version"]) == {str(second)}

        share = query(prometheus, f'mlops_drift_share{{model="{model}",model_version="{second}"}}')
        assert float(share[0]["value"][1]) == pytest.approx(batch_run.run_metadata["drift_share"])
        served = query(prometheus, f'model_infer_request_success_total{{model="{model}"}}')
        assert sum(float(series["value"][1]) for series in served) >= 1
        answered = dashboard_answers(prometheus, model)
        for title in (
            "Inference requests per second",
            "Drift share of the last batch",
            "Per-column drift score",
            "Model quality on the last labeled batch",
            "Quality dropped",
            "Prediction drift score",
            "Label coverage of the last checked batch",
        ):
            assert any(title in panel for panel in answered), answered
    finally:
        run_cli("deployment", "stop", "--model-name", model)
    assert "is not deployed" in run_cli("deployment", "status", "--model-name", model).stdout
