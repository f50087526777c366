"""The Seldon apply path: ZenML's SeldonClient and the real `kubernetes` client against an API stand-in.

No Kubernetes API server runs here, so a small HTTP server on 127.0.0.1 plays the SeldonDeployment
endpoints of one. It refuses bodies the real CRD refuses (422, as the API server does), keeps what it
accepts, and reports a deployment Available only if `modelUri/model.joblib` loads with joblib and
predicts, which is what MLServer's sklearn runtime does in the pod. What this proves: the manifest
leaves the project intact (protocol v2 included), the staged model file is servable, and a failing
rollout is rolled back. What it cannot prove: Seldon Core itself; that needs a cluster (README).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import joblib
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from core.errors import ConfigError, DeploymentError
from stacks.seldon.cluster import apply_manifest, served_model_uri, stage_model
from stacks.seldon.manifest import render_seldon_deployment, validate_manifest
from stacks.seldon.settings import SeldonSettings

NAMESPACE = "zenml-workloads"
PREFIX = f"/apis/machinelearning.seldon.io/v1/namespaces/{NAMESPACE}/seldondeployments"


def servable_state(spec: dict[str, Any]) -> dict[str, Any]:
    """Available if the model file loads and predicts, as MLServer's sklearn runtime needs."""
    uri = spec["predictors"][0]["graph"]["modelUri"]
    try:
        model = joblib.load(Path(uri) / "model.joblib")
        model.predict(load_breast_cancer(as_frame=True).data.head(2))
    except Exception as error:
        message = f"{type(error).__name__}: {error}"
        ready = {"type": "Ready", "status": "False", "reason": "ModelLoadFailed", "message": message}
        return {"state": "Failed", "description": message, "conditions": [ready]}
    return {"state": "Available", "conditions": [{"type": "Ready", "status": "True"}]}


class KubeStandIn(BaseHTTPRequestHandler):
    objects: dict[str, dict[str, Any]]
    requests: list[tuple[str, str]]

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        return body

    def _store(self, name: str, body: dict[str, Any], status: int) -> None:
        body.pop("status", None)  # the CRD has a status subresource: writes to the object ignore it
        try:
            validate_manifest({**body, "metadata": {**body["metadata"], "namespace": NAMESPACE}})
        except ConfigError as error:
            self._reply(422, {"kind": "Status", "status": "Failure", "message": str(error), "code": 422})
            return
        body["status"] = servable_state(body["spec"])
        self.objects[name] = body
        self._reply(status, body)

    def do_GET(self) -> None:
        self.requests.append(("GET", self.path))
        name = urlsplit(self.path).path.removeprefix(PREFIX + "/")
        if name not in self.objects:
            self._reply(404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404})
        else:
            self._reply(200, self.objects[name])

    def do_POST(self) -> None:
        self.requests.append(("POST", self.path))
        body = self._body()
        if body["metadata"]["name"] in self.objects:
            self._reply(409, {"kind": "Status", "status": "Failure", "reason": "AlreadyExists", "code": 409})
            return
        self._store(body["metadata"]["name"], body, 201)

    def do_DELETE(self) -> None:
        self.requests.append(("DELETE", self.path))
        name = urlsplit(self.path).path.removeprefix(PREFIX + "/")
        if self.objects.pop(name, None) is None:
            self._reply(404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404})
        else:
            self._reply(200, {"kind": "Status", "status": "Success", "code": 200})

    def do_PATCH(self) -> None:  # a merge patch of the whole object, as SeldonClient sends it
        self.requests.append(("PATCH", self.path))
        name = urlsplit(self.path).path.removeprefix(PREFIX + "/")
        if name not in self.objects:
            self._reply(404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404})
            return
        patch = self._body()
        merged = {**self.objects[name], **patch, "spec": patch.get("spec", self.objects[name]["spec"])}
        self._store(name, merged, 200)


@pytest.fixture
def cluster() -> Iterator[tuple[Any, type[KubeStandIn]]]:
    from kubernetes import client as k8s_client
    from zenml.integrations.seldon.seldon_client import SeldonClient

    handler = type("Handler", (KubeStandIn,), {"objects": {}, "requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    configuration = k8s_client.Configuration()
    configuration.host = f"http://127.0.0.1:{server.server_address[1]}"
    seldon = SeldonClient(context=None, namespace=NAMESPACE, kube_client=k8s_client.ApiClient(configuration))
    try:
        yield seldon, handler
    finally:
        server.shutdown()
        server.server_close()


def fitted_model() -> Pipeline:
    data = load_breast_cancer(as_frame=True)
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(data.data, data.target)


def manifest_for(store: Path, version: str, model: Any) -> dict[str, Any]:
    uri = stage_model(model, served_model_uri(str(store), "breast_cancer", version))
    settings = SeldonSettings(namespace=NAMESPACE, replicas=2)
    return render_seldon_deployment("breast_cancer", "breast_cancer", version, uri, settings)


def test_staged_model_is_a_joblib_file_that_predicts(tmp_path: Path) -> None:
    model = fitted_model()
    uri = stage_model(model, served_model_uri(str(tmp_path), "m", "3"))

    assert uri == f"{tmp_path}/seldon/m/3"
    loaded = joblib.load(Path(uri) / "model.joblib")
    rows = load_breast_cancer(as_frame=True).data.head(20)
    assert (loaded.predict_proba(rows) == model.predict_proba(rows)).all()


def test_new_deployment_is_created_as_rendered(tmp_path: Path, cluster: Any) -> None:
    seldon, server = cluster
    manifest = manifest_for(tmp_path, "1", fitted_model())

    apply_manifest(seldon, manifest, timeout_seconds=10)

    stored = server.objects["breast-cancer"]
    assert stored["spec"]["protocol"] == "v2"
    assert stored["spec"]["predictors"][0]["replicas"] == 2
    assert stored["spec"]["predictors"][0]["graph"]["modelUri"] == f"{tmp_path}/seldon/breast_cancer/1"
    assert (
        stored["spec"]["predictors"][0]["componentSpecs"]
        == manifest["spec"]["predictors"][0]["componentSpecs"]
    )
    assert stored["metadata"]["labels"]["zenml.model_version"] == "1"
    assert [method for method, _ in server.requests][:2] == ["GET", "POST"]


def test_new_version_updates_the_same_deployment(tmp_path: Path, cluster: Any) -> None:
    seldon, server = cluster
    apply_manifest(seldon, manifest_for(tmp_path, "1", fitted_model()), timeout_seconds=10)

    apply_manifest(seldon, manifest_for(tmp_path, "2", fitted_model()), timeout_seconds=10)

    assert list(server.objects) == ["breast-cancer"]
    graph = server.objects["breast-cancer"]["spec"]["predictors"][0]["graph"]
    assert graph["modelUri"].endswith("/seldon/breast_cancer/2")
    assert ("PATCH", f"{PREFIX}/breast-cancer") in server.requests


def test_failing_rollout_puts_the_previous_spec_back(tmp_path: Path, cluster: Any) -> None:
    seldon, server = cluster
    apply_manifest(seldon, manifest_for(tmp_path, "1", fitted_model()), timeout_seconds=10)
    broken = manifest_for(tmp_path, "2", {"not": "a model"})

    with pytest.raises(DeploymentError, match=r"not available .*AttributeError.*previous spec back"):
        apply_manifest(seldon, broken, timeout_seconds=5)

    stored = server.objects["breast-cancer"]
    assert stored["status"]["state"] == "Available"
    assert stored["spec"]["predictors"][0]["graph"]["modelUri"].endswith("/seldon/breast_cancer/1")


def test_failing_first_deployment_is_deleted_not_left_crashing(tmp_path: Path, cluster: Any) -> None:
    seldon, server = cluster

    with pytest.raises(DeploymentError, match="deleted it"):
        apply_manifest(seldon, manifest_for(tmp_path, "1", "not a model"), timeout_seconds=5)

    assert "breast-cancer" not in server.objects


def test_manifest_the_crd_refuses_never_leaves_the_project(tmp_path: Path, cluster: Any) -> None:
    seldon, server = cluster
    manifest = manifest_for(tmp_path, "1", fitted_model())
    manifest["spec"]["predictors"][0]["replicas"] = "two"

    with pytest.raises(ConfigError, match=r"spec\.predictors\[0\]\.replicas"):
        apply_manifest(seldon, manifest, timeout_seconds=5)

    assert server.requests == []
