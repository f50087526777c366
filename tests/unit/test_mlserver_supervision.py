"""The MLServer daemon's supervision: a server that ignores SIGTERM still goes, and never outlives its daemon.

A real child process stands in for a wedged MLServer: it ignores SIGTERM and sleeps.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
WEDGED_SERVER = (
    "import os, signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "open(sys.argv[1], 'w').write(str(os.getpid()))\n"
    "time.sleep(120)\n"
)


def _start_daemon(tmp_path: Path, grace_seconds: float) -> tuple[subprocess.Popen[bytes], int]:
    """A process running `supervise` over the wedged server; returns it and the server's PID."""
    pid_file = tmp_path / "server.pid"
    script = (
        "import os, sys\n"
        "from stacks.mlserver.supervision import supervise\n"
        f"sys.exit(supervise([sys.executable, '-c', {WEDGED_SERVER!r}, {str(pid_file)!r}], "
        f"dict(os.environ), {grace_seconds}))\n"
    )
    daemon = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    deadline = time.monotonic() + 60
    while not (pid_file.is_file() and pid_file.read_text()):
        assert daemon.poll() is None, "the supervisor exited before starting the server"
        assert time.monotonic() < deadline, "the stand-in server never started"
        time.sleep(0.05)
    return daemon, int(pid_file.read_text())


def _gone_within(pid: int, seconds: float) -> bool:
    try:
        process = psutil.Process(pid)
        process.wait(seconds)
    except psutil.NoSuchProcess:
        return True
    except psutil.TimeoutExpired:
        return process.status() == psutil.STATUS_ZOMBIE
    return True


@pytest.fixture
def reaper() -> Iterator[list[int]]:
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_a_server_ignoring_sigterm_is_killed_after_grace(tmp_path: Path, reaper: list[int]) -> None:
    daemon, server = _start_daemon(tmp_path, grace_seconds=1.0)
    reaper.extend([daemon.pid, server])
    daemon.send_signal(signal.SIGTERM)
    assert psutil.Process(server).is_running()  # it ignored the polite signal...
    assert _gone_within(server, 10), "the wedged server outlived its grace period"
    assert daemon.wait(10) != 0  # ...and the daemon reports that it did not end cleanly


def test_the_server_dies_with_a_killed_daemon(tmp_path: Path, reaper: list[int]) -> None:
    daemon, server = _start_daemon(tmp_path, grace_seconds=60.0)
    reaper.extend([daemon.pid, server])
    daemon.kill()
    daemon.wait(10)
    assert _gone_within(server, 10), "the server outlived its killed daemon"
