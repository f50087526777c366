"""`python run.py --pipeline training` on the `kubeflow` stack compiles a valid KFP v2 pipeline spec.

No KFP server or Kubernetes can run here. ZenML's Kubeflow orchestrator compiles the spec and
writes it to disk before it calls the KFP API; the API here is a stand-in on 127.0.0.1 that says it
is healthy and refuses the run, so the CLI must exit with one line naming the orchestrator and the
run must end `failed`, never stuck in `provisioning`. The spec is then read with kfp's own loaders.
A remote orchestrator refuses the client's own local store, so the client uses a ZenML config folder
of its own and talks to a `zenml login --local` server started from another one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import free_port, last_line

pytestmark = pytest.mark.servers

ZENML = str(Path(sys.executable).parent / "zenml")
SOURCES = {  # each step of the training pipeline and the module that defines it
    "ingest_data": "steps.ingest.ingest_data",
    "validate_data": "steps.validate.validate_data",
    "split_data": "steps.split.split_data",
    "train_model": "steps.train.train_model",
    "evaluate_model": "steps.evaluate.evaluate_model",
    "promote_model": "steps.promote.promote_model",
    "write_model_card": "steps.model_card.write_model_card",
}
STEPS = list(SOURCES)
STEP_ENTRYPOINT = "zenml.entrypoints.step_entrypoint_configuration.StepEntrypointConfiguration"
IMAGE = "registry.example.com/zenml/zenml-mlops-template:test"
RUN_STATE = """
import json
from zenml.client import Client
run = Client().list_pipeline_runs(pipeline="training", sort_by="desc:created", size=1).items[0]
run = Client().get_pipeline_run(run.id)
steps = run.snapshot.step_configurations
print(json.dumps({"status": run.status.value, "snapshot": str(run.snapshot.id),
                  "sources": {name: step.spec.source.import_path for name, step in steps.items()}}))
"""


class RefusingKfpApi(BaseHTTPRequestHandler):
    """A KFP API that is healthy and refuses every run, as a cluster without quota would."""

    seen: ClassVar[list[str]] = []

    def _answer(self) -> None:
        path = self.path.split("?")[0]
        self.seen.append(f"{self.command} {path}")
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        healthy = path.endswith("/healthz")
        body = json.dumps({"multi_user": False} if healthy else {"error": "refused by the test"}).encode()
        self.send_response(200 if healthy else 503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@dataclass(frozen=True)
class Compiled:
    cli: subprocess.CompletedProcess[str]
    specs: list[Path]
    run: dict[str, Any]
    kfp_requests: list[str]
    store_url: str
    env: dict[str, str]


def _run(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Compiled]:
    server_env = {**os.environ, "ZENML_CONFIG_PATH": str(tmp_path_factory.mktemp("zenml-server"))}
    zenml_port, kfp_port = free_port(), free_port()
    started = _run(
        [ZENML, "login", "--local", "--ip-address", "127.0.0.1", "--port", str(zenml_port)], server_env
    )
    assert started.returncode == 0, started.stderr[-3000:]
    client_config = tmp_path_factory.mktemp("zenml-client")
    env = {
        **os.environ,
        "ZENML_CONFIG_PATH": str(client_config),
        "ZENML_STORE_URL": f"http://127.0.0.1:{zenml_port}",
        "KFP_HOST": f"http://127.0.0.1:{kfp_port}/pipeline",
        # The image holds code and dependencies; nothing may go to S3 (a closed port here).
        "KUBEFLOW_SKIP_BUILD": "true",
        "KUBEFLOW_PARENT_IMAGE": IMAGE,
        "ZENML_S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        "ZENML_DISABLE_PIPELINE_LOGS_STORAGE": "true",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    kfp_api = ThreadingHTTPServer(("127.0.0.1", kfp_port), RefusingKfpApi)
    threading.Thread(target=kfp_api.serve_forever, daemon=True).start()
    try:
        for command in (
            [sys.executable, "run.py", "stack", "register", "kubeflow"],
            [ZENML, "stack", "set", "kubeflow"],
        ):
            done = _run(command, env)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        cli = _run([sys.executable, "run.py", "--pipeline", "training"], env)
        state = _run([sys.executable, "-c", RUN_STATE], env)
        assert state.returncode == 0, state.stderr[-3000:]
        yield Compiled(
            cli=cli,
            specs=sorted(client_config.glob("kubeflow/*/pipelines/*.yaml")),
            run=json.loads(last_line(state.stdout)),
            kfp_requests=list(RefusingKfpApi.seen),
            store_url=env["ZENML_STORE_URL"],
            env=env,
        )
    finally:
        kfp_api.shutdown()
        _run([ZENML, "logout", "--local"], server_env, timeout=120)


def test_a_refused_run_exits_with_one_line_and_ends_failed(compiled: Compiled) -> None:
    assert compiled.cli.returncode == 1, compiled.cli.stdout[-3000:] + compiled.cli.stderr[-3000:]
    message = last_line(compiled.cli.stderr)
    assert message.startswith(
        "error: orchestrator 'kubeflow-orchestrator' (kubeflow) did not start run training-"
    )
    assert "no step ran, nothing was promoted" in message
    assert compiled.run["status"] == "failed"
    assert compiled.kfp_requests[0].endswith("/apis/v2beta1/healthz")  # spec compiled, then KFP asked


def test_the_spec_loads_with_kfp_and_runs_each_step_from_the_image(compiled: Compiled) -> None:
    from google.protobuf import json_format
    from kfp import components
    from kfp.pipeline_spec import pipeline_spec_pb2

    assert len(compiled.specs) == 1
    path = compiled.specs[0]
    spec = json_format.ParseDict(yaml.safe_load(path.read_text()), pipeline_spec_pb2.PipelineSpec())
    component = components.load_component_from_file(str(path))
    executors = json_format.MessageToDict(spec.deployment_spec)["executors"]
    tasks = {task.task_info.name: task for task in spec.root.dag.tasks.values()}

    assert component.name == spec.pipeline_info.name and spec.schema_version == "2.1.0"
    assert sorted(tasks) == sorted(STEPS)
    depends = {
        name: {spec.root.dag.tasks[d].task_info.name for d in task.dependent_tasks}
        for name, task in tasks.items()
    }
    assert depends["validate_data"] == {"ingest_data"} and "evaluate_model" in depends["promote_model"]
    assert compiled.run["sources"] == SOURCES
    for name, task in tasks.items():
        container = executors[spec.components[task.component_ref.name].executor_label]["container"]
        args = container["args"]
        env = {item["name"]: item.get("value") for item in container["env"]}
        assert container["image"] == IMAGE
        assert container["command"] == ["python", "-m", "zenml.entrypoints.entrypoint"]
        assert args[args.index("--entrypoint_config_source") + 1] == STEP_ENTRYPOINT
        assert args[args.index("--step_name") + 1] == name
        assert args[args.index("--snapshot_id") + 1] == compiled.run["snapshot"]
        assert env["ZENML_STORE_URL"] == compiled.store_url


def test_an_unreachable_kfp_api_leaves_no_run_provisioning(compiled: Compiled) -> None:
    """ZenML's orchestrator only logs a KFP API it cannot reach and returns; the CLI says so in one
    line and marks the never-started run failed."""
    env = {**compiled.env, "KFP_HOST": f"http://127.0.0.1:{free_port()}/pipeline"}  # nothing listens
    registered = _run([sys.executable, "run.py", "stack", "register", "kubeflow"], env)
    assert registered.returncode == 0, registered.stderr[-3000:]
    cli = _run([sys.executable, "run.py", "--pipeline", "training"], env)
    state = _run([sys.executable, "-c", RUN_STATE], env)

    assert cli.returncode == 1, cli.stdout[-3000:] + cli.stderr[-3000:]
    assert "did not start run training-" in last_line(cli.stderr)
    assert "the run is marked failed" in last_line(cli.stderr)
    assert json.loads(last_line(state.stdout))["status"] == "failed"
