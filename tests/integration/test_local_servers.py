"""The `local-servers` stack as a new user meets it: `servers up`, register, set, train, `servers down`.

Real servers on free 127.0.0.1 ports (moto's S3 server, an MLflow tracking server with basic auth,
the ZenML server and dashboard with ZenML's login), in a ZenML config folder and run folder of this
module's own. Also the fault drill of the S3 server dying mid-run, and the refusals a stranger gets:
no credentials, wrong ones, and a page of another site in the user's browser.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import pandas as pd
import psutil
import psycopg
import pymysql
import pytest
import requests
import yaml
from botocore.config import Config

from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import last_line, run_cli, servers_env, zenml_login

pytestmark = pytest.mark.servers

ZENML = str(Path(sys.executable).parent / "zenml")
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"  # Debian's, installed by scripts/install-test-tools.sh
# Headless, and quiet: without the networking flags Chromium keeps calling Google on a closed network.
# No WebGL: drawn in software, the login page's animated background takes seconds a frame.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-3d-apis",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
USERS_CLOUD_SESSION = "made-up-cloud-session-of-the-user"  # an AWS_SESSION_TOKEN
FOREIGN = "http://attacker.example"  # the origin of another site's page open in the user's browser
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
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

    def zenml(self) -> requests.Session:
        return zenml_login(self.zenml_url, self.folder)

    def production(self) -> dict[str, object]:
        result = self.run(sys.executable, "-c", PRODUCTION)
        assert result.returncode == 0, result.stderr[-3000:]
        return dict(json.loads(last_line(result.stdout)))

    def s3(self, config: Config | None = None) -> object:
        import boto3

        credentials = self.credentials()
        return boto3.client(
            "s3",
            endpoint_url=self.s3_url,
            aws_access_key_id=credentials["aws_access_key_id"],
            aws_secret_access_key=credentials["aws_secret_access_key"],
            region_name="us-east-1",
            config=config,
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


def _ends_a_line(path: Path) -> bool:
    with path.open("rb") as file:
        file.seek(-1, os.SEEK_END)
        return file.read(1) == b"\n"


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
    # PostgreSQL (MLflow's store) and MySQL (ZenML's) start with what needs them. The user has a cloud
    # session of their own, which no server may receive.
    started = run_cli(
        "servers",
        "up",
        "s3",
        "mlflow",
        "zenml",
        timeout=900,
        env={**env, "AWS_SESSION_TOKEN": USERS_CLOUD_SESSION},
    )
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


def test_no_server_has_the_users_environment_and_the_run_folder_is_its_owners(servers: Servers) -> None:
    """Of the environment `servers up` ran in (the user's own cloud session token in it), each
    server's processes and their children hold only the variables on that server's list, no file in
    the run folder holds the token, and every file and folder in it is its owner's only."""
    from stacks.servers.base import INHERITED
    from stacks.servers.supervisor import SERVERS

    listed = {server.name: {*INHERITED, *server.inherits} for server in SERVERS}
    caller = {**servers.env, "AWS_SESSION_TOKEN": USERS_CLOUD_SESSION}
    passed: dict[str, set[str]] = {}
    for name, entry in servers.state().items():
        for pid in entry["pids"]:  # type: ignore[attr-defined]
            process = psutil.Process(pid)
            for member in (process, *process.children(recursive=True)):
                with contextlib.suppress(psutil.NoSuchProcess):
                    environ = member.environ()
                    passed.setdefault(name, set()).update(k for k, v in environ.items() if caller.get(k) == v)
    files = [path for path in servers.folder.rglob("*") if path.is_file() and not path.is_symlink()]
    folders = [path for path in servers.folder.rglob("*") if path.is_dir() and not path.is_symlink()]
    unlisted = {
        name: sorted(v for v in names if v not in listed[name] and not v.startswith("LC_"))
        for name, names in passed.items()
    }

    assert set(passed) == {"s3", "postgres", "mysql", "mlflow", "zenml"}  # each one's environment was read
    assert unlisted == {name: [] for name in passed}
    assert [path for path in files if USERS_CLOUD_SESSION.encode() in path.read_bytes()] == []
    assert [path for path in (*files, *folders) if path.stat().st_mode & 0o077] == []
    # Database servers started by root run as their own accounts, which pass through (0711), list nothing.
    assert servers.folder.stat().st_mode & 0o777 == (0o711 if os.geteuid() == 0 else 0o700)


def test_zenml_refuses_callers_without_or_with_wrong_credentials(servers: Servers) -> None:
    """No login, a wrong or empty password, a service account's API key with a wrong secret, and the
    account's own token re-signed with another key: each is refused; the right ones get in."""
    from zenml.models import APIKey

    api = f"{servers.zenml_url}/api/v1"
    zenml = servers.zenml()
    token = str(zenml.headers["Authorization"]).removeprefix("Bearer ")
    forged = jwt.encode(jwt.decode(token, options={"verify_signature": False}), "s3cret" * 6, "HS256")
    robot = zenml.post(f"{api}/service_accounts", json={"name": "robot", "active": True}, timeout=30).json()
    key = zenml.post(f"{api}/service_accounts/{robot['id']}/api_keys", json={"name": "ci"}, timeout=30)
    api_key = key.json()["body"]["key"]
    wrong_key = APIKey(id=APIKey.decode_api_key(api_key).id, key="s3cret").encode()

    def login(**form: str) -> requests.Response:
        return requests.post(f"{api}/login", data=form, timeout=30)

    def list_secrets(token: str | None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(f"{api}/secrets", headers=headers, timeout=30)

    account = servers.credentials()["zenml_username"]
    answers = {
        "no credentials": list_secrets(None),
        "wrong password": login(username=account, password="s3cret"),
        "empty password": login(username=account, password=""),
        "wrong API key": login(grant_type="zenml-api-key", password=wrong_key),
        "forged token": list_secrets(forged),
    }

    assert {name: answer.status_code for name, answer in answers.items()} == dict.fromkeys(answers, 401)
    assert list_secrets(token).ok and login(grant_type="zenml-api-key", password=api_key).ok
    assert requests.get(f"{servers.zenml_url}/health", timeout=30).text == "ok"  # `servers up`'s probe


def test_zenml_grants_no_foreign_origin_and_a_foreign_simple_post_plants_nothing(servers: Servers) -> None:
    """CORS for the server's own origin only; a simple POST (no pre-flight) from another site's page
    is refused without a login, and with the dashboard's cookie (which a browser sends along from a
    page on another port of 127.0.0.1: same site) it is no JSON request, so it creates nothing."""
    secrets_url = f"{servers.zenml_url}/api/v1/secrets"
    foreign_preflight = requests.options(secrets_url, headers={"Origin": FOREIGN, **PREFLIGHT}, timeout=30)
    own_preflight = requests.options(
        secrets_url, headers={"Origin": servers.zenml_url, **PREFLIGHT}, timeout=30
    )
    simple = {"Origin": FOREIGN, "Content-Type": "text/plain"}
    body = json.dumps({"name": "planted", "values": {"token": "s3cret"}, "private": False})
    anonymous = requests.post(secrets_url, data=body, headers=simple, timeout=30)
    dashboard = servers.zenml()
    dashboard.headers.pop("Authorization")  # the login's cookie only, as in the user's browser
    with_cookie = dashboard.post(secrets_url, data=body, headers=simple, timeout=30)

    assert "access-control-allow-origin" not in foreign_preflight.headers
    assert own_preflight.headers["access-control-allow-origin"] == servers.zenml_url
    assert (anonymous.status_code, with_cookie.status_code) == (401, 422)
    assert dashboard.get(secrets_url, timeout=30).ok  # the cookie alone does log in
    assert servers.zenml().get(secrets_url, params={"name": "planted"}, timeout=30).json()["items"] == []


HOLD_THE_MODEL_LOCK = """
import time
from steps.locks import model_lock
with model_lock("lease_drill"):
    start = time.time()
    time.sleep(2)
    print(start, time.time())
"""


def test_a_models_lock_holds_across_machines_sharing_the_zenml_server(
    servers: Servers, tmp_path: Path
) -> None:
    """Two clients of the server with ZenML config folders of their own (two machines: their file
    locks cannot see each other) hold the model's lock one after the other, and leave no lease."""
    other_machine = tmp_path / "zenml"
    shutil.copytree(servers.env["ZENML_CONFIG_PATH"], other_machine, ignore=shutil.ignore_patterns("locks"))
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", HOLD_THE_MODEL_LOCK],
            cwd=PROJECT_ROOT,
            env={**servers.env, "ZENML_CONFIG_PATH": config},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for config in (servers.env["ZENML_CONFIG_PATH"], str(other_machine))
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs

    first, second = sorted(tuple(map(float, last_line(stdout).split())) for stdout, _ in outputs)
    assert first[1] <= second[0]  # the second began once the first had ended
    tags = servers.run(
        sys.executable,
        "-c",
        "from zenml.client import Client; print(Client().list_tags(name='contains:model-lock').total)",
    )
    assert last_line(tags.stdout) == "0", tags.stderr[-2000:]


def test_mlflow_refuses_strangers_wrong_passwords_and_foreign_origins(servers: Servers) -> None:
    api = f"{servers.mlflow_url}/api/2.0/mlflow"
    credentials = servers.credentials()
    admin = (credentials["mlflow_username"], credentials["mlflow_password"])
    create = f"{api}/experiments/create"
    simple = {"Origin": FOREIGN, "Content-Type": "text/plain"}
    body = json.dumps({"name": "planted"})

    def search(**how: Any) -> requests.Response:
        return requests.get(f"{api}/experiments/search", params={"max_results": 1}, timeout=30, **how)

    anonymous = search()
    wrong_password = search(auth=(admin[0], "s3cret"))
    rebound_host = search(auth=admin, headers={"Host": "attacker.example"})  # DNS rebinding
    preflight = requests.options(create, headers={"Origin": FOREIGN, **PREFLIGHT}, timeout=30)
    anonymous_post = requests.post(create, data=body, headers=simple, timeout=30)
    # A browser that has the basic-auth login cached sends it along with another site's simple POST.
    cached_login_post = requests.post(create, data=body, headers=simple, auth=admin, timeout=30)

    assert (anonymous.status_code, wrong_password.status_code, rebound_host.status_code) == (401, 401, 403)
    assert "access-control-allow-origin" not in preflight.headers
    assert (anonymous_post.status_code, cached_login_post.status_code) == (403, 403)
    planted = requests.get(
        f"{api}/experiments/get-by-name", params={"experiment_name": "planted"}, auth=admin, timeout=30
    )
    assert planted.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"  # the admin gets in: nothing there


def test_s3_refuses_strangers_wrong_keys_and_web_pages_and_keeps_its_data(servers: Servers) -> None:
    import boto3
    from botocore.exceptions import ClientError

    s3: Any = servers.s3()
    s3.put_object(Bucket="zenml-artifacts", Key="refusals/kept", Body=b"kept")
    object_url = f"{servers.s3_url}/zenml-artifacts/refusals/kept"
    key_id = servers.credentials()["aws_access_key_id"]

    def refusal(access_key_id: str, secret: str) -> str:
        stranger = boto3.client(
            "s3",
            endpoint_url=servers.s3_url,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret,
            region_name="us-east-1",
        )
        with pytest.raises(ClientError) as refused:
            stranger.get_object(Bucket="zenml-artifacts", Key="refusals/kept")
        error = refused.value.response
        return f"{error['ResponseMetadata']['HTTPStatusCode']} {error['Error']['Code']}"

    unsigned_get = requests.get(object_url, timeout=30)
    unsigned_put = requests.put(f"{servers.s3_url}/zenml-artifacts/refusals/planted", data=b"x", timeout=30)
    preflight = requests.options(object_url, headers={"Origin": FOREIGN, **PREFLIGHT}, timeout=30)
    # A browser's simple POST (no pre-flight), and the same from a program without keys.
    reset_from_page = requests.post(
        f"{servers.s3_url}/moto-api/reset",
        headers={"Origin": FOREIGN, "Content-Type": "text/plain"},
        timeout=30,
    )
    reset = requests.post(f"{servers.s3_url}/moto-api/reset", timeout=30)

    assert (unsigned_get.status_code, unsigned_put.status_code) == (403, 403)
    assert "<Code>AccessDenied</Code>" in unsigned_get.text and "not signed" in unsigned_get.text
    assert refusal(key_id, "s3cret-s3cret-s3cret") == "403 SignatureDoesNotMatch"
    assert refusal("AKIA" + "0" * 16, "s3cret-s3cret-s3cret") == "403 InvalidAccessKeyId"
    assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers
    assert (reset_from_page.status_code, reset.status_code) == (403, 403)
    assert "access-control-allow-origin" not in reset_from_page.headers
    assert s3.get_object(Bucket="zenml-artifacts", Key="refusals/kept")["Body"].read() == b"kept"
    assert "Contents" not in s3.list_objects_v2(Bucket="zenml-artifacts", Prefix="refusals/planted")


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
        user="mlflow",
        password=credentials["mlflow_store_password"],
        dbname="mlflow",
    ) as connection:  # the tracking server's backend store is the PostgreSQL server, its own account's
        stored = connection.execute("SELECT status FROM runs WHERE run_uuid = %s", (run_id,)).fetchall()
    assert stored == [("FINISHED",)]

    # Dashboard: the server's API (what the dashboard shows) has the run, completed, and the version.
    zenml = servers.zenml()
    runs = zenml.get(f"{servers.zenml_url}/api/v1/runs", params={"size": 10}, timeout=30).json()["items"]
    assert [item["body"]["status"] for item in runs] == ["completed"]
    versions = zenml.get(f"{servers.zenml_url}/api/v1/model_versions", timeout=30).json()["items"]
    assert [item["body"]["stage"] for item in versions] == ["production"]
    mysql = urlsplit(servers.env["LOCAL_MYSQL_URL"])
    connection = pymysql.connect(
        host=mysql.hostname,
        port=mysql.port,
        user="zenml",
        password=credentials["zenml_store_password"],
        database="zenml",
    )
    try:  # the ZenML server's store is the MySQL server, its own account's
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
    zenml = servers.zenml()
    # Answer the first-visit survey for the server's default user, as a user would once.
    zenml.put(
        f"{api}/current-user",
        json={"email_opted_in": False, "user_metadata": {"finished_onboarding_survey": True}},
        timeout=30,
    ).raise_for_status()
    first_run = {"size": "1", "sort_by": "asc:created"}
    run = zenml.get(f"{api}/runs", params=first_run, timeout=30).json()["items"][0]
    credentials = servers.credentials()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{servers.zenml_url}/projects/default/runs/{run['id']}", timeout=120_000)
            # The dashboard asks for the run folder's account first, then opens the page asked for.
            page.get_by_label("Username").fill(credentials["zenml_username"], timeout=120_000)
            page.get_by_label("Password").fill(credentials["zenml_password"], timeout=120_000)
            page.get_by_role("button", name="Login").click(timeout=120_000)
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
    visualization = (
        servers.zenml()
        .get(
            f"{servers.zenml_url}/api/v1/artifact_versions/{report['report']}/visualize",
            params={"index": 0},
            timeout=60,
        )
        .json()
    )

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


def test_s3_data_survives_a_kill_mid_upload(servers: Servers) -> None:
    """kill -9 while the S3 server journals a large upload: the next `servers up s3` drops the cut
    entry with a warning naming it, and replays every earlier write (a multipart upload's too)."""
    s3: Any = servers.s3()
    s3.put_object(Bucket="zenml-artifacts", Key="kill-drill/small", Body=b"small")
    multipart = os.urandom(9 * 1024 * 1024)  # over boto3's threshold: sent in parts, under a random id
    s3.upload_fileobj(io.BytesIO(multipart), "zenml-artifacts", "kill-drill/multipart")
    journal = servers.folder / "s3" / "requests.log"
    journaled = journal.stat().st_size
    s3_pid = int(servers.state()["s3"]["pids"][0])  # type: ignore[index]

    s3_once: Any = servers.s3(
        Config(retries={"total_max_attempts": 1})
    )  # its connection dies with the server

    def upload() -> None:
        with contextlib.suppress(Exception):
            s3_once.put_object(Bucket="zenml-artifacts", Key="kill-drill/large", Body=os.urandom(64 << 20))

    uploading = threading.Thread(target=upload)
    uploading.start()
    deadline = time.monotonic() + 120
    while journal.stat().st_size == journaled and time.monotonic() < deadline:
        time.sleep(0.0005)
    os.kill(s3_pid, signal.SIGKILL)  # as its entry is being written
    uploading.join()
    assert not _ends_a_line(journal), "the kill came after the entry was whole"

    restarted = servers.cli("servers", "up", "s3", timeout=300)
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    keys = [
        item["Key"] for item in s3.list_objects_v2(Bucket="zenml-artifacts", Prefix="kill-drill/")["Contents"]
    ]
    assert keys == ["kill-drill/multipart", "kill-drill/small"]
    assert s3.get_object(Bucket="zenml-artifacts", Key="kill-drill/multipart")["Body"].read() == multipart
    log = (servers.folder / "logs" / "s3.log").read_text()
    assert "dropped its last entry, PUT /zenml-artifacts/kill-drill/large" in log
    assert "refused on replay" not in log  # every write of this module's runs came back
    assert _ends_a_line(journal)


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
