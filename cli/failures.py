"""What the CLI does with an error nobody foresaw (from ZenML, MLflow, a server or a bug): its
traceback goes to a log file of its own and the user gets one line saying what failed and where
that file is; `--debug` prints the traceback instead."""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path

from core.redaction import redact_text
from stacks.tool_environments import cache_root


def save_traceback(error: BaseException) -> Path:
    """Write the error's traceback to a new file, readable by its owner only, with the passwords of
    the URLs it quotes redacted; return its path."""
    folder = cache_root("logs")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"error-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    text = redact_text("".join(traceback.format_exception(error)))
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def one_line(error: BaseException) -> str:
    """`Type: first line of the message`, the way a user reads it in a terminal (its URLs redacted)."""
    lines = [line.strip() for line in redact_text(str(error)).strip().splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
