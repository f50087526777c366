"""The ZenML server and dashboard, started by `zenml login --local` as a daemon of ZenML's own."""

from __future__ import annotations

import os
import subprocess

import psutil

from stacks.servers.base import BIN, Server
from stacks.servers.credentials import Credentials
from stacks.servers.processes import ServerError, ServerState, run_setup, tail


class ZenMLServer(Server):
    """ZenML daemonises its server itself: `up` adopts the daemon's PID and `down` asks ZenML to stop it."""

    name = "zenml"
    ready_path = "/health"

    def start(self, credentials: Credentials) -> ServerState:
        command = [str(BIN / "zenml"), "login", "--local", "--ip-address", self.config.host]
        command += ["--port", str(self.config.port)]
        env = {**os.environ, "ZENML_AUTO_OPEN_DASHBOARD": "false"}
        run_setup(command, self.log, self.servers.startup_timeout_seconds, env)
        pid = _daemon_pid()
        if pid is None:
            raise ServerError(
                f"zenml: `zenml login --local` started no server; see {self.log}\n{tail(self.log)}"
            )
        stop = [str(BIN / "zenml"), "logout", "--local"]
        state = ServerState.of(self.name, self.url, [psutil.Process(pid)], self.log, stop_command=stop)
        self.wait_ready(state)
        return state

    def stop(self, state: ServerState) -> None:
        if state.processes():  # ZenML's own stop first; whatever it leaves is terminated
            timeout = self.servers.stop_timeout_seconds * 3
            subprocess.run(state.stop_command, capture_output=True, timeout=timeout, check=False)
        super().stop(state)


def _daemon_pid() -> int | None:
    from zenml.zen_server.deploy.daemon.daemon_zen_server import DaemonZenServer

    service = DaemonZenServer.get_service()
    return service.status.pid if service is not None else None
