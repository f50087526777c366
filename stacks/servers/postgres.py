"""PostgreSQL from Debian's packages, its cluster in the run folder: MLflow's store and SQL sources."""

from __future__ import annotations

import glob
import os
import subprocess
from pathlib import Path

from stacks.servers.accounts import hand_over, service_account
from stacks.servers.base import Launch, ProcessServer
from stacks.servers.config import PostgresServerConfig
from stacks.servers.credentials import Credentials
from stacks.servers.processes import ServerError, run_setup


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's programs (Debian keeps them off PATH, by major version)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise ServerError("postgres: PostgreSQL is not installed; run scripts/install-test-tools.sh")
    return Path(found[-1]).parent


class PostgresServer(ProcessServer):
    name = "postgres"

    @property
    def config(self) -> PostgresServerConfig:
        return self.servers.postgres

    def ready(self) -> bool:
        try:
            probe = [str(postgres_bin() / "pg_isready"), "-q", "-h", self.config.host]
            probe += ["-p", str(self.config.port), "-t", "2"]
            return subprocess.run(probe, capture_output=True, timeout=10, check=False).returncode == 0
        except (ServerError, OSError, subprocess.TimeoutExpired):
            return False

    def launch(self, credentials: Credentials) -> Launch:
        account = service_account("postgres")
        data = self.folder / "data"
        hand_over(self.folder, account)
        if not (data / "PG_VERSION").is_file():
            self._init_cluster(data, credentials.postgres_password, account)
        command = [str(postgres_bin() / "postgres"), "-D", str(data), "-h", self.config.host]
        command += ["-p", str(self.config.port), "-k", ""]  # TCP only: no socket file to place
        return Launch(
            commands=[command],
            env={**os.environ, "LC_ALL": "C.UTF-8"},
            after_start=lambda: self._create_databases(credentials.postgres_password),
            user=account,
        )

    def _init_cluster(self, data: Path, password: str, account: str | None) -> None:
        """A new cluster whose superuser is the configured user, with a password over TCP."""
        password_file = self.folder / "initial-password"
        descriptor = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(password)
        try:
            hand_over(self.folder, account)
            command = [str(postgres_bin() / "initdb"), "-D", str(data), "-U", self.config.user]
            command += [f"--pwfile={password_file}", "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"]
            run_setup(command, self.log, self.servers.startup_timeout_seconds, user=account)
        finally:
            password_file.unlink()

    def _create_databases(self, password: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(
            host=self.config.host,
            port=self.config.port,
            user=self.config.user,
            password=password,
            dbname="postgres",
            autocommit=True,
        ) as connection:
            existing = {row[0] for row in connection.execute("SELECT datname FROM pg_database")}
            for database in self.config.databases:
                if database not in existing:
                    connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
