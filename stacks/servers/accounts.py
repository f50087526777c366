"""Database servers refuse to run as root: as root, they run as the account their Debian package made."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from stacks.servers.processes import ServerError


def database_servers_drop_root() -> bool:
    """This process is root, so the database servers run as their own accounts, which must pass
    through the run folder to reach their folders."""
    return os.geteuid() == 0


def service_account(name: str) -> str | None:
    """`name` when this process is root (the server must drop to it), otherwise None (run as we are)."""
    return name if database_servers_drop_root() else None


def hand_over(folder: Path, account: str | None) -> None:
    """Make `folder` (and what is in it) the account's, after checking the account can reach it."""
    folder.mkdir(parents=True, exist_ok=True)
    if account is None:
        return
    for parent in folder.resolve().parents:
        if not parent.stat().st_mode & 0o001:
            raise ServerError(
                f"the server runs as '{account}' (it refuses root), which cannot enter {parent}; "
                "use a run folder outside it (MLOPS_SERVERS_DIR) or run as a normal user"
            )
    for path in [folder, *folder.rglob("*")]:
        shutil.chown(path, account, account)
