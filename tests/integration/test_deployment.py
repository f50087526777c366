"""Deployment end to end: a real MLServer on 127.0.0.1, started and switched by the project's
deployer, spoken to over V2; and the Seldon manifest checked against the real CRD.

The module trains its own model, deploys it once, and removes every server it started. The load
drill (marker `load`) runs against the same server.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import psutil
import pytest
import requests
import yaml
from sklearn.datasets import load_breast_cancer
from zenml.client import Client
from zenml.enums import ModelStages, StackComponentType
from zenml.stack.stack_component import StackComponent

from core.compilation import PROBABILITY_TOLERANCE
from core.v2_client import V2Client, encode_request
from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import free_port, last_line, run_cli

pytestmark = [pytest.mark.store, pytest.mark.servers]

MODEL = "served_classifier"  # compiled to ONNX (the default runtime for this model)
FALLBACK = "fallback_classifier"  # an estimator without an ONNX converter: the pipeline serves
MAX_ROWS = 50
MAX_REQUEST_BYTES = 65_536  # well above MAX_ROWS rows' V2 JSON (~12 KB)
# The load drill: 20,000 requests at 8 connections, one in ten malformed, a redeploy in the middle.
TOTAL_REQUESTS = 20_000
CONNECTIONS = 8
MALFORMED_EVERY = 10
REDEPLOY_AFTER = 6_000
REQUESTS_AFTER_SWITCH = 500  # so the last answers come from the new version
MAX_RSS_GROWTH_MB = 150  # the second model version is loaded beside the first during the switch


def features(rows: int, offset: int = 0) -> pd.DataFrame:
    frame = load_breast_cancer(as_frame=True).frame.drop(columns="target")
    return frame.iloc[offset : offset + rows].reset_index(drop=True)


def production() -> Any:
    return Client().get_model_version(MODEL, ModelStages.PRODUCTION)


def deployer() -> Any:
    model = Client().get_stack_component(StackComponentType.MODEL_DEPLOYER, "mlserver-local")
    return StackComponent.from_model(model)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def deploy_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = yaml.safe_load((PROJECT_ROOT / "configs" / "deployment.yaml").read_text())
    config["parameters"].setdefault("mlserver", {}).update(
        port=free_port(), max_rows=MAX_ROWS, max_request_bytes=MAX_REQUEST_BYTES, timeout_seconds=300
    )
    path = tmp_path_factory.mktemp("deployment") / "deployment.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def endpoint(deploy_config: Path) -> Iterator[str]:
    """Train MODEL, deploy its production version, yield the base URL; stop every server after."""
    ok(run_cli("--pipeline", "training", "--model-name", MODEL))
    try:
        ok(run_cli("--pipeline", "deployment", "--config", str(deploy_config), "--model-name", MODEL))
        run = Client().list_pipeline_runs(pipeline="deployment", sort_by="desc:created", size=1).items[0]
        yield str(run.run_metadata["prediction_url"])
    finally:
        model_deployer = deployer()
        for service in model_deployer.services_of(MODEL):
            model_deployer.delete_model_server(service.uuid, force=True)


@pytest.fixture
def client(endpoint: str) -> V2Client:
    return V2Client(endpoint, MODEL, timeout_seconds=30)


@pytest.fixture(scope="module")
def fallback_endpoint(
    endpoint: str, deploy_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """FALLBACK, an estimator skl2onnx has no converter for, served by its scikit-learn pipeline
    beside MODEL's ONNX model, asking for the same preferred port."""
    training = yaml.safe_load((PROJECT_ROOT / "configs" / "training.yaml").read_text())
    training["parameters"]["train"] = {"estimator": "sklearn.gaussian_process.GaussianProcessClassifier"}
    path = tmp_path_factory.mktemp("fallback") / "training.yaml"
    path.write_text(yaml.safe_dump(training))
    ok(run_cli("--pipeline", "training", "--config", str(path), "--model-name", FALLBACK))
    try:
        ok(run_cli("--pipeline", "deployment", "--config", str(deploy_config), "--model-name", FALLBACK))
        (service,) = deployer().services_of(FALLBACK)
        yield str(service.base_url)
    finally:
        run_cli("deployment", "stop", "--model-name", FALLBACK)


@pytest.fixture(params=["onnx", "sklearn"])
def served(request: pytest.FixtureRequest) -> tuple[str, V2Client]:
    """Each runtime's endpoint: the compiled model (MODEL) and the pipeline fallback (FALLBACK)."""
    if request.param == "onnx":
        return "onnx", V2Client(request.getfixturevalue("endpoint"), MODEL, timeout_seconds=30)
    return "sklearn", V2Client(request.getfixturevalue("fallback_endpoint"), FALLBACK, timeout_seconds=30)


def test_endpoint_is_on_loopback_and_declares_its_contract(served: tuple[str, V2Client]) -> None:
    runtime, client = served
    assert client.base_url.startswith("http://127.0.0.1:")
    metadata = client.metadata()
    inputs = {item["name"]: item["datatype"] for item in metadata["inputs"]}
    assert list(inputs) == list(features(1).columns)
    assert set(inputs.values()) == {"FP64"}
    outputs = {item["name"]: item for item in metadata["outputs"]}
    assert outputs["label"]["datatype"] == "INT64"
    assert outputs["probabilities"]["shape"] == [-1, 2]
    assert requests.get(f"{client.base_url}/v2/health/ready", timeout=10).ok
    name = MODEL if runtime == "onnx" else FALLBACK
    status = ok(run_cli("deployment", "status", "--model-name", name)).stdout
    reason = (
        "compiled to ONNX: identical labels" if runtime == "onnx" else "no ONNX converter for this pipeline"
    )
    assert f"runtime: {runtime} ({reason}" in status


def test_v2_answers_equal_in_process_predictions(served: tuple[str, V2Client]) -> None:
    runtime, client = served
    rows = features(40, offset=100)
    version = Client().get_model_version(client.model_name, ModelStages.PRODUCTION)
    model = version.get_model_artifact("model").load()  # type: ignore[union-attr]

    answered = client.predict(rows)

    assert answered.model_version == str(version.number)
    assert answered.labels == model.predict(rows).tolist()
    assert answered.classes == ["0", "1"]
    tolerance = PROBABILITY_TOLERANCE if runtime == "onnx" else 1e-12  # float32 inside ONNX
    np.testing.assert_allclose(answered.probabilities, model.predict_proba(rows), rtol=0, atol=tolerance)


def _body(frame: pd.DataFrame) -> dict[str, Any]:
    return encode_request(frame)


def _with_input(change: Callable[[list[dict[str, Any]]], object]) -> dict[str, Any]:
    body = _body(features(3))
    change(body["inputs"])
    return body


BAD_REQUESTS: dict[str, tuple[dict[str, Any], int, str]] = {
    "unknown column": (
        _with_input(lambda inputs: inputs.append({**inputs[0], "name": "shoe size"})),
        400,
        "column 'shoe size': the model has no such input",
    ),
    "missing column": (_with_input(lambda inputs: inputs.pop(0)), 400, "column 'mean radius': missing"),
    "wrong type": (
        _with_input(lambda inputs: inputs[1].update(datatype="BYTES", data=["big", "small", "big"])),
        400,
        "column 'mean texture': expected numbers, got 'big'",
    ),
    "wrong shape": (
        _with_input(lambda inputs: inputs[0].update(shape=[5])),
        400,
        "input 'mean radius': shape [5] holds 5 values but 3 were sent",
    ),
    "ragged columns": (
        _with_input(lambda inputs: inputs[0].update(shape=[2], data=inputs[0]["data"][:2])),
        400,
        "inputs have different numbers of rows",
    ),
    "no inputs": ({"parameters": {"content_type": "pd"}, "inputs": []}, 400, "no inputs"),
    "oversized": (_body(features(MAX_ROWS + 1)), 413, f"the limit is {MAX_ROWS}"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS), ids=list(BAD_REQUESTS))
def test_bad_request_gets_4xx_naming_the_problem_and_server_stays_up(
    served: tuple[str, V2Client], case: str
) -> None:
    _, client = served
    body, status, message = BAD_REQUESTS[case]

    response = requests.post(f"{client.model_url}/infer", json=body, timeout=30)

    assert response.status_code == status, response.text
    assert message in response.json()["error"]
    assert client.is_ready()
    assert len(client.predict(features(2)).labels) == 2


def test_a_body_over_the_byte_limit_gets_413_before_it_is_read(client: V2Client) -> None:
    """Refused by size alone: the body is not even JSON (a 400, were it parsed), declared, streamed
    without a length, or gzip-encoded small and decoding large; a gzip body within the limit is served."""
    url = f"{client.model_url}/infer"
    over = b"{" * (MAX_REQUEST_BYTES + 1)
    refusals = {
        "declared": {"data": over},
        "streamed": {"data": iter([over[:1000], over[1000:]])},
        "gzip bomb": {
            "data": gzip.compress(b" " * (100 * MAX_REQUEST_BYTES)),
            "headers": {"Content-Encoding": "gzip"},
        },
    }
    error = f"request body over {MAX_REQUEST_BYTES} bytes, the limit (mlserver.max_request_bytes)"

    for how, request in refusals.items():
        response = requests.post(url, timeout=30, **request)  # type: ignore[arg-type]
        assert (response.status_code, response.json()) == (413, {"error": error}), how
    honest = gzip.compress(json.dumps(_body(features(3))).encode())
    response = requests.post(url, data=honest, headers={"Content-Encoding": "gzip"}, timeout=30)
    assert response.status_code == 200, response.text
    assert len(response.json()["outputs"][0]["data"]) == 3
    assert client.is_ready()


def test_predict_command_writes_the_rows_with_their_predictions(endpoint: str, tmp_path: Path) -> None:
    """The file may hold columns the model does not take (a label, an id): they are not sent, and
    they stay beside the answers."""
    data, out = tmp_path / "rows.csv", tmp_path / "predictions.parquet"
    rows = features(7).assign(customer_id=range(7), target=1)
    rows.to_csv(data, index=False)

    result = run_cli("predict", "--data", str(data), "--out", str(out), "--model-name", MODEL)

    ok(result)
    written = pd.read_parquet(out)
    answers = ["prediction", "proba_0", "proba_1", "model_version", "request_id", "request_row"]
    assert list(written.columns) == [*rows.columns, *answers]
    assert written["request_id"].nunique() == 1 and written["request_row"].tolist() == list(range(7))
    assert written["customer_id"].tolist() == list(range(7))
    np.testing.assert_allclose(written[["proba_0", "proba_1"]].sum(axis=1), 1.0)


def server_process(base_url: str) -> psutil.Process:
    port = int(base_url.rsplit(":", 1)[1])
    for connection in psutil.net_connections(kind="tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port and connection.pid:
            return psutil.Process(connection.pid)
    raise AssertionError(f"nothing listens on port {port}")


@pytest.mark.load
def test_20000_requests_with_malformed_ones_and_a_redeploy_in_the_middle(
    endpoint: str, deploy_config: Path
) -> None:
    """Good requests all succeed before, during and after the switch, malformed ones all get a 4xx,
    the server's memory stays flat, and the same server ends up serving the new version alone."""
    row = features(1)
    good = encode_request(row)
    first, rest = good["inputs"][0], good["inputs"][1:]
    malformed_bodies = [
        {"inputs": []},
        {**good, "inputs": [{**first, "name": "shoe size"}, *rest]},
        {**good, "inputs": [{**first, "datatype": "BYTES", "data": ["big"]}, *rest]},
        {**good, "inputs": [{**first, "shape": [4]}, *rest]},
    ]
    before = production().number
    ok(run_cli("--pipeline", "training", "--model-name", MODEL, "--no-cache"))  # a newer production version
    after = production().number
    assert after == before + 1
    infer = f"{endpoint}/v2/models/{MODEL}/infer"
    server = server_process(endpoint)
    numbers = itertools.count()
    lock = threading.Lock()
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    versions: list[str] = []
    rss: dict[str, float] = {}
    redeploy_due, redeployed = threading.Event(), threading.Event()
    last_request = [0]

    def worker() -> None:
        session = requests.Session()
        # At least TOTAL_REQUESTS, and on until REQUESTS_AFTER_SWITCH more after the redeploy finished.
        while (number := next(numbers)) < max(TOTAL_REQUESTS, last_request[0]) or not redeployed.is_set():
            malformed = number % MALFORMED_EVERY == 0
            body = malformed_bodies[number // MALFORMED_EVERY % len(malformed_bodies)] if malformed else good
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
                        versions.append(str(response.json()["model_version"]))
            if number == 2_000:
                rss["warm"] = server.memory_info().rss / 2**20
            if number == REDEPLOY_AFTER:
                redeploy_due.set()

    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    assert redeploy_due.wait(timeout=600)
    try:
        redeploy = run_cli("--pipeline", "deployment", "--config", str(deploy_config), "--model-name", MODEL)
    finally:
        with lock:  # numbers taken so far: those answered plus at most one in flight per connection
            last_request[0] = sum(outcomes.values()) + CONNECTIONS + REQUESTS_AFTER_SWITCH
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
    assert set(versions) == {str(before), str(after)}  # answered by the old version, then the new one
    assert versions[-1] == str(after)
    services = deployer().services_of(MODEL)
    assert len(services) == 1 and services[0].config.model_version == str(after)
    assert services[0].base_url == endpoint
    assert rss["end"] - rss["warm"] < MAX_RSS_GROWTH_MB, rss
    assert server.is_running()
    print(f"outcomes {dict(outcomes)}, versions {sorted(set(versions))}, MLServer RSS MB {rss}")


def test_broken_model_never_replaces_the_working_endpoint(client: V2Client) -> None:
    from core.errors import DeploymentError
    from stacks.mlserver import repository as model_repository
    from stacks.mlserver.service import MLServerDeploymentConfig, MLServerDeploymentService

    model_deployer = deployer()
    live = model_deployer.services_of(MODEL)[0]
    serving_version = live.config.model_version
    repository = Path(live.config.repository)
    broken = repository / MODEL / "v999"
    broken.mkdir()
    for name in (model_repository.SCHEMA_FILE, model_repository.EXAMPLE_FILE):
        (broken / name).write_bytes((repository / MODEL / f"v{serving_version}" / name).read_bytes())
    (broken / model_repository.MODEL_FILE).write_bytes(b"not a model")
    config = MLServerDeploymentConfig(
        **{**live.config.model_dump(), "model_version": "999", "root_runtime_path": None}
    )

    with pytest.raises(DeploymentError, match="does not load and predict in MLServer"):
        model_deployer.deploy_model(config, MLServerDeploymentService.SERVICE_TYPE, timeout=120)

    assert client.predict(features(3)).model_version == serving_version
    assert model_repository.active_version(repository, MODEL) == serving_version
    assert [s.config.model_version for s in model_deployer.services_of(MODEL)] == [serving_version]


def test_killed_server_comes_back_with_the_next_deployment(
    endpoint: str, client: V2Client, deploy_config: Path
) -> None:
    port = int(endpoint.rsplit(":", 1)[1])
    server = next(
        process
        for process in psutil.process_iter(["name"])
        if any(c.laddr.port == port and c.status == psutil.CONN_LISTEN for c in _connections(process))
    )
    os.kill(server.pid, signal.SIGKILL)
    server.wait(timeout=30)
    assert not client.is_ready()

    ok(run_cli("--pipeline", "deployment", "--config", str(deploy_config), "--model-name", MODEL))

    assert client.is_ready()
    assert client.predict(features(2)).model_version == str(production().number)


def _connections(process: psutil.Process) -> list[Any]:
    try:
        return list(process.net_connections(kind="tcp"))
    except (psutil.AccessDenied, psutil.NoSuchProcess):
        return []


def test_zenml_cli_stops_and_starts_the_deployment(client: V2Client) -> None:
    uuid = str(deployer().services_of(MODEL)[0].uuid)
    zenml = str(Path(sys.executable).with_name("zenml"))

    def model_deployer_cli(*args: str) -> None:
        result = subprocess.run(
            [zenml, "model-deployer", "models", *args, uuid, "--timeout", "180"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

    model_deployer_cli("stop")
    assert not client.is_ready()

    model_deployer_cli("start")
    assert client.is_ready()
    assert client.predict(features(2)).model_version == str(production().number)


def test_seldon_manifest_dry_run_validates_against_the_crd(endpoint: str, tmp_path: Path) -> None:
    from stacks.seldon.manifest import validate_manifest

    out = tmp_path / "seldon.yaml"

    result = run_cli(
        "--pipeline", "deployment", "--model-name", MODEL, "--dry-run", "--manifest-out", str(out)
    )

    ok(result)
    manifest = yaml.safe_load(out.read_text())
    validate_manifest(manifest)
    assert manifest["kind"] == "SeldonDeployment"
    assert manifest["spec"]["protocol"] == "v2"
    predictor = manifest["spec"]["predictors"][0]
    assert predictor["graph"]["implementation"] == "SKLEARN_SERVER"
    version = production()
    model_uri = predictor["graph"]["modelUri"]
    assert model_uri.endswith(f"/seldon/{MODEL}/{version.number}")
    staged = joblib.load(Path(model_uri) / "model.joblib")
    rows = features(10)
    expected = version.get_model_artifact("model").load().predict_proba(rows)
    assert np.array_equal(staged.predict_proba(rows), expected)


def test_two_models_on_the_same_preferred_port_serve_side_by_side(
    endpoint: str, fallback_endpoint: str, client: V2Client
) -> None:
    model_deployer = deployer()
    settings = [
        json.loads((model_deployer.repository(name) / "settings.json").read_text())
        for name in (MODEL, FALLBACK)
    ]
    ports = [server[key] for server in settings for key in ("http_port", "grpc_port", "metrics_port")]

    assert fallback_endpoint != endpoint
    assert len(set(ports)) == 6
    assert client.predict(features(2)).model_version == str(production().number)
    assert V2Client(fallback_endpoint, FALLBACK).predict(features(2)).model_version == "1"


def test_deployment_without_production_version_fails_clearly(deploy_config: Path) -> None:
    result = run_cli(
        "--pipeline", "deployment", "--config", str(deploy_config), "--model-name", "never_trained"
    )

    assert result.returncode == 1
    assert last_line(result.stderr) == (
        "error: model 'never_trained' has no production version; "
        "run `python run.py --pipeline training` first"
    )


def test_v2_error_bodies_are_json(served: tuple[str, V2Client]) -> None:
    _, client = served
    response = requests.post(f"{client.model_url}/infer", data=b"{not json", timeout=30)

    assert 400 <= response.status_code < 500
    json.loads(response.text)


def test_promoting_an_earlier_version_switches_the_live_endpoint_without_a_failed_request(
    endpoint: str, deploy_config: Path
) -> None:
    """`model promote` of an earlier version while requests flow: production and the endpoint's
    answers move to it, every request succeeds, and the reason is recorded."""
    served = production().number
    earlier = max(
        v.number for v in Client().list_model_versions(model=MODEL, size=100).items if v.number < served
    )
    infer = f"{endpoint}/v2/models/{MODEL}/infer"
    body = encode_request(features(1))
    answered: list[str] = []
    failures: list[str] = []
    promoted = threading.Event()

    def traffic() -> None:
        session = requests.Session()
        after_switch = 0
        while after_switch < 50:
            response = session.post(infer, json=body, timeout=30)
            if response.status_code != 200:
                failures.append(f"{response.status_code} {response.text[:200]}")
            else:
                answered.append(str(response.json()["model_version"]))
            after_switch += promoted.is_set()

    threads = [threading.Thread(target=traffic) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        result = run_cli(
            "model",
            "promote",
            str(earlier),
            "--reason",
            "roll back",
            "--model-name",
            MODEL,
            "--config",
            str(deploy_config),
        )
    finally:
        promoted.set()
        for thread in threads:
            thread.join(timeout=300)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"{MODEL} version {earlier} is production (was version {served}): roll back" in result.stdout
    assert failures == []
    assert answered[0] == str(served) and answered[-1] == str(earlier)
    assert production().number == earlier
    manual = production().run_metadata["manual_promotion"]
    assert manual["reason"] == "roll back" and manual["previous_production"] == str(served)
    services = deployer().services_of(MODEL)
    assert len(services) == 1 and services[0].base_url == endpoint


def test_model_control_refuses_callers_without_the_token(endpoint: str, client: V2Client) -> None:
    """A web page can POST to 127.0.0.1 without a pre-flight (no custom header, a simple content
    type): unload, load and index are refused to it and to a wrong token; the model keeps serving."""
    control = f"{endpoint}/v2/repository"
    browser = {"Origin": "https://attacker.example", "Content-Type": "text/plain"}
    refused = [
        requests.post(f"{control}/models/{MODEL}/unload", headers=browser, data="x", timeout=30),
        requests.post(f"{control}/models/{MODEL}/load", timeout=30),
        requests.post(f"{control}/index", json={}, timeout=30),
        requests.post(
            f"{control}/models/{MODEL}/unload", headers={"X-Model-Control-Token": "guess"}, timeout=30
        ),
    ]
    preflight = requests.options(
        f"{control}/models/{MODEL}/unload",
        headers={
            "Origin": "https://attacker.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-model-control-token",
        },
        timeout=30,
    )

    assert [response.status_code for response in refused] == [403] * 4
    assert refused[0].json() == {"error": "model control needs the repository's control token"}
    assert "access-control-allow-origin" not in {name.lower() for name in preflight.headers}
    assert client.predict(features(2)).model_version == str(production().number)


def test_two_deployments_at_once_switch_one_after_the_other(endpoint: str, deploy_config: Path) -> None:
    """Production moves to the newest version while the endpoint serves another; two deployments
    then start together: they take the model's lock in turn, the first switches, the second finds
    the version served. One server, on the same URL, answers as production."""
    newest = max(v.number for v in Client().list_model_versions(model=MODEL, size=100).items)
    Client().get_model_version(MODEL, newest).set_stage(ModelStages.PRODUCTION, force=True)
    command = [sys.executable, "run.py", "--pipeline", "deployment", "--config", str(deploy_config)]
    runs = [
        subprocess.Popen(
            [*command, "--model-name", MODEL],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=600)[0] for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    services = deployer().services_of(MODEL)
    assert [(s.config.model_version, s.base_url) for s in services] == [(str(newest), endpoint)]
    assert V2Client(endpoint, MODEL).predict(features(2)).model_version == str(newest)


def test_a_port_taken_as_the_server_starts_moves_it_to_another(endpoint: str, deploy_config: Path) -> None:
    """Two deployments starting at once can both find a port free; the one that binds second must
    start again elsewhere, not wait out its timeout and fail. Here another listener takes the REST
    port between the deployer's probe and MLServer's bind (the daemon writes the ports into
    `settings.json` just before MLServer starts). Last in the module: the endpoint moves."""
    model_deployer = deployer()
    (service,) = model_deployer.services_of(MODEL)
    settings = model_deployer.repository(MODEL) / "settings.json"
    written = settings.stat().st_mtime_ns
    thief = socket.socket()
    taken: list[int] = []

    def take_the_port() -> None:
        deadline = time.monotonic() + 120
        while settings.stat().st_mtime_ns == written and time.monotonic() < deadline:
            time.sleep(0.005)
        port = int(json.loads(settings.read_text())["http_port"])
        thief.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is no owner
        thief.bind(("127.0.0.1", port))
        thief.listen()
        taken.append(port)

    service.stop(timeout=60, force=True)
    watcher = threading.Thread(target=take_the_port)
    watcher.start()
    try:
        result = ok(
            run_cli("--pipeline", "deployment", "--config", str(deploy_config), "--model-name", MODEL)
        )
        watcher.join(timeout=10)
        (moved,) = model_deployer.services_of(MODEL)

        assert taken, "the port was not taken before MLServer bound it"
        assert "starting it on other ports" in result.stdout + result.stderr
        assert moved.base_url is not None and not moved.base_url.endswith(f":{taken[0]}")
        assert V2Client(moved.base_url, MODEL).predict(features(2)).model_version == str(production().number)
    finally:
        thief.close()
