"""MLServer's serving environments: where the server runs, created on first use.

MLServer 1.7 cannot share an environment with `zenml[server]` (fastapi and protobuf pins), so it
runs from an environment of its own, created with `uv` and pinned to the joblib, numpy and pandas
versions here and to the packages the model is made of (`core.dependencies.model_requirements`:
scikit-learn, and LightGBM, XGBoost or any other estimator's package). One environment per set of
requirements, shared by every model that needs the same. A new version is proven there (it loads
and scores its example rows) before any server is asked to serve it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pandas as pd

from core.errors import DeploymentError
from stacks.mlserver.config import MAX_REQUEST_BYTES
from stacks.mlserver.repository import EXAMPLE_FILE
from stacks.tool_environments import ToolEnvironmentError, cache_root, ensure_environment

MLSERVER_VERSION = "1.7.1"
LAUNCHER = Path(__file__).resolve().with_name("launcher.py")
REDIS_CLIENT = "redis>=5"  # small and pure Python: in every serving environment, which capture to
# Redis then shares with serving that captures nothing (one environment to build, not two)
KAFKA_CLIENT = "confluent-kafka>=2.6"  # a 4 MB binary wheel: only where requests are captured to Kafka


def serving_requirements(model_requirements: list[str], capture_url: str | None = None) -> list[str]:
    """MLServer, the exact versions of the libraries that pickle and compile models here, the
    model's own packages (which win over these where both name one), httptools, which uvicorn
    then parses HTTP with instead of pure-Python h11 (bench/serving_settings.py), and the client of
    the stream requests are captured to (MLServer brings orjson, which serialises the captures)."""
    import httptools
    import joblib
    import numpy
    import onnxruntime
    import sklearn

    base = [
        f"mlserver=={MLSERVER_VERSION}",
        f"onnxruntime=={onnxruntime.__version__}",
        f"scikit-learn=={sklearn.__version__}",
        f"joblib=={joblib.__version__}",
        f"numpy=={numpy.__version__}",
        f"pandas=={pd.__version__}",
        # uvloop 0.22+ no longer creates a loop in get_event_loop(), which MLServer 1.7's
        # parallel inference workers call at start: they die at once and no model loads.
        "uvloop<0.22",
        f"httptools=={httptools.__version__}",
        REDIS_CLIENT,
        *([KAFKA_CLIENT] if capture_url and capture_url.startswith("kafka://") else []),
    ]
    own = {_name(requirement) for requirement in model_requirements}
    return [requirement for requirement in base if _name(requirement) not in own] + sorted(model_requirements)


def _name(requirement: str) -> str:
    return requirement.split("==", 1)[0].split("<", 1)[0].lower()


def default_env_root() -> Path:
    """Serving environments live in the user's cache: keyed by their pinned requirements, they are
    shared by every ZenML config and project checkout that needs the same versions."""
    return cache_root("mlserver-envs")


def ensure_serving_env(root: Path, timeout_seconds: float, requirements: list[str]) -> Path:
    """The Python of the serving environment with `requirements` (`serving_requirements(...)`),
    creating the environment once (safe across processes)."""
    try:
        env_dir = ensure_environment(root, "mlserver-env", requirements, timeout_seconds)
    except ToolEnvironmentError as error:
        raise DeploymentError(f"serving environment: {error}") from None
    return env_dir / "bin" / "python"


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


def mlserver_command(
    serving_python: Path, repository: Path, max_request_bytes: int = MAX_REQUEST_BYTES
) -> list[str]:
    """`mlserver start REPOSITORY` through the launcher, which limits request bodies; `-P` keeps the
    launcher's folder (this package) off the server's import path."""
    return [str(serving_python), "-P", str(LAUNCHER), str(repository), str(max_request_bytes)]


def mlserver_environment() -> dict[str, str]:
    """The server's environment: the caller's, minus variables that would leak the ZenML venv in."""
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    environment["PYTHONUNBUFFERED"] = "1"
    return environment
