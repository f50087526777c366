"""MLServer's serving environment: where the server runs, created on first use.

MLServer 1.7 cannot share an environment with `zenml[server]` (fastapi and protobuf pins), so it
runs from an environment of its own, created with `uv` and pinned to the scikit-learn, joblib,
numpy and pandas versions that trained the model. A new version is proven there (it loads and
scores its example rows) before any server is asked to serve it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from core.errors import DeploymentError
from stacks.mlserver.repository import EXAMPLE_FILE

MLSERVER_VERSION = "1.7.1"


def serving_requirements() -> list[str]:
    """MLServer plus the exact versions of the libraries that pickled or compiled the model."""
    import joblib
    import numpy
    import onnxruntime
    import sklearn

    return [
        f"mlserver=={MLSERVER_VERSION}",
        f"onnxruntime=={onnxruntime.__version__}",
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


def smoke_test(serving_python: Path, version_dir: Path, timeout_seconds: float) -> None:
    """Load the version and score its example rows in the serving environment, before any switch,
    with the scorer the server uses (copied beside the version folder)."""
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "folder = Path(sys.argv[1])\n"
        "sys.path.insert(0, str(folder.parent))\n"
        "from version_scorer import VersionScorer\n"
        f"VersionScorer(folder).predict_records(json.loads((folder / '{EXAMPLE_FILE}').read_text()))\n"
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
