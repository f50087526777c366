"""The `local-servers` stack as a new user meets it: `servers up`, register, set, train, `servers down`.

Real servers on free 127.0.0.1 ports (moto's S3 server, an MLflow tracking server with basic auth,
the ZenML server and dashboard), in a ZenML config folder and run folder of this module's own.
Also the fault drill of the S3 server dying mid-run.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import psutil
import psycopg
import pymysql
import pytest
import requests
import yaml

from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import last_line, run_cli, servers_env

pytestmark = pytest.mark.servers

ZENML = str(Path(sys.executable).parent / "zenml")
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"  # Debian's, installed by scripts/install-test-tools.sh
# Headless, and quiet: without the networking flags Chromium keeps calling Google on a closed network.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PRODUCTION = """
import json
from zenml.client import Client
from zenml.enums import ModelStages
from zenml.utils import source_utils
source_utils.set_custom_source_root(".")  # `python -c` has no main module file to find it from
version = Client().get_model_version("breast_cancer_classifier", ModelStages.PRODUCTION)
model = version.get_artifact("model")
print(json.dumps({"version": version.number, "model_uri": model.uri,
                  "mlflow_run_id": version.run_metadata["mlflow_run_id"],
                  "coef_sum": float(model.load()[-1].coef_.sum())}))
"""

FIND_REPORT = """
import json
from zenml.client import Client
run = Client().list_pipeline_runs(pipeline="batch_inference", sort_by="desc:created", size=1).items[0]
report = run.steps["check_data_drift"].outputs["drift_report"][0]
share = run.run_metadata["drift_share"]
print(json.dumps({"report": str(report.id), "uri": report.uri, "drift_share": share}))
"""


@dataclass(frozen=True)
class Servers:
    env: dict[str, str]
    folder: Path
    s3_url: str
    mlflow_url: str
    zenml_url: str

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), cwd=PROJECT_ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def cli(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, timeout=timeout, env=self.env)

    def credentials(self) -> dict[str, str]:
        return dict(json.loads((self.folder / "credentials.json").read_text()))

    def state(self) -> dict[str, dict[str, object]]:
        return dict(json.loads((self.folder / "state.json").read_text()))

    def production(self) -> dict[str, object]:
        result = self.run(sys.executable, "-c", PRODUCTION)
        assert result.returncode == 0, result.stderr[-3000:]
        return dict(json.loads(last_line(result.stdout)))

    def s3(self) -> object:
        import boto3

        credentials = self.credentials()
        return boto3.client(
            "s3",
            endpoint_url=self.s3_url,
            aws_access_key_id=credentials["aws_access_key_id"],
            aws_secret_access_key=credentials["aws_secret_access_key"],
            region_name="us-east-1",
        )


def _recorded_processes(servers: Servers) -> list[psutil.Process]:
    processes = []
    for entry in servers.state().values():
        for pid in entry["pids"]:  # type: ignore[attr-defined]
            try:
                process = psutil.Process(pid)
                processes += [process, *process.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
    return processes


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    env = servers_env(tmp_path_factory.mktemp("local-servers"), "s3", "postgres", "mysql", "mlflow", "zenml")
    servers = Servers(
        env,
        Path(env["MLOPS_SERVERS_DIR"]),
        env["LOCAL_S3_URL"],
        env["LOCAL_MLFLOW_URL"],
        env["LOCAL_ZENML_URL"],
    )
    # PostgreSQL (MLflow's store) and MySQL (ZenML's) start with what needs them.
    started = servers.cli("servers", "up", "s3", "mlflow", "zenml", timeout=900)
    try:
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        yield servers
    finally:
        servers.cli("servers", "down", timeout=300)


def test_servers_are_up_and_bound_to_loopback_only(servers: Servers) -> None:
    status = servers.cli("servers", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert [line.split()[:2] for line in status.stdout.splitlines()] == [
        ["s3", "up"],
        ["postgres", "up"],
        ["mysql", "up"],
        ["mlflow", "up"],
        ["zenml", "up"],
    ]
    listening = [
        connection.laddr
        for process in _recorded_processes(servers)
        for connection in process.net_connections(kind="inet")
        if connection.status == psutil.CONN_LISTEN
    ]
    assert {address.port for address in listening} >= {
        int(url.rsplit(":", 1)[1])
        for url in (
            servers.s3_url,
            servers.mlflow_url,
            servers.zenml_url,
            servers.env["LOCAL_POSTGRES_URL"],
            servers.env["LOCAL_MYSQL_URL"],
        )
    }
    assert {address.ip for address in listening} == {"127.0.0.1"}


def test_training_lands_in_the_s3_store_the_tracking_server_and_the_dashboard(servers: Servers) -> None:
    registered = servers.cli("stack", "register", "local-servers")
    assert registered.returncode == 0, registered.stderr[-3000:]
    activated = servers.run(ZENML, "stack", "set", "local-servers")
    assert activated.returncode == 0, activated.stderr[-3000:]

    trained = servers.cli("--pipeline", "training")
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
    production = servers.production()

    # Artifacts: in the S3 server's bucket, the model among them.
    model_uri = str(production["model_uri"])
    assert model_uri.startswith("s3://zenml-artifacts/")
    keys = [item["Key"] for item in servers.s3().list_objects_v2(Bucket="zenml-artifacts")["Contents"]]  # type: ignore[attr-defined]
    assert any(key.startswith(model_uri.removeprefix("s3://zenml-artifacts/")) for key in keys)

    # MLflow: the run is in the tracking server (which refuses anonymous callers), model in S3.
    run_url = f"{servers.mlflow_url}/api/2.0/mlflow/runs/get"
    run_id = str(production["mlflow_run_id"])
    assert requests.get(run_url, params={"run_id": run_id}, timeout=30).status_code == 401
    credentials = servers.credentials()
    auth = (credentials["mlflow_username"], credentials["mlflow_password"])
    run = requests.get(run_url, params={"run_id": run_id}, auth=auth, timeout=30).json()["run"]
    assert run["info"]["status"] == "FINISHED"
    assert any(metric["key"] == "test_accuracy" for metric in run["data"]["metrics"])
    mlflow_objects = servers.s3().list_objects_v2(Bucket="mlflow-artifacts")  # type: ignore[attr-defined]
    assert mlflow_objects["KeyCount"] > 0
    postgres = urlsplit(servers.env["LOCAL_POSTGRES_URL"])
    with psycopg.connect(
        host=postgres.hostname,
        port=postgres.port,
        user="mlops",
        password=credentials["postgres_password"],
        dbname="mlflow",
    ) as connection:  # the tracking server's backend store is the PostgreSQL server
        stored = connection.execute("SELECT status FROM runs WHERE run_uuid = %s", (run_id,)).fetchall()
    assert stored == [("FINISHED",)]

    # Dashboard: the server's API (what the dashboard shows) has the run, completed, and the version.
    runs = requests.get(f"{servers.zenml_url}/api/v1/runs", params={"size": 10}, timeout=30).json()["items"]
    assert [item["body"]["status"] for item in runs] == ["completed"]
    versions = requests.get(f"{servers.zenml_url}/api/v1/model_versions", timeout=30).json()["items"]
    assert [item["body"]["stage"] for item in versions] == ["production"]
    mysql = urlsplit(servers.env["LOCAL_MYSQL_URL"])
    connection = pymysql.connect(
        host=mysql.hostname,
        port=mysql.port,
        user="mlops",
        password=credentials["mysql_password"],
        database="zenml",
    )
    try:  # the ZenML server's store is the MySQL server
        with connection.cursor() as cursor:
            cursor.execute("SELECT status FROM pipeline_run")
            assert cursor.fetchall() == (("completed",),)
    finally:
        connection.close()


def test_dashboard_in_chromium_shows_the_run_and_its_model(servers: Servers) -> None:
    """Headless Chromium (Debian's) on the dashboard; screenshots are kept in test-artifacts/.

    The open-source dashboard has no model-version pages (ZenML Pro's), so the model is found as
    the run's `model` artifact, stored in the S3 server; its version was checked through the API above.
    """
    from playwright.sync_api import sync_playwright

    api = f"{servers.zenml_url}/api/v1"
    # Answer the first-visit survey for the server's default user, as a user would once.
    requests.put(
        f"{api}/current-user",
        json={"email_opted_in": False, "user_metadata": {"finished_onboarding_survey": True}},
        timeout=30,
    ).raise_for_status()
    first_run = {"size": "1", "sort_by": "asc:created"}
    run = requests.get(f"{api}/runs", params=first_run, timeout=30).json()["items"][0]
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{servers.zenml_url}/projects/default/runs/{run['id']}", timeout=120_000)
            for step in ("ingest_data", "validate_data", "split_data", "train_model", "evaluate_model"):
                page.get_by_text(step, exact=True).first.wait_for(timeout=120_000)
            assert run["name"] in page.inner_text("body")
            page.screenshot(path=ARTIFACTS / "dashboard-training-run.png", animations="disabled")

            page.get_by_text("model", exact=True).first.click()
            page.get_by_text("ModelArtifact", exact=True).first.wait_for(timeout=60_000)
            assert "s3://zenml-artifacts/train_model/model/" in page.inner_text("body")
            page.screenshot(path=ARTIFACTS / "dashboard-model-artifact.png", animations="disabled")

            # The model version's evaluation plots: the report artifact's visualization, drawn.
            page.goto(f"{servers.zenml_url}/projects/default/runs/{run['id']}", timeout=120_000)
            page.get_by_text("evaluation_report", exact=True).first.click()
            page.get_by_text("Visualization", exact=True).last.click()
            page.get_by_text("Load Preview", exact=True).click()  # the dashboard asks before running HTML
            plots = page.frame_locator("iframe").first.locator("img[alt='ROC curve']")
            plots.wait_for(timeout=120_000)
            assert plots.evaluate("image => image.complete && image.naturalWidth > 100")
            page.screenshot(path=ARTIFACTS / "dashboard-evaluation-plots.png", animations="disabled")
        finally:
            browser.close()


def test_an_s3_folder_is_scored_into_s3_and_its_drift_report_served_to_the_dashboard(
    servers: Servers, tmp_path: Path
) -> None:
    """Batch inference on this stack from a folder of Parquet parts in the S3 server, read and
    written through the artifact store's credentials: the predictions land in S3, complete with
    `_SUCCESS`, and the Evidently report (an HTML artifact there too) comes back from the endpoint
    the dashboard's artifact view calls, with the run's numbers."""
    batch = tmp_path / "shifted.parquet"
    done = servers.cli("simulate", "--drift", "1.0", "--rows", "300", "--out", str(batch))
    assert done.returncode == 0, done.stderr[-3000:]
    rows = pd.read_parquet(batch)
    s3: Any = servers.s3()
    for index, part in enumerate((rows.iloc[:120], rows.iloc[120:])):
        s3.put_object(
            Bucket="zenml-artifacts",
            Key=f"batches/shifted/part-{index}.parquet",
            Body=part.to_parquet(index=False),
        )
    config = yaml.safe_load((PROJECT_ROOT / "configs" / "batch_inference.yaml").read_text())
    config["parameters"]["output"] = {"folder": "s3://zenml-artifacts/predictions"}
    (tmp_path / "batch.yaml").write_text(yaml.safe_dump(config))
    done = servers.cli(
        "--pipeline", "batch-inference", "--config", str(tmp_path / "batch.yaml"),
        "--data", "s3://zenml-artifacts/batches/shifted/",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    listed = s3.list_objects_v2(Bucket="zenml-artifacts", Prefix="predictions/")["Contents"]
    names = sorted(item["Key"].rsplit("/", 1)[1] for item in listed)
    assert names == ["_SUCCESS", "part-00000.parquet", "part-00001.parquet"]
    parts = [item["Key"] for item in listed if "part-" in item["Key"]]
    scored = sum(
        len(pd.read_parquet(io.BytesIO(s3.get_object(Bucket="zenml-artifacts", Key=key)["Body"].read())))
        for key in parts
    )
    assert scored == 300
    found = servers.run(sys.executable, "-c", FIND_REPORT)
    assert found.returncode == 0, found.stderr[-3000:]
    report = json.loads(last_line(found.stdout))
    visualization = requests.get(
        f"{servers.zenml_url}/api/v1/artifact_versions/{report['report']}/visualize",
        params={"index": 0},
        timeout=60,
    ).json()

    assert report["uri"].startswith("s3://zenml-artifacts/")
    assert visualization["type"] == "html"
    assert f"({round(report['drift_share'] * 30)} out of 30)" in visualization["value"]


def test_s3_server_dying_mid_run_fails_clearly_and_leaves_production(servers: Servers) -> None:
    """Fault drill: kill -9 the S3 server while a training run writes to it."""
    before = servers.production()
    s3_pid = int(servers.state()["s3"]["pids"][0])  # type: ignore[index]
    run = subprocess.Popen(
        [sys.executable, "run.py", "--pipeline", "training", "--no-cache"],
        cwd=PROJECT_ROOT,
        env=servers.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    assert run.stdout is not None
    for line in run.stdout:
        output.append(line)
        if "train_model" in line and "has started" in line:  # the line carries colour codes
            os.kill(s3_pid, signal.SIGKILL)
            break
    output += run.stdout.readlines()
    assert run.wait(600) == 1, "".join(output)[-3000:]
    assert "error: " in last_line("".join(output)) and "artifact store" in last_line("".join(output))

    restarted = servers.cli("servers", "up", "s3", timeout=300)
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    assert servers.production() == before  # same version, and its model loads from the restarted store


def test_servers_down_stops_exactly_what_up_started(servers: Servers) -> None:
    processes = _recorded_processes(servers)
    assert processes
    stopped = servers.cli("servers", "down", timeout=300)
    assert stopped.returncode == 0, stopped.stderr[-3000:]
    assert last_line(stopped.stdout) == "stopped: zenml, mlflow, mysql, postgres, s3"
    time.sleep(1)
    assert [
        process.pid for process in processes if process.is_running() and process.status() != "zombie"
    ] == []
    assert servers.cli("servers", "status").stdout.strip() == "no servers started from this run folder"
