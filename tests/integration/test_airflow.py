"""The `airflow` stack as a new user meets it: `servers up zenml airflow`, register, set, train.

A real Airflow 3 (its environment made once in the user's cache by `servers up`, its database in
a run folder of this module's own; API server, scheduler and DAG processor on 127.0.0.1) runs the
DAG ZenML writes; every step is a subprocess of this project's Python. The ZenML server is up
too, so the run is where the dashboard shows it. Everything is stopped afterwards and no run is
left unfinished.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import requests

from tests.integration.conftest import run_cli, servers_env, zenml_login

pytestmark = pytest.mark.servers

ZENML = str(Path(sys.executable).parent / "zenml")


@dataclass(frozen=True)
class AirflowServers:
    env: dict[str, str]
    folder: Path
    airflow_url: str
    zenml_url: str

    def cli(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, timeout=timeout, env=self.env)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowServers]:
    env = servers_env(tmp_path_factory.mktemp("airflow"), "airflow", "zenml", "mysql")
    servers = AirflowServers(
        env, Path(env["MLOPS_SERVERS_DIR"]), env["LOCAL_AIRFLOW_URL"], env["LOCAL_ZENML_URL"]
    )
    try:
        started = servers.cli("servers", "up", "zenml", "airflow", timeout=900)
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        yield servers
    finally:
        state = (
            json.loads((servers.folder / "state.json").read_text())
            if (servers.folder / "state.json").exists()
            else {}
        )
        servers.cli("servers", "down", timeout=300)
        pids = [pid for entry in state.values() for pid in entry["pids"]]
        assert [
            pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
        ] == []


def test_airflow_is_up_on_loopback_with_a_healthy_scheduler(servers: AirflowServers) -> None:
    health = requests.get(f"{servers.airflow_url}/api/v2/monitor/health", timeout=30).json()
    assert {part: health[part]["status"] for part in ("metadatabase", "scheduler", "dag_processor")} == {
        "metadatabase": "healthy",
        "scheduler": "healthy",
        "dag_processor": "healthy",
    }
    state = json.loads((servers.folder / "state.json").read_text())
    listening = {
        connection.laddr.ip
        for pid in state["airflow"]["pids"]
        for process in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
        for connection in process.net_connections(kind="inet")
        if connection.status == psutil.CONN_LISTEN
    }
    assert listening == {"127.0.0.1"}


def test_training_runs_as_an_airflow_dag_run_and_completes_in_zenml(servers: AirflowServers) -> None:
    for args in (["stack", "register", "airflow"],):
        done = servers.cli(*args)
        assert done.returncode == 0, done.stderr[-3000:]
    activated = subprocess.run(
        [ZENML, "stack", "set", "airflow"], env=servers.env, capture_output=True, text=True
    )
    assert activated.returncode == 0, activated.stderr[-3000:]

    trained = servers.cli("--pipeline", "training")
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
    assert "on stack 'airflow'" in trained.stdout

    # ZenML (through the server the dashboard reads) has the run completed, with Airflow's run id.
    api = f"{servers.zenml_url}/api/v1"
    run = zenml_login(servers.zenml_url, servers.folder).get(
        f"{api}/runs", params={"size": "1", "sort_by": "desc:created", "hydrate": "true"}, timeout=30
    )
    item = run.json()["items"][0]
    assert item["body"]["status"] == "completed"
    metadata = item["metadata"]["run_metadata"]
    dag_id = metadata["airflow_dag_id"]
    airflow_run_id = item["metadata"]["orchestrator_run_id"]

    # Airflow has the DagRun of that id, succeeded, with one successful task per step.
    dag_run = requests.get(f"{servers.airflow_url}/api/v2/dags/{dag_id}/dagRuns/{airflow_run_id}", timeout=30)
    assert dag_run.json()["state"] == "success"
    tasks = requests.get(
        f"{servers.airflow_url}/api/v2/dags/{dag_id}/dagRuns/{airflow_run_id}/taskInstances", timeout=30
    ).json()["task_instances"]
    assert sorted((task["task_id"], task["state"]) for task in tasks) == [
        (step, "success")
        for step in sorted(
            [
                "ingest_data",
                "validate_data",
                "split_data",
                "train_model",
                "evaluate_model",
                "promote_model",
                "write_model_card",
            ]
        )
    ]
    assert not Path(metadata["airflow_dag_file"]).exists()  # removed once the run finished
