"""Where a run's code came from: the project's Git commit, whether the tree had changes, and the
versions of the libraries that shape a model. Taken when the run is launched, on the machine that
launches it (an orchestrator's container may hold no Git repository)."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = ("scikit-learn", "zenml", "mlflow", "pandas", "evidently")


def code_provenance() -> dict[str, Any]:
    """`git_commit` and `git_dirty` (None outside a Git checkout) and `libraries` (name -> version)."""
    import git

    try:
        repo = git.Repo(PROJECT_ROOT)
        commit: str | None = repo.head.commit.hexsha
        dirty: bool | None = repo.is_dirty(untracked_files=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):  # ValueError: no commit yet
        commit, dirty = None, None
    return {
        "git_commit": commit,
        "git_dirty": dirty,
        "libraries": {name: metadata.version(name) for name in LIBRARIES},
    }
