"""MLServer's model repository: the files a server reads, one folder per model and one per version.

The layout is the one MLServer reads: `settings.json` for the server, one folder per model with its
`model-settings.json`, the runtime module, and one sub-folder per deployed version holding the
model, its feature schema and example rows. Switching versions rewrites `model-settings.json`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import numpy as np
import pandas as pd

from core.compilation import ServingChoice
from core.files import write_atomically, write_text_atomically
from core.model_names import checked_name
from core.validation import FeatureSchema

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

# Copied into each model's folder (as the names given), from which MLServer imports the runtime: it
# needs the scorer and the contract's rules, which runs there as in the project (`core/rules.py`).
RUNTIME_SOURCES = {
    "runtime.py": Path(__file__).resolve().with_name("runtime.py"),
    "version_scorer.py": Path(__file__).resolve().with_name("version_scorer.py"),
    "contract_rules.py": Path(__file__).resolve().parents[2] / "core" / "rules.py",
    "capture_writer.py": Path(__file__).resolve().with_name("capture.py"),
    "capture_records.py": Path(__file__).resolve().parents[2] / "core" / "capture.py",
    "metrics_compat.py": Path(__file__).resolve().with_name("metrics_compat.py"),
}
RUNTIME_CLASS = "runtime.SchemaCheckedModel"
MODEL_FILE = "model.joblib"
ONNX_FILE = "model.onnx"
SCHEMA_FILE = "schema.json"
EXAMPLE_FILE = "example.json"
EXAMPLE_ROWS = 5
CONTROL_TOKEN_FILE = ".control-token"  # as launcher.py reads it
CAPTURE_SETTINGS_FILE = "capture.json"  # as capture.py reads them
CAPTURE_PASSWORD_FILE = ".capture-password"


@dataclass(frozen=True)
class ServerPorts:
    http: int
    grpc: int
    metrics: int


def control_token(repository: Path) -> str:
    """The token the server's model-control endpoints ask for (`launcher.py`), made on first use,
    readable by its owner only."""
    path = repository / CONTROL_TOKEN_FILE
    if not path.exists():
        repository.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda target: _write_private(target, secrets.token_urlsafe(32)))
    return path.read_text().strip()


def write_capture_settings(repository: Path, settings: dict[str, Any] | None, password: str | None) -> None:
    """What the runtime captures requests to (read at each model load), or nothing: capture off.
    The stream's password goes in a file of its own, readable by its owner only."""
    repository.mkdir(parents=True, exist_ok=True)
    secret = repository / CAPTURE_PASSWORD_FILE
    if settings is None:
        (repository / CAPTURE_SETTINGS_FILE).unlink(missing_ok=True)
        secret.unlink(missing_ok=True)
        return
    write_atomically(secret, lambda target: _write_private(target, password or ""))
    _write_json_atomically(repository / CAPTURE_SETTINGS_FILE, settings)


def _write_private(path: Path, text: str) -> None:
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        handle.write(text)


def write_server_settings(repository: Path, host: str, ports: ServerPorts, parallel_workers: int) -> None:
    """MLServer's `settings.json`: bind to `host` only, on the given ports (and the control token
    the launcher reads at start, made if there is none)."""
    control_token(repository)
    settings = {
        "debug": False,
        "host": host,
        "http_port": ports.http,
        "grpc_port": ports.grpc,
        "metrics_port": ports.metrics,
        "parallel_workers": parallel_workers,
        "load_models_at_startup": True,
        # MLServer keeps its Prometheus multiprocess files here, not in the working directory.
        "metrics_dir": str(repository / ".metrics"),
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
    choice: ServingChoice,
    onnx: bytes | None,
) -> Path:
    """Put one model version in the repository, next to the ones already there; its folder.

    The pipeline is always written (`model.joblib`); the ONNX model too when it is what serves.
    The version is written in a folder of its own and then renamed into place, and the runtime
    modules are replaced by renames: a server serving this version (a redeploy of it) never reads
    a half-written file.
    """
    import joblib

    version_dir = version_folder(repository, model_name, version)
    model_dir = version_dir.parent
    staged = model_dir / f".v{version}-{uuid4().hex[:8]}"
    staged.mkdir(parents=True)
    joblib.dump(model, staged / MODEL_FILE)
    if onnx is not None:
        (staged / ONNX_FILE).write_bytes(onnx)
    _write_json_atomically(
        staged / SCHEMA_FILE,
        {
            "columns": schema.columns,
            "classes": np.asarray(model.classes_).tolist(),  # the order of the probability columns
            "max_rows": max_rows,
            "max_batch_size": batching.max_batch_size,
            "max_batch_time": batching.max_batch_time_ms / 1000,
            "runtime": choice.runtime,
            "runtime_reason": choice.reason,
            "contract": schema.contract.model_dump(mode="json"),  # checked on every request
        },
    )
    _write_json_atomically(
        staged / EXAMPLE_FILE, json.loads(example.head(EXAMPLE_ROWS).to_json(orient="records"))
    )
    _replace_folder(staged, version_dir)
    for name, source in RUNTIME_SOURCES.items():
        write_atomically(model_dir / name, partial(shutil.copyfile, source))
    return version_dir


def _replace_folder(staged: Path, target: Path) -> None:
    """Put `staged` at `target` by renames (the old folder, if any, is moved aside and removed)."""
    if not target.exists():
        staged.rename(target)
        return
    retired = target.with_name(f".{target.name}-retired-{uuid4().hex[:8]}")
    target.rename(retired)
    staged.rename(target)
    shutil.rmtree(retired, ignore_errors=True)


def model_folder(repository: Path, model_name: str) -> Path:
    """The model's folder in the repository; the name is checked first, as it becomes a folder name."""
    return repository / checked_name(model_name, "model name")


def version_folder(repository: Path, model_name: str, version: str) -> Path:
    """A version's folder in the repository; name and version are checked first (folder names)."""
    return model_folder(repository, model_name) / f"v{checked_name(version, 'model version')}"


def activate_version(repository: Path, model_name: str, version: str) -> None:
    """Point the model's `model-settings.json` at a version (MLServer reads it on (re)load)."""
    schema = json.loads((version_folder(repository, model_name, version) / SCHEMA_FILE).read_text())
    columns: dict[str, str] = schema["columns"]
    classes: list[Any] = schema["classes"]
    settings = {
        "name": model_name,
        "implementation": RUNTIME_CLASS,
        "max_batch_size": schema["max_batch_size"],
        "max_batch_time": schema["max_batch_time"],
        "parameters": {
            "uri": f"./v{version}/{ONNX_FILE if schema['runtime'] == 'onnx' else MODEL_FILE}",
            "extra": {"model_version": version},
        },
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
    path = model_folder(repository, model_name) / "model-settings.json"
    if not path.exists():
        return None
    return str(json.loads(path.read_text())["parameters"]["extra"]["model_version"])


def serving_choice(repository: Path, model_name: str, version: str) -> ServingChoice | None:
    """What serves a version written to the repository (ONNX or the pipeline), and why."""
    path = version_folder(repository, model_name, version) / SCHEMA_FILE
    if not path.exists():
        return None
    schema = json.loads(path.read_text())
    return ServingChoice(runtime=schema["runtime"], reason=schema["runtime_reason"])


def _label_datatype(classes: list[Any]) -> str:
    return "INT64" if all(isinstance(c, int) and not isinstance(c, bool) for c in classes) else "BYTES"


def _write_json_atomically(path: Path, content: Any) -> None:
    write_text_atomically(path, json.dumps(content, indent=2, default=str))
