"""The one place that knows MLServer (Seldon's inference server): its environment, files and API.

MLServer 1.7 cannot share an environment with `zenml[server]` (fastapi and protobuf pins), so it
runs from a serving environment of its own, created on first use with `uv` and pinned to the
scikit-learn, joblib, numpy and pandas versions that trained the model. The model repository
layout is the one MLServer reads: `settings.json` for the server, one folder per model with its
`model-settings.json`, a runtime module and one sub-folder per deployed version.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from lifecycle.errors import DeploymentError
from lifecycle.files import write_text_atomically
from lifecycle.validation import FeatureSchema

MLSERVER_VERSION = "1.7.1"
RUNTIME_SOURCE = Path(__file__).resolve().parents[1] / "serving" / "template_runtime.py"
RUNTIME_CLASS = "template_runtime.TemplateSKLearnModel"
MODEL_FILE = "model.joblib"
SCHEMA_FILE = "schema.json"
EXAMPLE_FILE = "example.json"
EXAMPLE_ROWS = 5


def serving_requirements() -> list[str]:
    """MLServer plus the exact versions of the libraries that pickled the model."""
    import joblib
    import numpy
    import sklearn

    return [
        f"mlserver=={MLSERVER_VERSION}",
        f"mlserver-sklearn=={MLSERVER_VERSION}",
        f"scikit-learn=={sklearn.__version__}",
        f"joblib=={joblib.__version__}",
        f"numpy=={numpy.__version__}",
        f"pandas=={pd.__version__}",
        # uvloop 0.22+ no longer creates a loop in get_event_loop(), which MLServer 1.7's
        # parallel inference workers call at start: they die at once and no model loads.
        "uvloop<0.22",
    ]


def default_env_root() -> Path:
    """Serving environments live in the user's cache: keyed by their pinned requirements, they are
    shared by every ZenML config and project checkout that needs the same versions."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "zenml-mlops-template" / "mlserver-envs"


def ensure_serving_env(root: Path, timeout_seconds: float) -> Path:
    """The serving environment's Python, creating the environment once (safe across processes)."""
    requirements = serving_requirements()
    key = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:12]
    env_dir = root / f"mlserver-env-{key}"
    python = env_dir / "bin" / "python"
    ready_marker = env_dir / ".ready"
    root.mkdir(parents=True, exist_ok=True)
    with (root / f".{env_dir.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ready_marker.exists():
            return python
        shutil.rmtree(env_dir, ignore_errors=True)
        uv = _uv_binary()
        py_version = f"{sys.version_info.major}.{sys.version_info.minor}"
        for command in (
            [uv, "venv", "--quiet", "--python", py_version, str(env_dir)],
            [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python), *requirements],
        ):
            try:
                subprocess.run(command, check=True, capture_output=True, text=True, timeout=timeout_seconds)
            except subprocess.CalledProcessError as error:
                raise DeploymentError(
                    f"creating the serving environment {env_dir} failed: {error.stderr.strip()[-500:]}"
                ) from None
            except subprocess.TimeoutExpired:
                raise DeploymentError(
                    f"creating the serving environment {env_dir} took over {timeout_seconds} s"
                ) from None
        ready_marker.write_text("\n".join(requirements))
    return python


def _uv_binary() -> str:
    candidate = Path(sys.executable).with_name("uv")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("uv")
    if found is None:
        raise DeploymentError("`uv` is needed to create the serving environment; install the project again")
    return found


@dataclass(frozen=True)
class ServerPorts:
    http: int
    grpc: int
    metrics: int


def write_server_settings(repository: Path, host: str, ports: ServerPorts, parallel_workers: int) -> None:
    """MLServer's `settings.json`: bind to `host` only, on the given ports."""
    settings = {
        "debug": False,
        "host": host,
        "http_port": ports.http,
        "grpc_port": ports.grpc,
        "metrics_port": ports.metrics,
        "parallel_workers": parallel_workers,
        "load_models_at_startup": True,
    }
    repository.mkdir(parents=True, exist_ok=True)
    _write_json_atomically(repository / "settings.json", settings)


def metrics_url(repository: Path) -> str | None:
    """MLServer's Prometheus endpoint, from the settings the running server was started with."""
    try:
        settings = json.loads((repository / "settings.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    port = settings.get("metrics_port")
    return f"http://{settings['host']}:{port}/metrics" if port else None


@dataclass(frozen=True)
class Batching:
    """MLServer's adaptive batching: concurrent requests are scored in one call."""

    max_batch_size: int
    max_batch_time_ms: float


def write_model_version(
    repository: Path,
    model_name: str,
    version: str,
    model: Pipeline,
    schema: FeatureSchema,
    example: pd.DataFrame,
    max_rows: int,
    batching: Batching,
) -> Path:
    """Put one model version in the repository, next to the ones already there; its folder."""
    import joblib

    model_dir = repository / model_name
    version_dir = model_dir / f"v{version}"
    version_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, version_dir / MODEL_FILE)
    _write_json_atomically(
        version_dir / SCHEMA_FILE,
        {
            "columns": schema.columns,
            "classes": schema.classes,
            "max_rows": max_rows,
            "max_batch_size": batching.max_batch_size,
            "max_batch_time": batching.max_batch_time_ms / 1000,
        },
    )
    _write_json_atomically(
        version_dir / EXAMPLE_FILE, json.loads(example.head(EXAMPLE_ROWS).to_json(orient="records"))
    )
    shutil.copyfile(RUNTIME_SOURCE, model_dir / RUNTIME_SOURCE.name)
    return version_dir


def activate_version(repository: Path, model_name: str, version: str) -> None:
    """Point the model's `model-settings.json` at a version (MLServer reads it on (re)load)."""
    schema = json.loads((repository / model_name / f"v{version}" / SCHEMA_FILE).read_text())
    columns: dict[str, str] = schema["columns"]
    classes: list[Any] = schema["classes"]
    settings = {
        "name": model_name,
        "implementation": RUNTIME_CLASS,
        "max_batch_size": schema["max_batch_size"],
        "max_batch_time": schema["max_batch_time"],
        "parameters": {"uri": f"./v{version}/{MODEL_FILE}", "extra": {"model_version": version}},
        "inputs": [
            {"name": column, "datatype": "BYTES" if kind == "categorical" else "FP64", "shape": [-1]}
            for column, kind in columns.items()
        ],
        "outputs": [
            {"name": "label", "datatype": _label_datatype(classes), "shape": [-1]},
            {"name": "probabilities", "datatype": "FP64", "shape": [-1, len(classes)]},
        ],
    }
    _write_json_atomically(repository / model_name / "model-settings.json", settings)


def load_example(version_dir: Path) -> pd.DataFrame:
    """The example rows saved with a version: what a smoke test sends."""
    return pd.DataFrame(json.loads((version_dir / EXAMPLE_FILE).read_text()))


def active_version(repository: Path, model_name: str) -> str | None:
    path = repository / model_name / "model-settings.json"
    if not path.exists():
        return None
    return str(json.loads(path.read_text())["parameters"]["extra"]["model_version"])


def smoke_test(serving_python: Path, version_dir: Path, timeout_seconds: float) -> None:
    """Load the model and score its example rows in the serving environment, before any switch."""
    script = (
        "import json, sys, joblib, pandas as pd\n"
        "folder = sys.argv[1]\n"
        f"model = joblib.load(f'{{folder}}/{MODEL_FILE}')\n"
        f"rows = pd.DataFrame(json.load(open(f'{{folder}}/{EXAMPLE_FILE}')))\n"
        "model.predict_proba(rows)\n"
    )
    try:
        subprocess.run(
            [str(serving_python), "-c", script, str(version_dir)],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout_seconds,
        )
    except subprocess.CalledProcessError as error:
        reason = (error.stderr.strip().splitlines() or ["no output"])[-1]
        raise DeploymentError(
            f"model in {version_dir} does not load and predict in MLServer: {reason}"
        ) from None
    except subprocess.TimeoutExpired:
        raise DeploymentError(f"model in {version_dir} took over {timeout_seconds} s to load") from None


def mlserver_command(serving_python: Path, repository: Path) -> list[str]:
    return [str(serving_python.with_name("mlserver")), "start", str(repository)]


def mlserver_environment() -> dict[str, str]:
    """The server's environment: the caller's, minus variables that would leak the ZenML venv in."""
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    environment["PYTHONUNBUFFERED"] = "1"
    return environment


def _label_datatype(classes: list[Any]) -> str:
    return "INT64" if all(isinstance(c, int) and not isinstance(c, bool) for c in classes) else "BYTES"


def _write_json_atomically(path: Path, content: Any) -> None:
    write_text_atomically(path, json.dumps(content, indent=2, default=str))
