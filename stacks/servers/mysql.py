"""MariaDB (Debian's MySQL) with its data in the run folder: the ZenML server's store and SQL sources."""

from __future__ import annotations

import getpass

from stacks.servers.accounts import hand_over, service_account
from stacks.servers.base import Launch, ProcessServer
from stacks.servers.config import MySQLServerConfig
from stacks.servers.credentials import Credentials
from stacks.servers.processes import run_setup

CANNOT_CONNECT = 2003  # the client's error when no server answers


class MySQLServer(ProcessServer):
    """The database root account is reachable only through the server's socket file, by the user
    who started it, and is for administration only; one account per purpose (the data sources', the
    ZenML store's), each with a password over TCP and rights on its own databases only."""

    name = "mysql"

    @property
    def config(self) -> MySQLServerConfig:
        return self.servers.mysql

    @property
    def socket(self) -> str:
        return str(self.folder / "data" / "mysqld.sock")

    def ready(self) -> bool:
        import pymysql

        try:
            pymysql.connect(host=self.config.host, port=self.config.port, user="probe", connect_timeout=2)
        except pymysql.OperationalError as error:  # 2003: nothing answers; else it refused the probe
            return bool(error.args) and error.args[0] != CANNOT_CONNECT
        return True

    def launch(self, credentials: Credentials) -> Launch:
        account = service_account("mysql")
        data = self.folder / "data"
        # MariaDB sets its own file modes (group-readable by default): owner-only, as the run folder.
        env = self.environment({"UMASK": "0600", "UMASK_DIR": "0700"})
        hand_over(self.folder, account)
        as_account = [f"--user={account}"] if account else []
        if not (data / "mysql").is_dir():
            command = ["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--skip-test-db"]
            command += ["--auth-root-authentication-method=socket"]
            command += [f"--auth-root-socket-user={getpass.getuser()}"]
            run_setup(command + as_account, self.log, self.servers.startup_timeout_seconds, env)
        command = ["mariadbd", "--no-defaults", f"--datadir={data}", f"--socket={self.socket}"]
        command += [f"--bind-address={self.config.host}", f"--port={self.config.port}", "--skip-name-resolve"]
        return Launch(
            commands=[command + as_account],
            env=env,
            after_start=lambda: self._create_accounts(credentials),
        )

    def _create_accounts(self, credentials: Credentials) -> None:
        """The data sources' account and ZenML's store's, each with its databases, made or put back
        as they should be on every start: every right taken, then those on its own databases given
        (an older version gave the data sources' account ZenML's database too)."""
        accounts = {
            self.config.user: (credentials.mysql_password, self.config.databases),
            self.config.store: (credentials.zenml_store_password, [self.config.store]),
        }
        statements = []
        for name, (password, databases) in accounts.items():
            user = name.replace("'", "''")
            secret = password.replace("\\", "\\\\").replace("'", "\\'")
            statements += [
                f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY '{secret}'",
                f"ALTER USER '{user}'@'%' IDENTIFIED BY '{secret}'",
                f"REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{user}'@'%'",
            ]
            for database in databases:
                quoted = database.replace("`", "``")
                statements += [
                    f"CREATE DATABASE IF NOT EXISTS `{quoted}`",
                    f"GRANT ALL PRIVILEGES ON `{quoted}`.* TO '{user}'@'%'",
                ]
        command = ["mariadb", "--no-defaults", f"--socket={self.socket}", "-u", "root"]
        script = ";\n".join(statements) + ";\n"  # on stdin: the password is in no command line
        run_setup(command, self.log, self.servers.startup_timeout_seconds, stdin=script)
