"""The drift report where users look: a real local ZenML server with its dashboard on 127.0.0.1.

`zenml login --local` starts the server in a ZenML config folder of this module's own; training and
batch inference run against it through the CLI; the report is then fetched from the endpoint the
dashboard's artifact view calls, as the browser would. The server is stopped afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import free_port

pytestmark = pytest.mark.integration

ZENML = str(Path(sys.executable).parent / "zenml")
FIND_REPORT = """
import json
from zenml.client import Client
run = Client().list_pipeline_runs(pipeline="batch_inference", sort_by="desc:created", size=1).items[0]
report = run.steps["check_data_drift"].outputs["drift_report"][0]
share = run.run_metadata["drift_share"]
print(json.dumps({"run": str(run.id), "report": str(report.id), "drift_share": share}))
"""


def run(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    env = {
        **os.environ,
        "ZENML_CONFIG_PATH": str(tmp_path_factory.mktemp("zenml-server-client")),
        "ZENML_AUTO_OPEN_DASHBOARD": "false",
    }
    port = free_port()
    run([ZENML, "login", "--local", "--ip-address", "127.0.0.1", "--port", str(port)], env, timeout=300)
    try:
        yield f"http://127.0.0.1:{port}", env
    finally:
        subprocess.run([ZENML, "logout", "--local"], env=env, capture_output=True, timeout=120, check=False)


def test_drift_report_is_served_to_the_dashboard(server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    url, env = server
    batch = tmp_path / "shifted.csv"
    run([sys.executable, "run.py", "simulate", "--drift", "1.0", "--rows", "300", "--out", str(batch)], env)
    run([sys.executable, "run.py", "--pipeline", "training"], env)
    run([sys.executable, "run.py", "--pipeline", "batch-inference", "--data", str(batch)], env)

    found = json.loads(run([sys.executable, "-c", FIND_REPORT], env).stdout.strip().splitlines()[-1])
    page = requests.get(f"{url}/runs/{found['run']}", timeout=30)
    visualization = requests.get(
        f"{url}/api/v1/artifact_versions/{found['report']}/visualize", params={"index": 0}, timeout=60
    ).json()

    assert page.ok and "<html" in page.text.lower()
    assert visualization["type"] == "html"
    assert f"({round(found['drift_share'] * 30)} out of 30)" in visualization["value"]
