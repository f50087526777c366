"""`python run.py servers up|down|status`: the servers of one run folder, started and stopped as a set.

Each server runs in the background, bound to its URL's host (127.0.0.1 by default). Their PIDs,
logs, data and the credentials they were given live in the run folder (its owner's only, changed
by one `up` or `down` at a time), so `down` stops exactly what `up` started and a second `up`
reuses what is running. The credentials go into ZenML secrets, which the stacks in `stacks/*.yaml`
reference; each server is started with a fixed list of environment variables (`Server.environment`).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from core.errors import ConfigError
from stacks.servers.accounts import database_servers_drop_root
from stacks.servers.airflow import AirflowServer
from stacks.servers.azure import AzureServer
from stacks.servers.base import Server
from stacks.servers.config import ServersConfig
from stacks.servers.credentials import Credentials, load_or_create_credentials, store_secrets
from stacks.servers.gcs import GCSServer
from stacks.servers.kafka import KafkaServer
from stacks.servers.mlflow import MLflowServer
from stacks.servers.mysql import MySQLServer
from stacks.servers.postgres import PostgresServer
from stacks.servers.processes import ServerState, read_states, write_states
from stacks.servers.redis import RedisServer
from stacks.servers.run_folder import make_private, run_folder_lock
from stacks.servers.s3 import S3Server
from stacks.servers.zenml import ZenMLServer

# Start order: a server comes after those it needs.
SERVERS: tuple[type[Server], ...] = (
    S3Server,
    PostgresServer,
    MySQLServer,
    RedisServer,
    KafkaServer,
    GCSServer,
    AzureServer,
    MLflowServer,
    ZenMLServer,
    AirflowServer,
)


@dataclass(frozen=True)
class ServerReport:
    name: str
    url: str
    running: bool
    answering: bool
    pids: list[int]
    log: str

    @property
    def state(self) -> str:
        if not self.running:
            return "DOWN"
        return "up" if self.answering else "running, not answering"


class LocalServers:
    """The servers of one run folder."""

    def __init__(self, config: ServersConfig) -> None:
        self.config = config
        self.folder = config.run_folder
        self._state_file = self.folder / "state.json"
        self._servers = {server.name: server(config) for server in SERVERS}

    def known(self) -> list[str]:
        return list(self._servers)

    def up(self, names: list[str]) -> list[ServerReport]:
        """Start the named servers (all by default) unless they are already up.

        They start at once, each as soon as the servers it needs answer (MLflow after S3, while the
        ZenML server starts beside them): a start is mostly waiting for the server to answer.
        Whatever started is recorded, so `down` stops it even when another one failed. The run
        folder is this `up`'s alone meanwhile: another `up` waits, then finds these servers running.
        """
        credentials = load_or_create_credentials(self.folder)
        with run_folder_lock(self.folder):
            make_private(self.folder, enterable=database_servers_drop_root())
            self._start(names, credentials)
            store_secrets(credentials, self.config)
        return self.status()

    def _start(self, names: list[str], credentials: Credentials) -> None:
        states = read_states(self._state_file)
        record = threading.Lock()
        starts: dict[str, Future[None]] = {}

        def start(name: str) -> None:
            for need in self._servers[name].needs:
                if need in starts:
                    starts[need].result()  # a failed need fails this start too, with its error
            current = states.get(name)
            if current:  # part of it died (one of Airflow's three processes, say): start it afresh
                self._servers[name].stop(current)
            state = self._servers[name].start(credentials)
            with record:  # written in the order of SERVERS, whichever start finished first
                states[name] = state
                write_states(self._state_file, {k: states[k] for k in self._servers if k in states})

        to_start = [name for name in self._ordered(names) if not _running(states.get(name))]
        with ThreadPoolExecutor(max_workers=max(len(to_start), 1)) as pool:
            for name in to_start:  # in dependency order: a need is submitted before what needs it
                starts[name] = pool.submit(start, name)
        failures = [error for future in starts.values() if (error := future.exception()) is not None]
        if failures:
            raise failures[0]

    def down(self) -> list[str]:
        """Stop everything `up` started, at once, each after the servers that need it; the names stopped."""
        if not self._state_file.is_file():
            return []
        with run_folder_lock(self.folder):
            return self._stop()

    def _stop(self) -> list[str]:
        states = read_states(self._state_file)
        record = threading.Lock()
        stops: dict[str, Future[None]] = {}
        needed_by = {
            name: [other for other in states if name in self._servers[other].needs] for name in states
        }

        def stop(name: str) -> None:
            for other in needed_by[name]:  # submitted before this one (SERVERS lists needs first)
                stops[other].result()
            self._servers[name].stop(states[name])
            with record:
                del states[name]
                write_states(self._state_file, states)

        with ThreadPoolExecutor(max_workers=max(len(states), 1)) as pool:
            for name in reversed(list(states)):  # SERVERS order reversed: what needs a server first
                stops[name] = pool.submit(stop, name)
        for future in stops.values():
            future.result()
        return list(stops)

    def status(self) -> list[ServerReport]:
        reports = []
        for state in read_states(self._state_file).values():
            alive = state.processes()
            reports.append(
                ServerReport(
                    name=state.name,
                    url=state.url,
                    running=bool(alive) and len(alive) == len(state.pids),
                    answering=self._servers[state.name].ready(),
                    pids=[process.pid for process in alive],
                    log=state.log,
                )
            )
        return reports

    def _ordered(self, names: list[str]) -> list[str]:
        unknown = sorted(set(names) - set(self._servers))
        if unknown:
            raise ConfigError(
                f"servers: unknown server(s) {', '.join(unknown)}; known: {', '.join(self.known())}"
            )
        wanted = set(names or self._servers)
        for name in list(wanted):
            wanted.update(self._servers[name].needs)
        return [name for name in self._servers if name in wanted]


def _running(state: ServerState | None) -> bool:
    return state is not None and len(state.processes()) == len(state.pids)
