"""The one rule for model names and versions: each becomes a folder name (MLServer's repository, the
Seldon staging folder, a removed deployment's files), so it may hold no path separator and cannot
climb out of its folder."""

from __future__ import annotations

import re

from core.errors import ConfigError

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def checked_name(name: str, what: str) -> str:
    """`name` if it is safe as one folder name; else a ConfigError naming `what` (an option, a key)."""
    if not SAFE_NAME.fullmatch(name) or ".." in name:
        raise ConfigError(
            f"{what}: {name!r} is not a valid name; use letters, digits, '_', '.' and '-', starting "
            "with a letter or digit, without '..'"
        )
    return name
