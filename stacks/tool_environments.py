"""Python environments for tools that cannot share the project's (MLServer, Airflow), made once.

An environment is keyed by what is installed in it, and lives in the user's cache, so every ZenML
config, run folder and checkout that needs the same versions shares it. Creation is locked across
processes and marked complete only at the end, so a killed install is redone, not half-used.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

CACHE_FOLDER = "zenml-mlops-template"


def cache_root(kind: str) -> Path:
    """`~/.cache/zenml-mlops-template/<kind>` (or under $XDG_CACHE_HOME)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / CACHE_FOLDER / kind


class ToolEnvironmentError(Exception):
    """An environment could not be created; the message says which and why."""


def ensure_environment(root: Path, prefix: str, requirements: list[str], timeout_seconds: float) -> Path:
    """The folder of an environment with `requirements` installed (bytecode compiled) under `root`,
    created on first use with `uv` for this interpreter's Python version."""
    py_version = f"{sys.version_info.major}.{sys.version_info.minor}"
    key = hashlib.sha256("\n".join([py_version, *requirements]).encode()).hexdigest()[:12]
    env_dir = root / f"{prefix}-{key}"
    python = env_dir / "bin" / "python"
    ready_marker = env_dir / ".ready"
    root.mkdir(parents=True, exist_ok=True)
    with (root / f".{env_dir.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ready_marker.exists():
            return env_dir
        shutil.rmtree(env_dir, ignore_errors=True)
        uv = _uv_binary()
        for command in (
            [uv, "venv", "--quiet", "--python", py_version, str(env_dir)],
            [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python), *requirements],
        ):
            try:
                subprocess.run(command, check=True, capture_output=True, text=True, timeout=timeout_seconds)
            except subprocess.CalledProcessError as error:
                raise ToolEnvironmentError(
                    f"creating the environment {env_dir} failed: {error.stderr.strip()[-500:]}"
                ) from None
            except subprocess.TimeoutExpired:
                raise ToolEnvironmentError(
                    f"creating the environment {env_dir} took over {timeout_seconds} s"
                ) from None
        ready_marker.write_text("\n".join(requirements))
    return env_dir


def _uv_binary() -> str:
    candidate = Path(sys.executable).with_name("uv")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("uv")
    if found is None:
        raise ToolEnvironmentError("`uv` is needed to create tool environments; install the project again")
    return found
