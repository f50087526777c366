"""Run a server as a child that stops when asked, or is killed when it will not or its parent dies.

A server that ignores SIGTERM (MLServer's batcher was seen to wedge) is killed after a grace
period, and a server whose supervising daemon is killed with -9 is killed with it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import threading
from pathlib import Path

PR_SET_PDEATHSIG = 1


def supervise(command: list[str], env: dict[str, str], grace_seconds: float, cwd: Path | None = None) -> int:
    """Run `command` in `cwd` as a child, pass SIGTERM/SIGINT on, kill it if alive `grace_seconds` later.

    The child gets its own process group, so the kill also reaches MLServer's worker processes.
    Returns the child's exit code.
    """
    server = subprocess.Popen(command, env=env, cwd=cwd, preexec_fn=_die_with_parent, start_new_session=True)

    def kill_if_running() -> None:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)

    def forward(signum: int, _frame: object) -> None:
        server.send_signal(signum)
        timer = threading.Timer(grace_seconds, kill_if_running)
        timer.daemon = True
        timer.start()

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return server.wait()


def _die_with_parent() -> None:
    """Runs in the MLServer child: if the daemon is killed (-9), MLServer is killed with it.

    SIGKILL, not SIGTERM: a server wedged enough to need this would ignore a polite signal.
    """
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
