"""A real Git + DVC repository for the DVC source's tests: one tagged revision per frame, each pushed
to a local DVC remote, and the repository's own cache emptied, so reading a revision goes through
the remote as it would on a fresh clone."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

DVC = str(Path(sys.executable).parent / "dvc")


def make_dvc_repo(root: Path, path: str, revisions: dict[str, pd.DataFrame]) -> Path:
    """`root/repo`, where `path` holds each frame at its tag (in order); the remote is `root/remote`."""
    repo, remote = root / "repo", root / "remote"
    repo.mkdir(parents=True)

    def run(*command: str) -> None:
        subprocess.run(command, cwd=repo, check=True, capture_output=True, timeout=120)

    run("git", "init", "-q")
    run("git", "config", "user.email", "tests@example.com")
    run("git", "config", "user.name", "tests")
    run(DVC, "init", "-q")
    run(DVC, "remote", "add", "-d", "local", str(remote))
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    for tag, frame in revisions.items():
        frame.to_csv(target, index=False)
        run(DVC, "add", "-q", path)
        run("git", "add", "-A")
        run("git", "commit", "-q", "-m", f"data {tag}")
        run("git", "tag", tag)
        run(DVC, "push", "-q")
    shutil.rmtree(repo / ".dvc" / "cache")
    return repo


def rev_parse(repo: Path, rev: str) -> str:
    answer = subprocess.run(["git", "rev-parse", rev], cwd=repo, check=True, capture_output=True, text=True)
    return answer.stdout.strip()
