"""PostgreSQL from Debian's packages, its cluster in the run folder: MLflow's store and SQL sources.

Its superuser (`postgres`) is for administration only: it makes one account per purpose, each the
owner of its databases and allowed into no other (CONNECT taken from PUBLIC), none a superuser, so
none can run a program on the server (`COPY ... TO PROGRAM`) or read another's data.
"""

from __future__ import annotations

import glob
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stacks.servers.accounts import hand_over, service_account
from stacks.servers.base import Launch, ProcessServer
from stacks.servers.config import PostgresServerConfig
from stacks.servers.credentials import Credentials
from stacks.servers.processes import ServerError, run_setup

if TYPE_CHECKING:
    import psycopg

ADMIN = "postgres"  # the cluster's superuser


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
        env = self.environment({"LC_ALL": "C.UTF-8"})
        hand_over(self.folder, account)
        if not (data / "PG_VERSION").is_file():
            self._init_cluster(data, credentials.postgres_admin_password, account, env)
        command = [str(postgres_bin() / "postgres"), "-D", str(data), "-h", self.config.host]
        command += ["-p", str(self.config.port), "-k", ""]  # TCP only: no socket file to place
        return Launch(
            commands=[command],
            env=env,
            after_start=lambda: self._create_accounts(credentials, data),
            user=account,
        )

    def _init_cluster(self, data: Path, password: str, account: str | None, env: dict[str, str]) -> None:
        """A new cluster whose superuser has a password, over TCP only."""
        password_file = self.folder / "initial-password"
        descriptor = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(password)
        try:
            hand_over(self.folder, account)
            command = [str(postgres_bin() / "initdb"), "-D", str(data), "-U", ADMIN]
            command += [f"--pwfile={password_file}", "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"]
            run_setup(command, self.log, self.servers.startup_timeout_seconds, env, account)
        finally:
            password_file.unlink()

    def _create_accounts(self, credentials: Credentials, data: Path) -> None:
        """The data sources' account and MLflow's store's, each with its databases, made or put back
        as they should be on every start (so a grant changed here reaches an existing cluster)."""
        from psycopg import sql

        accounts = {
            self.config.user: (credentials.postgres_password, self.config.databases),
            self.config.store: (credentials.mlflow_store_password, [self.config.store]),
        }
        with self._as_admin(credentials, data) as connection:
            roles = {row[0] for row in connection.execute("SELECT rolname FROM pg_roles")}
            existing = {row[0] for row in connection.execute("SELECT datname FROM pg_database")}
            for user, (password, databases) in accounts.items():
                role = sql.Identifier(user)
                if user not in roles:
                    connection.execute(sql.SQL("CREATE ROLE {}").format(role))
                # Its SCRAM verifier goes to the server, not the password (a failed statement is logged).
                verifier = connection.pgconn.encrypt_password(
                    password.encode(), user.encode(), b"scram-sha-256"
                )
                connection.execute(
                    sql.SQL(
                        "ALTER ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION"
                        " NOBYPASSRLS PASSWORD {}"
                    ).format(role, sql.Literal(verifier.decode()))
                )
                for name in databases:
                    database = sql.Identifier(name)
                    if name not in existing:
                        connection.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(database, role))
                    connection.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(database, role))
                    connection.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(database))

    def _as_admin(self, credentials: Credentials, data: Path) -> psycopg.Connection[tuple[Any, ...]]:
        import psycopg

        try:
            return psycopg.connect(
                host=self.config.host,
                port=self.config.port,
                user=ADMIN,
                password=credentials.postgres_admin_password,
                dbname="postgres",
                autocommit=True,
            )
        except psycopg.OperationalError as error:
            reason = " ".join(str(error).split())
            raise ServerError(
                f"postgres: the cluster in {data} refuses its superuser '{ADMIN}' ({reason}): it was "
                "made before the servers had one account per purpose, or with another "
                f"credentials.json; move {data} away and `servers up` makes a new cluster"
            ) from None
