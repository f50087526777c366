"""What every local server is to `servers up`: a name, a URL that says it is ready, and how to launch it."""

from __future__ import annotations

import os
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import requests

from stacks.servers.config import ServerConfig, ServersConfig
from stacks.servers.credentials import Credentials
from stacks.servers.processes import ServerError, ServerState, spawn, tail, terminate_groups

PROBE_INTERVAL_SECONDS = 0.5
BIN = Path(sys.executable).parent  # the project environment's commands (mlflow, uv, zenml)
# What every server takes from the environment of whoever starts it (and LC_*): where programs are,
# home, language, temporary folder, time zone, and the do-not-track opt-out. Nothing else.
INHERITED = ("PATH", "HOME", "LANG", "LANGUAGE", "TMPDIR", "TZ", "DO_NOT_TRACK")


@dataclass(frozen=True)
class Launch:
    """How to start one server: its long-running processes, all sharing `env`, and what to do once
    it answers (create buckets, replay a recording)."""

    commands: list[list[str]]
    env: dict[str, str]
    after_start: Callable[[], None] | None = field(default=None)
    user: str | None = None  # the account to run them as (a database that refuses root)


class Server(ABC):
    """One server of `configs/servers.yaml`: where it answers, how to start it and how to stop it."""

    name: ClassVar[str]
    ready_path: ClassVar[str] = ""  # appended to the URL: answers once the server is ready
    needs: ClassVar[tuple[str, ...]] = ()  # servers that must run first
    inherits: ClassVar[tuple[str, ...]] = ()  # more of the user's variables it reads: a telemetry opt-out

    def __init__(self, servers: ServersConfig) -> None:
        self.servers = servers
        self.folder = servers.run_folder / self.name  # its data, environments, installs
        self.log = servers.run_folder / "logs" / f"{self.name}.log"

    @property
    def config(self) -> ServerConfig:
        config: ServerConfig = getattr(self.servers, self.name)
        return config

    @property
    def url(self) -> str:
        return self.config.url

    @property
    def ready_url(self) -> str:
        return self.url + self.ready_path

    def environment(self, variables: Mapping[str, str]) -> dict[str, str]:
        """What the server's processes start with: `variables` (what it needs), the few of the user's
        that every program needs (INHERITED, LC_*) and those it `inherits`; nothing else of the user's,
        so no cloud token or password of theirs reaches a server, its children or its log."""
        names = {*INHERITED, *self.inherits}
        passed = {
            name: value for name, value in os.environ.items() if name in names or name.startswith("LC_")
        }
        return {**passed, **variables}

    def is_ready(self, response: requests.Response) -> bool:
        return response.status_code < 500

    @abstractmethod
    def start(self, credentials: Credentials) -> ServerState:
        """Start the server and wait until it is ready; what was started is stopped on failure."""

    def stop(self, state: ServerState) -> None:
        terminate_groups(state.processes(), self.servers.stop_timeout_seconds)

    def ready(self) -> bool:
        """The server answers (a database server overrides this with its own protocol's probe)."""
        try:
            return self.is_ready(requests.get(self.ready_url, timeout=2))
        except requests.RequestException:
            return False

    def wait_ready(self, state: ServerState) -> None:
        deadline = time.monotonic() + self.servers.startup_timeout_seconds
        while not self.ready():
            if len(state.processes()) < len(state.pids):
                raise ServerError(
                    f"{self.name}: exited while starting; see {state.log}\n{tail(Path(state.log))}"
                )
            if time.monotonic() > deadline:
                raise ServerError(
                    f"{self.name}: not ready at {self.ready_url} after "
                    f"{self.servers.startup_timeout_seconds:.0f} s; see {state.log}"
                )
            time.sleep(PROBE_INTERVAL_SECONDS)


class ProcessServer(Server):
    """A server that runs as processes of ours: a subclass says how to launch them."""

    @abstractmethod
    def launch(self, credentials: Credentials) -> Launch:
        """Prepare what the server needs (once) and say how to start it."""

    def start(self, credentials: Credentials) -> ServerState:
        """Launch the server, wait until it is ready; whatever was started is stopped on failure."""
        if self.ready():
            raise ServerError(
                f"{self.name}: something else already answers on {self.url}; stop it or change the URL"
            )
        launch = self.launch(credentials)
        processes = [spawn(command, launch.env, self.log, launch.user) for command in launch.commands]
        state = ServerState.of(self.name, self.url, processes, self.log)
        try:
            self.wait_ready(state)
            if launch.after_start is not None:
                launch.after_start()
        except BaseException:
            self.stop(state)
            raise
        return state
