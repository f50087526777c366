"""Real servers on this machine for the server-backed stacks: start them, stop them, say where they are.

`python run.py servers up` starts each server as a background process bound to its URL's host
(127.0.0.1 by default). Their PIDs, logs, data and the credentials they were given live in one run
folder, so `down` stops exactly what `up` started and a second `up` reuses what is running. The
credentials go into a ZenML secret, which the stacks in `stacks/*.yaml` reference; no tracked file
holds one.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import requests
import yaml
from pydantic import ValidationError, field_validator

from lifecycle.config import StrictModel, describe_validation_error
from lifecycle.errors import ConfigError, UserFacingError
from stacks.spec import expand_env

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "servers.yaml"
BIN = Path(sys.executable).parent
PROBE_INTERVAL_SECONDS = 0.5


class ServerError(UserFacingError):
    """A server would not start, or is not where its config says."""


def _url_with_port(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or not parts.port:
        raise ValueError(f"'{url}' must be http://HOST:PORT")
    return url.rstrip("/")


class S3ServerConfig(StrictModel):
    url: str
    buckets: list[str]

    _check_url = field_validator("url")(_url_with_port)


class MLflowServerConfig(StrictModel):
    url: str
    artifacts_destination: str
    workers: int = 1

    _check_url = field_validator("url")(_url_with_port)


class ZenMLServerConfig(StrictModel):
    url: str

    _check_url = field_validator("url")(_url_with_port)


class GCSServerConfig(StrictModel):
    url: str
    bucket: str

    _check_url = field_validator("url")(_url_with_port)


class AzureServerConfig(StrictModel):
    url: str
    container: str
    azurite: str  # npm package spec, e.g. azurite@3.35.0

    _check_url = field_validator("url")(_url_with_port)


class AirflowServerConfig(StrictModel):
    url: str
    packages: list[str]
    dag_refresh_seconds: int = 5

    _check_url = field_validator("url")(_url_with_port)


class ServersConfig(StrictModel):
    run_folder: Path
    startup_timeout_seconds: float
    stop_timeout_seconds: float
    s3: S3ServerConfig
    gcs: GCSServerConfig
    azure: AzureServerConfig
    mlflow: MLflowServerConfig
    zenml: ZenMLServerConfig
    airflow: AirflowServerConfig


def load_servers_config(path: Path = DEFAULT_CONFIG) -> ServersConfig:
    """Read `configs/servers.yaml`, with `${VAR:-default}` filled from the environment."""
    if not path.is_file():
        raise ConfigError(f"servers config '{path}': no such file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        config = ServersConfig.model_validate(expand_env(raw, path))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    except ValidationError as error:
        raise ConfigError(f"{path}: {describe_validation_error(error, '')}") from None
    folder = config.run_folder if config.run_folder.is_absolute() else PROJECT_ROOT / config.run_folder
    return config.model_copy(update={"run_folder": folder})


@dataclass(frozen=True)
class Credentials:
    """Generated once per run folder; the servers are started with them and the stacks read them."""

    aws_access_key_id: str
    aws_secret_access_key: str
    mlflow_username: str
    mlflow_password: str
    mlflow_flask_secret_key: str
    azure_account: str
    azure_key: str


@dataclass
class ServerState:
    """What `up` started: enough for `down` to stop exactly that and `status` to report it."""

    name: str
    url: str
    pids: list[int]
    started_at: list[float]  # each process's create time, so a reused PID is never taken for ours
    log: str
    managed_by_zenml: bool = False

    def processes(self) -> list[psutil.Process]:
        alive = []
        for pid, created in zip(self.pids, self.started_at, strict=True):
            try:
                process = psutil.Process(pid)
                if abs(process.create_time() - created) < 1 and process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
            except psutil.NoSuchProcess:
                continue
        return alive


@dataclass(frozen=True)
class ServerReport:
    name: str
    url: str
    running: bool
    answering: bool
    pids: list[int]
    log: str

    @property
    def state(self) -> str:
        if not self.running:
            return "DOWN"
        return "up" if self.answering else "running, not answering"


@dataclass(frozen=True)
class Launch:
    """How to start one server: its processes (all sharing `env`), and the URL that says it is ready."""

    commands: list[list[str]]
    env: dict[str, str]
    ready_url: str
    after_start: Callable[[], None] | None = None


class LocalServers:
    """The servers of one run folder."""

    def __init__(self, config: ServersConfig) -> None:
        self.config = config
        self.folder = config.run_folder
        self._state_file = self.folder / "state.json"

    # ----- the three commands ------------------------------------------------------------------

    def up(self, names: list[str]) -> list[ServerReport]:
        """Start the named servers (all by default, in dependency order) unless they are already up."""
        self.folder.mkdir(parents=True, exist_ok=True)
        credentials = self.credentials()
        state = self._read_state()
        for name in self._ordered(names):
            current = state.get(name)
            if current and len(current.processes()) == len(current.pids):
                continue
            if current:  # part of it died (one of Airflow's three processes, say): start it afresh
                self._stop(current)
            state[name] = self._start(name, credentials)
            self._write_state(state)
        self._store_secrets(credentials)
        return self.status()

    def down(self) -> list[str]:
        """Stop everything `up` started, newest first; returns the names stopped."""
        state = self._read_state()
        stopped = []
        for name in reversed(list(state)):
            self._stop(state[name])
            stopped.append(name)
            del state[name]
            self._write_state(state)
        return stopped

    def status(self) -> list[ServerReport]:
        reports = []
        for state in self._read_state().values():
            alive = state.processes()
            reports.append(
                ServerReport(
                    name=state.name,
                    url=state.url,
                    running=bool(alive) and len(alive) == len(state.pids),
                    answering=_answers(self._ready_url(state.name, state.url)),
                    pids=[process.pid for process in alive],
                    log=state.log,
                )
            )
        return reports

    # ----- the servers ---------------------------------------------------------------------------

    def known(self) -> list[str]:
        """Every server, in start order (MLflow keeps its artifacts in the S3 server)."""
        return ["s3", "gcs", "azure", "mlflow", "zenml", "airflow"]

    def _ordered(self, names: list[str]) -> list[str]:
        unknown = sorted(set(names) - set(self.known()))
        if unknown:
            raise ConfigError(
                f"servers: unknown server(s) {', '.join(unknown)}; known: {', '.join(self.known())}"
            )
        wanted = set(names or self.known())
        if "mlflow" in wanted:
            wanted.add("s3")  # MLflow keeps its artifacts in the S3 server
        return [name for name in self.known() if name in wanted]

    def _launch(self, name: str, credentials: Credentials) -> Launch:
        launchers: dict[str, Callable[[Credentials], Launch]] = {
            "s3": self._launch_s3,
            "gcs": self._launch_gcs,
            "azure": self._launch_azure,
            "mlflow": self._launch_mlflow,
            "airflow": self._launch_airflow,
        }
        return launchers[name](credentials)

    def _ready_url(self, name: str, url: str) -> str:
        paths = {
            "mlflow": "/health",
            "zenml": "/health",
            "azure": "/devstoreaccount1?comp=list",  # any answer, even 403, means it is up
            "airflow": "/api/v2/monitor/health",
        }
        return url + paths.get(name, "")

    def _launch_s3(self, credentials: Credentials) -> Launch:
        """moto keeps objects in memory; its recorder logs every write, and a restart replays the log."""
        host, port = _host_port(self.config.s3.url)
        recording = self.folder / "s3" / "requests.log"
        recording.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **_aws_env(credentials),
            "MOTO_ENABLE_RECORDING": "True",
            "MOTO_RECORDER_FILEPATH": str(recording),
        }

        def restore_and_create_buckets() -> None:
            if recording.is_file() and recording.stat().st_size:
                replay = requests.post(
                    f"{self.config.s3.url}/moto-api/recorder/replay-recording", timeout=600
                )
                replay.raise_for_status()
            _create_buckets(self.config.s3, credentials)

        return Launch(
            commands=[[str(BIN / "moto_server"), "-H", host, "-p", str(port)]],
            env=env,
            ready_url=self._ready_url("s3", self.config.s3.url),
            after_start=restore_and_create_buckets,
        )

    def _launch_mlflow(self, credentials: Credentials) -> Launch:
        host, port = _host_port(self.config.mlflow.url)
        data = self.folder / "mlflow"
        data.mkdir(parents=True, exist_ok=True)
        auth_config = data / "basic_auth.ini"
        auth_config.write_text(
            "[mlflow]\n"
            "default_permission = READ\n"
            f"database_uri = sqlite:///{data / 'auth.db'}\n"
            f"admin_username = {credentials.mlflow_username}\n"
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            "grant_default_workspace_access = true\n",
            encoding="utf-8",
        )
        env = {
            **_aws_env(credentials),
            "MLFLOW_S3_ENDPOINT_URL": self.config.s3.url,
            "MLFLOW_AUTH_CONFIG_PATH": str(auth_config),
            "MLFLOW_AUTH_ADMIN_PASSWORD": credentials.mlflow_password,
            "MLFLOW_FLASK_SERVER_SECRET_KEY": credentials.mlflow_flask_secret_key,
        }
        command = [
            str(BIN / "mlflow"),
            "server",
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            str(self.config.mlflow.workers),
            "--backend-store-uri",
            f"sqlite:///{data / 'mlflow.db'}",
            "--artifacts-destination",
            self.config.mlflow.artifacts_destination,
            "--app-name",
            "basic-auth",
        ]
        return Launch(
            commands=[command], env=env, ready_url=self._ready_url("mlflow", self.config.mlflow.url)
        )

    def _launch_gcs(self, _credentials: Credentials) -> Launch:
        host, port = _host_port(self.config.gcs.url)
        data = self.folder / "gcs"
        data.mkdir(parents=True, exist_ok=True)
        command = [str(BIN / "gcp-storage-emulator"), "start", "--host", host, "--port", str(port)]
        command += ["--default-bucket", self.config.gcs.bucket, "-q"]
        return Launch(
            commands=[command],
            env={**os.environ, "STORAGE_BASE": str(data)},
            ready_url=self._ready_url("gcs", self.config.gcs.url),
        )

    def _launch_azure(self, credentials: Credentials) -> Launch:
        """Azurite, installed once from npm into the run folder, with an account of this run folder's."""
        host, port = _host_port(self.config.azure.url)
        folder = self.folder / "azure"
        azurite = folder / "npm" / "node_modules" / ".bin" / "azurite-blob"
        if not azurite.is_file():
            _run_setup(
                [
                    "npm",
                    "install",
                    "--prefix",
                    str(folder / "npm"),
                    "--no-audit",
                    "--no-fund",
                    self.config.azure.azurite,
                ],
                self.folder / "logs" / "azure-setup.log",
                self.config.startup_timeout_seconds,
            )
        command = [
            str(azurite),
            "--blobHost",
            host,
            "--blobPort",
            str(port),
            "--location",
            str(folder / "data"),
        ]
        command += ["--silent", "--skipApiVersionCheck", "--disableTelemetry"]
        env = {**os.environ, "AZURITE_ACCOUNTS": f"{credentials.azure_account}:{credentials.azure_key}"}
        return Launch(
            commands=[command],
            env=env,
            ready_url=self._ready_url("azure", self.config.azure.url),
            after_start=lambda: _create_container(self.config.azure, credentials),
        )

    def _launch_airflow(self, _credentials: Credentials) -> Launch:
        """Airflow 3 in an environment of its own (it cannot share one with ZenML's server extra):
        API server, scheduler and DAG processor, on a SQLite database in the run folder."""
        config = self.config.airflow
        host, port = _host_port(config.url)
        folder = self.folder / "airflow"
        venv, home = folder / "venv", folder / "home"
        (home / "dags").mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            # No login for the UI and REST API: every caller is admin, on loopback only.
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API__HOST": host,
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": config.url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{config.url}/execution/",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": str(config.dag_refresh_seconds),
            "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(PROJECT_ROOT / "stacks" / "airflow"),  # local_operator.py
        }
        for variable in ("VIRTUAL_ENV", "PYTHONHOME"):
            env.pop(variable, None)
        setup_log = self.folder / "logs" / "airflow-setup.log"
        timeout = self.config.startup_timeout_seconds
        if not (venv / "bin" / "airflow").is_file():
            _run_setup(
                [str(BIN / "uv"), "venv", "--quiet", "--python", sys.executable, str(venv)],
                setup_log,
                timeout,
            )
            install = [str(BIN / "uv"), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python")]
            _run_setup([*install, *config.packages], setup_log, timeout)
            # Compile once: every Airflow command would otherwise recompile it where bytecode is not kept.
            compile_all = [
                str(venv / "bin" / "python"),
                "-m",
                "compileall",
                "-q",
                "-j",
                "0",
                str(venv / "lib"),
            ]
            subprocess.run(compile_all, capture_output=True, timeout=timeout, check=False)
        if not (home / "airflow.db").is_file():
            _run_setup([str(venv / "bin" / "airflow"), "db", "migrate"], setup_log, timeout, env)
        airflow = str(venv / "bin" / "airflow")
        return Launch(
            commands=[
                [airflow, "api-server", "--host", host, "--port", str(port), "--workers", "1"],
                [airflow, "scheduler", "--skip-serve-logs"],  # its log server would bind 0.0.0.0
                [airflow, "dag-processor"],
            ],
            env=env,
            ready_url=self._ready_url("airflow", config.url),
        )

    # ----- starting and stopping -----------------------------------------------------------------

    def _start(self, name: str, credentials: Credentials) -> ServerState:
        if name == "zenml":
            return self._start_zenml()
        url = getattr(self.config, name).url
        if _answers(self._ready_url(name, url)):
            raise ServerError(f"{name}: something else already answers on {url}; stop it or change the URL")
        launch = self._launch(name, credentials)
        log = self.folder / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        processes = [_spawn(command, launch.env, log) for command in launch.commands]
        state = ServerState(
            name=name,
            url=url,
            pids=[process.pid for process in processes],
            started_at=[process.create_time() for process in processes],
            log=str(log),
        )
        try:
            self._wait_ready(state, launch.ready_url)
            if launch.after_start is not None:
                launch.after_start()
        except BaseException:
            self._stop(state)
            raise
        return state

    def _start_zenml(self) -> ServerState:
        host, port = _host_port(self.config.zenml.url)
        log = self.folder / "logs" / "zenml.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        command = [str(BIN / "zenml"), "login", "--local", "--ip-address", host, "--port", str(port)]
        env = {**os.environ, "ZENML_AUTO_OPEN_DASHBOARD": "false"}
        _run_setup(command, log, self.config.startup_timeout_seconds, env)
        pid = _zenml_server_pid()
        if pid is None:
            raise ServerError(f"zenml: `zenml login --local` started no server; see {log}\n{_tail(log)}")
        state = ServerState(
            name="zenml",
            url=self.config.zenml.url,
            pids=[pid],
            started_at=[psutil.Process(pid).create_time()],
            log=str(log),
            managed_by_zenml=True,
        )
        self._wait_ready(state, self._ready_url("zenml", state.url))
        return state

    def _wait_ready(self, state: ServerState, ready_url: str) -> None:
        deadline = time.monotonic() + self.config.startup_timeout_seconds
        while not _ready(ready_url):
            if len(state.processes()) < len(state.pids):
                raise ServerError(
                    f"{state.name}: exited while starting; see {state.log}\n{_tail(Path(state.log))}"
                )
            if time.monotonic() > deadline:
                raise ServerError(
                    f"{state.name}: not ready at {ready_url} after "
                    f"{self.config.startup_timeout_seconds:.0f} s; see {state.log}"
                )
            time.sleep(PROBE_INTERVAL_SECONDS)

    def _stop(self, state: ServerState) -> None:
        if state.managed_by_zenml and state.processes():
            subprocess.run(
                [str(BIN / "zenml"), "logout", "--local"],
                capture_output=True,
                timeout=self.config.stop_timeout_seconds * 3,
                check=False,
            )
        for process in state.processes():
            _terminate_group(process, self.config.stop_timeout_seconds)

    # ----- credentials and state -----------------------------------------------------------------

    def credentials(self) -> Credentials:
        """This run folder's credentials, generated (readable by the owner only) on first use."""
        path = self.folder / "credentials.json"
        if path.is_file():
            return Credentials(**json.loads(path.read_text(encoding="utf-8")))
        credentials = Credentials(
            aws_access_key_id=f"AKIA{secrets.token_hex(8).upper()}",
            aws_secret_access_key=secrets.token_urlsafe(30),
            mlflow_username="admin",
            mlflow_password=secrets.token_urlsafe(18),
            mlflow_flask_secret_key=secrets.token_urlsafe(24),
            azure_account="localazure",
            azure_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(asdict(credentials), out)
        return credentials

    def _store_secrets(self, credentials: Credentials) -> None:
        """Create or update the ZenML secrets the stacks reference, in the store the client uses now."""
        from zenml.client import Client

        client = Client()
        for name, values in zenml_secrets(credentials, self.config).items():
            try:
                existing = client.get_secret(name, allow_partial_name_match=False)
            except KeyError:
                client.create_secret(name, values=values)
                continue
            if existing.secret_values != values:
                client.update_secret(name, add_or_update_values=values)

    def _read_state(self) -> dict[str, ServerState]:
        if not self._state_file.is_file():
            return {}
        raw = json.loads(self._state_file.read_text(encoding="utf-8"))
        return {name: ServerState(**entry) for name, entry in raw.items()}

    def _write_state(self, state: dict[str, ServerState]) -> None:
        temporary = self._state_file.with_suffix(".tmp")
        temporary.write_text(
            json.dumps({name: asdict(s) for name, s in state.items()}, indent=2), encoding="utf-8"
        )
        temporary.replace(self._state_file)


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None  # checked when the config was read
    return parts.hostname, parts.port


def _aws_env(credentials: Credentials) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": credentials.aws_access_key_id,
        "AWS_SECRET_ACCESS_KEY": credentials.aws_secret_access_key,
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }


def zenml_secrets(credentials: Credentials, config: ServersConfig) -> dict[str, dict[str, Any]]:
    """The ZenML secrets the stacks name: `local_s3` (S3 artifact stores), `local_mlflow` (the
    tracker), `local_azure` (the Azure artifact store, in the shape ZenML's Azure secret expects)."""
    return {
        "local_s3": {
            "aws_access_key_id": credentials.aws_access_key_id,
            "aws_secret_access_key": credentials.aws_secret_access_key,
        },
        "local_mlflow": {"username": credentials.mlflow_username, "password": credentials.mlflow_password},
        "local_azure": {"connection_string": azure_connection_string(credentials, config.azure)},
    }


def azure_connection_string(credentials: Credentials, config: AzureServerConfig) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={credentials.azure_account};"
        f"AccountKey={credentials.azure_key};BlobEndpoint={config.url}/{credentials.azure_account};"
    )


def _create_container(config: AzureServerConfig, credentials: Credentials) -> None:
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(azure_connection_string(credentials, config))
    with contextlib.suppress(ResourceExistsError):
        service.create_container(config.container)


def _run_setup(command: list[str], log: Path, timeout: float, env: dict[str, str] | None = None) -> None:
    """A one-time set-up command (install, migrate); its output goes to `log`, a failure names it."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        try:
            result = subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ServerError(f"set-up `{' '.join(command[:3])} ...` failed: {error}; see {log}") from None
    if result.returncode != 0:
        raise ServerError(f"set-up `{' '.join(command[:3])} ...` failed; see {log}\n{_tail(log)}")


def _create_buckets(config: S3ServerConfig, credentials: Credentials) -> None:
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=config.url,
        aws_access_key_id=credentials.aws_access_key_id,
        aws_secret_access_key=credentials.aws_secret_access_key,
        region_name="us-east-1",
    )
    existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    for bucket in config.buckets:
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket)


def _spawn(command: list[str], env: dict[str, str], log: Path) -> psutil.Process:
    """Start a process in its own session (so its children stop with it), output appended to `log`."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return psutil.Process(process.pid)


def _terminate_group(process: psutil.Process, timeout: float) -> None:
    """SIGTERM the process's group, SIGKILL whatever is left after `timeout` seconds."""
    try:
        group = os.getpgid(process.pid)
        members = [process, *process.children(recursive=True)]
    except (ProcessLookupError, psutil.NoSuchProcess):
        return
    own_group = group == process.pid
    try:
        if own_group:
            os.killpg(group, signal.SIGTERM)
        else:
            process.terminate()
    except ProcessLookupError:
        return
    _, alive = psutil.wait_procs(members, timeout=timeout)
    for member in alive:
        try:
            member.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(alive, timeout=timeout)


def _zenml_server_pid() -> int | None:
    from zenml.zen_server.deploy.daemon.daemon_zen_server import DaemonZenServer

    service = DaemonZenServer.get_service()
    return service.status.pid if service is not None else None


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.RequestException:
        return False


def _ready(url: str) -> bool:
    """The server answers; for Airflow's health endpoint, every component it lists is healthy."""
    try:
        response = requests.get(url, timeout=2)
    except requests.RequestException:
        return False
    if response.status_code >= 500:
        return False
    if not url.endswith("/monitor/health"):
        return True
    health = response.json()
    return all(
        health.get(part, {}).get("status") == "healthy"
        for part in ("metadatabase", "scheduler", "dag_processor")
    )


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
