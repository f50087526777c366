"""Load on the local endpoint: 20,000 requests at 8 connections, malformed ones mixed in, a redeploy in
the middle. A real MLServer on 127.0.0.1, started here and stopped after.

Good requests must all succeed (before, during and after the switch), malformed ones must all get a
4xx, and the server's memory must stay flat.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests
import yaml
from sklearn.datasets import load_breast_cancer

from core.v2_client import encode_request
from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import free_port, run_cli

pytestmark = pytest.mark.load

MODEL = "load_model"
TOTAL_REQUESTS = 20_000
CONNECTIONS = 8
MALFORMED_EVERY = 10
REDEPLOY_AFTER = 6_000
MAX_RSS_GROWTH_MB = 150  # the second model version is loaded beside the first during the switch

ROW = load_breast_cancer(as_frame=True).frame.drop(columns="target").head(1)
GOOD = encode_request(ROW)
MALFORMED = [
    {"inputs": []},
    {**GOOD, "inputs": [{**GOOD["inputs"][0], "name": "shoe size"}, *GOOD["inputs"][1:]]},
    {**GOOD, "inputs": [{**GOOD["inputs"][0], "datatype": "BYTES", "data": ["big"]}, *GOOD["inputs"][1:]]},
    {**GOOD, "inputs": [{**GOOD["inputs"][0], "shape": [4]}, *GOOD["inputs"][1:]]},
]


def ok(*args: str) -> str:
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("load")
    config = yaml.safe_load((PROJECT_ROOT / "configs" / "deployment.yaml").read_text())
    config["parameters"]["mlserver"] = {"port": free_port(), "timeout_seconds": 300}
    path = folder / "deployment.yaml"
    path.write_text(yaml.safe_dump(config))
    ok("--pipeline", "training", "--model-name", MODEL)
    try:
        ok("--pipeline", "deployment", "--config", str(path), "--model-name", MODEL)
        status = ok("deployment", "status", "--model-name", MODEL)
        yield status.split("url: ", 1)[1].split()[0], path
    finally:
        run_cli("deployment", "stop", "--model-name", MODEL)


def server_process(base_url: str) -> psutil.Process:
    port = int(base_url.rsplit(":", 1)[1])
    for connection in psutil.net_connections(kind="tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port and connection.pid:
            return psutil.Process(connection.pid)
    raise AssertionError(f"nothing listens on port {port}")


def test_20000_requests_with_malformed_ones_and_a_redeploy_in_the_middle(deployed: tuple[str, Path]) -> None:
    url, config = deployed
    infer = f"{url}/v2/models/{MODEL}/infer"
    ok("--pipeline", "training", "--model-name", MODEL, "--no-cache")  # a newer production version
    server = server_process(url)
    numbers = itertools.count()
    lock = threading.Lock()
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    versions: set[str] = set()
    rss: dict[str, float] = {}
    redeploy_due, redeployed = threading.Event(), threading.Event()

    def worker() -> None:
        session = requests.Session()
        # At least TOTAL_REQUESTS, and on until the redeploy has finished.
        while (number := next(numbers)) < TOTAL_REQUESTS or not redeployed.is_set():
            malformed = number % MALFORMED_EVERY == 0
            body = MALFORMED[number // MALFORMED_EVERY % len(MALFORMED)] if malformed else GOOD
            try:
                response = session.post(infer, json=body, timeout=30)
                status = response.status_code
            except requests.RequestException as error:
                status, response = 0, None
                failures.append(repr(error))
            with lock:
                if malformed:
                    outcomes["malformed 4xx" if 400 <= status < 500 else f"malformed {status}"] += 1
                else:
                    outcomes["good 200" if status == 200 else f"good {status}"] += 1
                    if status == 200 and response is not None:
                        versions.add(str(response.json()["model_version"]))
            if number == 2_000:
                rss["warm"] = server.memory_info().rss / 2**20
            if number == REDEPLOY_AFTER:
                redeploy_due.set()

    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    assert redeploy_due.wait(timeout=600)
    try:
        redeploy = run_cli("--pipeline", "deployment", "--config", str(config), "--model-name", MODEL)
    finally:
        redeployed.set()
    for thread in threads:
        thread.join(timeout=900)
    rss["end"] = server.memory_info().rss / 2**20

    assert redeploy.returncode == 0, redeploy.stderr[-3000:]
    assert failures == []
    sent = sum(outcomes.values())
    assert sent >= TOTAL_REQUESTS
    assert set(outcomes) == {"good 200", "malformed 4xx"}, outcomes  # no other outcome, ever
    assert outcomes["malformed 4xx"] == len(range(0, sent, MALFORMED_EVERY))
    assert len(versions) == 2  # answered by the old version, then by the new one
    assert rss["end"] - rss["warm"] < MAX_RSS_GROWTH_MB, rss
    assert server.is_running()
    print(f"outcomes {dict(outcomes)}, versions {sorted(versions)}, MLServer RSS MB {rss}")
