"""Helpers for tests that run the real CLI against this session's isolated ZenML store."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

from tests.conftest import PROJECT_ROOT

CLI_TIMEOUT_SECONDS = 600


def run_cli(
    *args: str, timeout: float = CLI_TIMEOUT_SECONDS, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python run.py ARGS` as a user runs it, in this session's ZENML_CONFIG_PATH (or `env`)."""
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "run.py"), *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    """A TCP port nothing listens on at the moment, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


SCHEMES = {"postgres": "postgresql", "mysql": "mysql", "redis": "redis", "kafka": "kafka"}  # others: http


def servers_env(root: Path, *servers: str) -> dict[str, str]:
    """The environment for `run.py servers ...` and the stacks in a ZenML config under `root` and a
    run folder of their own, each named server on a free 127.0.0.1 port (LOCAL_<NAME>_URL).

    The run folder is outside pytest's folders, which are the owner's only: the database servers'
    accounts must pass through its parents (they refuse to run as root; `servers up` lets them
    through the run folder itself). It is removed when the tests end.
    """
    run_folder = Path(tempfile.mkdtemp(prefix="mlops-template-servers-"))
    atexit.register(shutil.rmtree, run_folder, ignore_errors=True)
    return {
        **os.environ,
        "ZENML_CONFIG_PATH": str(root / "zenml"),
        "MLOPS_SERVERS_DIR": str(run_folder),
        **{
            f"LOCAL_{name.upper()}_URL": f"{SCHEMES.get(name, 'http')}://127.0.0.1:{free_port()}"
            for name in servers
        },
    }


def zenml_login(url: str, run_folder: Path) -> requests.Session:
    """A session logged in to the ZenML server `servers up` started, with the run folder's account,
    as the dashboard's login form logs in (the token also comes back as a cookie)."""
    credentials = json.loads((run_folder / "credentials.json").read_text())
    account = {"username": credentials["zenml_username"], "password": credentials["zenml_password"]}
    session = requests.Session()
    login = session.post(f"{url}/api/v1/login", data=account, timeout=30)
    login.raise_for_status()
    session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    return session


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


@pytest.fixture(scope="session")
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_cli


def make_multiclass_frame(n_rows: int = 600, seed: int = 7) -> pd.DataFrame:
    """A learnable three-class problem with numeric and categorical features, missing values
    and string labels: the shape of data a user brings."""
    rng = np.random.default_rng(seed)
    species = rng.choice(["setosa", "versicolor", "virginica"], size=n_rows)
    centre = pd.Series(species).map({"setosa": 0.0, "versicolor": 3.0, "virginica": 6.0}).to_numpy()
    habitat = np.where(
        species == "setosa",
        rng.choice(["marsh", "meadow"], n_rows),
        rng.choice(["forest", "meadow", "hill"], n_rows),
    )
    frame = pd.DataFrame(
        {
            "petal_length": centre + rng.normal(0, 0.8, n_rows),
            "petal_width": centre / 2 + rng.normal(0, 0.6, n_rows),
            "stem_count": rng.integers(1, 9, n_rows),
            "habitat": habitat,
            "species": species,
        }
    )
    frame.loc[rng.choice(n_rows, 30, replace=False), "petal_width"] = np.nan
    frame.loc[rng.choice(n_rows, 20, replace=False), "habitat"] = np.nan
    return frame


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[dict[str, object]], Path]:
    """A copy of configs/training.yaml with some parameters replaced."""
    import yaml

    def write(changes: dict[str, object]) -> Path:
        config = yaml.safe_load((PROJECT_ROOT / "configs" / "training.yaml").read_text())
        for dotted, value in changes.items():
            node = config
            *parents, leaf = dotted.split(".")
            for key in parents:
                node = node.setdefault(key, {})
            node[leaf] = value
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    return write


@pytest.fixture(scope="session", autouse=True)
def zenml_source_root() -> None:
    """Name the source root ZenML resolves artifact types from when a test loads an artifact: under
    pytest-xdist the worker's main module has no file to guess it from."""
    from zenml.utils import source_utils

    source_utils.set_custom_source_root(str(PROJECT_ROOT))
