"""The live loop on real servers: an MLServer endpoint that captures what it answers to the Redis of
`servers up redis`, labels that arrive later, and continuous training on the captured window with
no `--data`, as on the `local-servers` stack.

The module has a ZenML config of its own, trains one model and serves it on a stack named
`local-servers` (so its overlay applies) whose deployer captures as the real one's does; the real one
also runs its artifacts and MLflow on servers this module does not need. It stops every server it
started.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import redis
import requests
import yaml

from core.capture import REQUEST_ID, REQUEST_ROW
from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import free_port, run_cli, servers_env

pytestmark = [pytest.mark.store, pytest.mark.servers]

MODEL = "live_classifier"
STACK = "local-servers"  # configs/overlays/local-servers.yaml: continuous training reads captures
CAPTURES = "inference-captures"
SHIFTED_ROWS = 1_000
LABELED_SHARE = 5  # one row in five gets its label


RedisClient = redis.Redis


@dataclass(frozen=True)
class Loop:
    env: dict[str, str]
    redis: redis.Redis
    capture_account: RedisClient  # the endpoint's, as the stack's deployer logs in
    folder: Path


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


REGISTER_CAPTURING_STACK = """
import sys
from zenml.client import Client
from zenml.enums import StackComponentType as T
client = Client()
local = client.get_stack("local")
client.create_stack_component(
    name="mlserver-capturing", flavor="mlserver", component_type=T.MODEL_DEPLOYER,
    configuration={  # as stacks/local-servers.yaml's
        "capture_url": sys.argv[1],
        "capture_username": "capture",
        "capture_password": "{{local_redis_capture.password}}",
    },
)
client.create_stack(name=sys.argv[2], components={
    T.ORCHESTRATOR: local.components[T.ORCHESTRATOR][0].name,
    T.ARTIFACT_STORE: local.components[T.ARTIFACT_STORE][0].name,
    T.EXPERIMENT_TRACKER: local.components[T.EXPERIMENT_TRACKER][0].name,
    T.MODEL_DEPLOYER: "mlserver-capturing",
})
client.activate_stack(sys.argv[2])
"""


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    """Redis up, MODEL trained on `local`, then served on a stack whose deployer captures."""
    folder = tmp_path_factory.mktemp("live-loop")
    env = servers_env(folder, "redis")
    ok(run_cli("servers", "up", "redis", env=env, timeout=300))
    try:
        credentials = json.loads((Path(env["MLOPS_SERVERS_DIR"]) / "credentials.json").read_text())
        url = f"{env['LOCAL_REDIS_URL']}/0"
        client = redis.Redis.from_url(url, password=credentials["redis_password"], decode_responses=True)
        capture_account = redis.Redis.from_url(
            url,
            username=credentials["redis_capture_username"],
            password=credentials["redis_capture_password"],
            decode_responses=True,
        )
        ok(run_cli("--pipeline", "training", "--model-name", MODEL, env=env))
        script = folder / "register.py"  # ZenML needs a main module with a file to load flavors
        script.write_text(REGISTER_CAPTURING_STACK)
        register = [sys.executable, str(script), f"{env['LOCAL_REDIS_URL']}/0", STACK]
        ok(subprocess.run(register, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False))
        deploy = yaml.safe_load((PROJECT_ROOT / "configs" / "deployment.yaml").read_text())
        deploy["parameters"] = {"mlserver": {"port": free_port()}}
        (folder / "deployment.yaml").write_text(yaml.safe_dump(deploy))
        deployed = ["--pipeline", "deployment", "--config", str(folder / "deployment.yaml")]
        ok(run_cli(*deployed, "--model-name", MODEL, env=env))
        yield Loop(env, client, capture_account, folder)
    finally:
        run_cli("deployment", "stop", "--model-name", MODEL, env=env)
        run_cli("servers", "down", env=env, timeout=300)


def test_served_requests_are_captured_labeled_later_and_drive_retraining(loop: Loop) -> None:
    batch = loop.folder / "shifted.csv"
    ok(
        run_cli(
            "simulate",
            "--drift",
            "1.5",
            "--rows",
            str(SHIFTED_ROWS),
            "--seed",
            "3",
            "--out",
            str(batch),
            env=loop.env,
        )
    )
    answered = loop.folder / "answered.csv"
    ok(run_cli("predict", "--data", str(batch), "--out", str(answered), "--model-name", MODEL, env=loop.env))
    rows = pd.read_csv(answered)
    assert rows[REQUEST_ID].notna().all() and rows[REQUEST_ROW].is_monotonic_increasing

    captured, records = captures_written(loop, SHIFTED_ROWS)
    assert {record["request_id"] for record in records} == set(rows[REQUEST_ID])
    first = records[0]
    sent = rows[rows[REQUEST_ID] == first["request_id"]]
    assert first["predictions"] == sent["prediction"].tolist()
    assert first["inputs"]["mean radius"] == pytest.approx(sent["mean radius"].tolist())

    labels = loop.folder / "labels.csv"
    rows.iloc[::LABELED_SHARE][[REQUEST_ID, REQUEST_ROW, "target"]].to_csv(labels, index=False)
    stored = ok(run_cli("labels", "--data", str(labels), env=loop.env)).stdout
    assert f"{SHIFTED_ROWS // LABELED_SHARE} labels stored in '{CAPTURES}:labels'" in stored

    loop.redis.xadd(CAPTURES, {"record": '{"request_id": "poisoned"}'})  # no inputs, no answers
    result = ok(run_cli("--pipeline", "continuous-training", "--model-name", MODEL, env=loop.env))

    check = [sys.executable, "-c", LATEST_CONTINUOUS_TRAINING]
    facts = json.loads(
        ok(
            subprocess.run(check, env=loop.env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
        ).stdout
    )
    assert facts["retrain_reason"] in ("drift", "both"), result.stdout[-2000:]
    assert facts["labeled_rows"] == SHIFTED_ROWS // LABELED_SHARE
    assert facts["label_coverage"] == pytest.approx(1 / LABELED_SHARE)
    [letter] = facts["dead_lettered"]
    assert "not an entry of captures" in letter["reason"]
    retrained = json.loads(ok(run_cli("model", "show", "--json", "--model-name", MODEL, env=loop.env)).stdout)
    assert str(retrained["version"]) == "2" and retrained["stage"] == "production"
    status = ok(run_cli("deployment", "status", "--model-name", MODEL, env=loop.env)).stdout
    assert "version 2: running" in status and "runtime: onnx" in status, status  # labels kept their type
    [window] = retrained["lineage"]["stream_entries"]
    assert window["stream"] == CAPTURES and window["entries"] == len(captured)  # the poisoned one aside
    assert window["first_id"] == captured[0][0] and window["last_id"] == captured[-1][0]
    pending = loop.redis.xpending(CAPTURES, "mlops-template")
    assert pending["pending"] == 0  # acknowledged once the run (retraining and redeploy) succeeded
    moved: Any = loop.redis.xrange(f"{CAPTURES}:dead-letter")
    assert [fields["reason"] for _, fields in moved] == [letter["reason"]]


def test_the_endpoints_account_appends_captures_and_may_do_nothing_else(loop: Loop) -> None:
    """It wrote every capture above; it reads no capture or label, and writes no other key."""
    assert loop.capture_account.ping()
    refusals: list[Callable[[RedisClient], object]] = [
        lambda account: account.xrange(CAPTURES, count=1),
        lambda account: account.xreadgroup("spy", "spy", {CAPTURES: ">"}, count=1),
        lambda account: account.hget(f"{CAPTURES}:labels", "any/0"),
        lambda account: account.xadd("another-stream", {"record": "{}"}),
        lambda account: account.delete(CAPTURES),
        lambda account: account.config_get("dir"),
        lambda account: account.flushall(),
    ]
    for refused in refusals:
        with pytest.raises(redis.exceptions.NoPermissionError):
            refused(loop.capture_account)
    assert loop.redis.exists("another-stream") == 0


def test_with_the_stream_down_the_endpoint_answers_and_counts_what_it_did_not_capture(loop: Loop) -> None:
    ok(run_cli("servers", "down", env=loop.env, timeout=300))
    batch = loop.folder / "while-down.csv"
    ok(run_cli("simulate", "--rows", "20", "--unlabeled", "--out", str(batch), env=loop.env))

    answered = loop.folder / "answered-while-down.csv"
    ok(run_cli("predict", "--data", str(batch), "--out", str(answered), "--model-name", MODEL, env=loop.env))

    assert pd.read_csv(answered)["prediction"].notna().sum() == 20
    dropped = 0.0
    for _ in range(20):  # the writer gives up on the stream within its socket timeouts
        dropped = capture_counter(loop, "model_capture_dropped_requests_total", 'reason="stream_down"')
        if dropped >= 1:
            break
        time.sleep(0.5)
    assert dropped == 1  # one request of 20 rows, not captured and counted


def captures_written(loop: Loop, rows: int) -> tuple[Any, list[dict[str, Any]]]:
    """The capture stream's entries and the captures they hold, once they hold `rows` rows (the
    writer sends what gathered every 50 ms, off the request path)."""
    for _ in range(50):
        entries: Any = loop.redis.xrange(CAPTURES)
        captures = [capture for _, fields in entries for capture in json.loads(fields["record"])["captures"]]
        if sum(len(capture["predictions"]) for capture in captures) >= rows:
            break
        time.sleep(0.1)
    assert sum(len(capture["predictions"]) for capture in captures) == rows
    return entries, captures


def capture_counter(loop: Loop, name: str, label: str) -> float:
    """A counter of the served model's capture, read from MLServer's metrics endpoint."""
    [settings] = Path(loop.env["ZENML_CONFIG_PATH"]).glob(f"**/repositories/{MODEL}/settings.json")
    port = json.loads(settings.read_text())["metrics_port"]
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    lines = [line for line in text.splitlines() if line.startswith(name) and label in line]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


LATEST_CONTINUOUS_TRAINING = """
import json, sys
from zenml.client import Client
client = Client()
run = client.list_pipeline_runs(pipeline="continuous_training", sort_by="desc:created", size=1).items[0]
metadata = run.run_metadata
print(json.dumps({
    "retrain_reason": metadata["retrain_reason"],
    "labeled_rows": metadata["labeled_rows"],
    "label_coverage": metadata["label_coverage"],
    "dead_lettered": metadata["stream_entries"]["dead_lettered"],
}))
"""
