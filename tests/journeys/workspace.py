"""A new user's copy of the project, in the environment README command 1 makes: what the journeys
run their commands in.

The copy holds the project's files as a fresh clone would (tracked files and new ones that are not
ignored, as they are in the working tree), and `.venv` made by `bash scripts/setup.sh` with no
extra, plus the extras a journey installs the way the docs say. The environment is kept in the
user's cache, keyed by the lock, `pyproject.toml`, `setup.sh`, the Python version and the extras, so
it is built once per lock and reused; the files are copied afresh once per test run, under a lock
the pytest-xdist workers share.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stacks.tool_environments import cache_root
from tests.conftest import PROJECT_ROOT

SETUP_TIMEOUT_SECONDS = 1200
COMMAND_TIMEOUT_SECONDS = 900
KEYED_BY = ("constraints.txt", "pyproject.toml", "scripts/setup.sh")
# One id per test run, the same in every xdist worker: the files are copied once per run.
RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
# Variables the test session sets for itself that a user's shell does not have.
NOT_IN_A_USERS_SHELL = (
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "MLFLOW_TRACKING_URI",
    "ZENML_STORE_URL",
    "PYTEST_CURRENT_TEST",
)


class CommandFailed(AssertionError):
    """A journey's command did not do what the docs say; the message holds its output's tail."""


@dataclass
class Workspace:
    """The project copy (`root`, where commands run) and one journey's own ZenML config and files."""

    root: Path
    home: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def python(self) -> Path:
        return self.root / ".venv" / "bin" / "python"

    def env(self) -> dict[str, str]:
        environment = {k: v for k, v in os.environ.items() if k not in NOT_IN_A_USERS_SHELL}
        environment["ZENML_CONFIG_PATH"] = str(self.home / "zenml")
        return {**environment, **self.extra_env}

    def bash(self, script: str, timeout: float = COMMAND_TIMEOUT_SECONDS) -> str:
        """Run a block of the docs as a user pastes it into a shell in the project; its output."""
        return self._run(["bash", "-euo", "pipefail", "-c", script], timeout)

    def cli(self, *args: str, timeout: float = COMMAND_TIMEOUT_SECONDS) -> str:
        """`.venv/bin/python run.py ARGS`; its output (stdout and stderr)."""
        return self._run([str(self.python), "run.py", *args], timeout)

    def cli_fails(self, *args: str, timeout: float = COMMAND_TIMEOUT_SECONDS) -> tuple[int, str]:
        """`run.py ARGS` expected to fail: its exit code and what it printed on stderr."""
        result = self._process([str(self.python), "run.py", *args], timeout)
        if result.returncode == 0:
            raise CommandFailed(f"`run.py {' '.join(args)}` succeeded: {result.stdout[-2000:]}")
        _no_traceback(result)
        return result.returncode, result.stderr

    def python_json(self, script: str, timeout: float = 300) -> Any:
        """Run Python in the workspace's environment, in the project (ZenML resolves artifact types
        from there); the JSON its last line of output holds."""
        preamble = (
            "import os\n"
            "from zenml.utils import source_utils\n"
            "source_utils.set_custom_source_root(os.getcwd())\n"
        )
        output = self._run([str(self.python), "-c", preamble + script], timeout)
        return json.loads(output.strip().splitlines()[-1])

    def private_copy(self, folder: Path) -> Workspace:
        """The project's files copied to `folder` for a journey that changes code, with the same
        environment (`.venv` linked): run from there, Python imports the copy's modules first."""
        shutil.copytree(
            self.root, folder, ignore=shutil.ignore_patterns(".venv", "__pycache__", "predictions")
        )
        (folder / ".venv").symlink_to(self.root / ".venv")
        return Workspace(root=folder, home=self.home, extra_env=self.extra_env)

    def _run(self, command: list[str], timeout: float) -> str:
        result = self._process(command, timeout)
        if result.returncode != 0:
            raise CommandFailed(
                f"`{' '.join(command[-4:])}` exited with {result.returncode}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        _no_traceback(result)
        return result.stdout + result.stderr

    def _process(self, command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            cwd=self.root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    """A user never sees a traceback: a command succeeds quietly or fails with one line."""
    output = result.stdout + result.stderr
    if "Traceback (most recent call last)" in output:
        raise CommandFailed(
            f"`{' '.join(map(str, result.args[-4:]))}` printed a traceback:\n{output[-4000:]}"
        )


def adopter_project(installs: tuple[str, ...] = ()) -> Path:
    """The project copy with README command 1's environment (`bash scripts/setup.sh`), and then
    `installs`, the commands the docs give for what a journey needs beyond it (an extra)."""
    digest = hashlib.sha256(f"{sys.version_info[:2]}|{installs}".encode())
    for name in KEYED_BY:
        digest.update((PROJECT_ROOT / name).read_bytes())
    folder = cache_root("journeys") / f"project-{'extras' if installs else 'base'}-{digest.hexdigest()[:12]}"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder.parent / f".{folder.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = folder / ".journeys-run"
        if not marker.exists() or marker.read_text() != RUN_ID:
            _copy_project(folder)
            for script in ("bash scripts/setup.sh", *installs):
                subprocess.run(
                    ["bash", "-euo", "pipefail", "-c", script],
                    cwd=folder,
                    check=True,
                    capture_output=True,
                    timeout=SETUP_TIMEOUT_SECONDS,
                    env={k: v for k, v in os.environ.items() if k not in NOT_IN_A_USERS_SHELL},
                )
            marker.write_text(RUN_ID)
            _remove_older_copies(folder)
    return folder


def _remove_older_copies(folder: Path) -> None:
    """Copies of the same kind made for another lock are stale (about 1 GB each): removed, unless
    another test run holds them."""
    kind = folder.name.rsplit("-", 1)[0]
    for other in folder.parent.glob(f"{kind}-*"):
        if other == folder or not other.is_dir():
            continue
        lock_file = other.parent / f".{other.name}.lock"
        with lock_file.open("w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            shutil.rmtree(other, ignore_errors=True)
            lock_file.unlink()


def _copy_project(folder: Path) -> None:
    """The project's files as a clone has them (what `git ls-files` lists, taken from the working
    tree); everything else in the folder but `.venv` is removed."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
            timeout=60,
        )
        .stdout.decode()
        .split("\0")
    )
    for entry in folder.iterdir():
        if entry.name != ".venv":
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    for name in filter(None, listed):
        source = PROJECT_ROOT / name
        if source.is_file():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
