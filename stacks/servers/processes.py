"""Background processes that outlive the command that started them, recorded so that exactly they
are stopped later, even when their PIDs have been reused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import psutil

from core.errors import UserFacingError
from stacks.servers.run_folder import write_private


class ServerError(UserFacingError):
    """A server would not start, or is not where its config says."""


@dataclass
class ServerState:
    """What `up` started: enough for `down` to stop exactly that and `status` to report it."""

    name: str
    url: str
    pids: list[int]
    started_at: list[float]  # each process's create time, so a reused PID is never taken for ours
    log: str

    @classmethod
    def of(
        cls,
        name: str,
        url: str,
        processes: list[psutil.Process],
        log: Path,
    ) -> ServerState:
        return cls(
            name=name,
            url=url,
            pids=[process.pid for process in processes],
            started_at=[process.create_time() for process in processes],
            log=str(log),
        )

    def processes(self) -> list[psutil.Process]:
        alive = []
        for pid, created in zip(self.pids, self.started_at, strict=True):
            try:
                process = psutil.Process(pid)
                if abs(process.create_time() - created) < 1 and process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
            except psutil.NoSuchProcess:
                continue
        return alive


def read_states(path: Path) -> dict[str, ServerState]:
    if not path.is_file():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    known = {item.name for item in fields(ServerState)}  # a record from an older version may have more
    return {
        name: ServerState(**{k: v for k, v in entry.items() if k in known}) for name, entry in raw.items()
    }


def write_states(path: Path, states: dict[str, ServerState]) -> None:
    """Replace the record whole (`up` and `down` hold the run folder's lock while they change it)."""
    write_private(path, json.dumps({name: asdict(s) for name, s in states.items()}, indent=2))


def spawn(command: list[str], env: dict[str, str], log: Path, user: str | None = None) -> psutil.Process:
    """Start a process in its own session (so its children stop with it), output appended to `log`,
    as `user` when given."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            user=user,
            group=user,
        )
    return psutil.Process(process.pid)


def run_setup(
    command: list[str],
    log: Path,
    timeout: float,
    env: dict[str, str] | None = None,
    user: str | None = None,
    stdin: str | None = None,
) -> None:
    """A one-time set-up command (install, migrate, a daemon's start); output to `log`, a failure
    names it. Run as `user` when given, with `stdin` as its input (how a password is passed)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        try:
            result = subprocess.run(
                command,
                input=stdin.encode() if stdin is not None else None,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                timeout=timeout,
                check=False,
                user=user,
                group=user,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ServerError(f"set-up `{' '.join(command[:3])} ...` failed: {error}; see {log}") from None
    if result.returncode != 0:
        raise ServerError(f"set-up `{' '.join(command[:3])} ...` failed; see {log}\n{tail(log)}")


def terminate_groups(processes: list[psutil.Process], timeout: float) -> None:
    """SIGTERM each process's group at once, SIGKILL whatever is left `timeout` seconds later.

    At once, not one after the other: Airflow's scheduler alone waits out most of the timeout.
    """
    members: list[psutil.Process] = []
    for process in processes:
        try:
            group = os.getpgid(process.pid)
            members += [process, *process.children(recursive=True)]
            if group == process.pid:
                os.killpg(group, signal.SIGTERM)
            else:
                process.terminate()
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    _, alive = psutil.wait_procs(members, timeout=timeout)
    for member in alive:
        try:
            member.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(alive, timeout=timeout)


def tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
