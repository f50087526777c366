"""MariaDB (Debian's MySQL) with its data in the run folder: SQL sources on MySQL."""

from __future__ import annotations

import getpass
import os

from stacks.servers.accounts import hand_over, service_account
from stacks.servers.base import Launch, ProcessServer
from stacks.servers.config import MySQLServerConfig
from stacks.servers.credentials import Credentials
from stacks.servers.processes import run_setup

CANNOT_CONNECT = 2003  # the client's error when no server answers


class MySQLServer(ProcessServer):
    """The database root account is reachable only through the server's socket file, by the user
    who started it; the configured user has a password and reaches it over TCP."""

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
        hand_over(self.folder, account)
        as_account = [f"--user={account}"] if account else []
        if not (data / "mysql").is_dir():
            command = ["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--skip-test-db"]
            command += ["--auth-root-authentication-method=socket"]
            command += [f"--auth-root-socket-user={getpass.getuser()}"]
            run_setup(command + as_account, self.log, self.servers.startup_timeout_seconds)
        command = ["mariadbd", "--no-defaults", f"--datadir={data}", f"--socket={self.socket}"]
        command += [f"--bind-address={self.config.host}", f"--port={self.config.port}", "--skip-name-resolve"]
        return Launch(
            commands=[command + as_account],
            env=dict(os.environ),
            after_start=lambda: self._create_user_and_databases(credentials.mysql_password),
        )

    def _create_user_and_databases(self, password: str) -> None:
        user = self.config.user.replace("'", "''")
        secret = password.replace("\\", "\\\\").replace("'", "\\'")
        statements = [
            f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY '{secret}'",
            f"ALTER USER '{user}'@'%' IDENTIFIED BY '{secret}'",
        ]
        for database in self.config.databases:
            name = database.replace("`", "``")
            statements += [
                f"CREATE DATABASE IF NOT EXISTS `{name}`",
                f"GRANT ALL PRIVILEGES ON `{name}`.* TO '{user}'@'%'",
            ]
        command = ["mariadb", "--no-defaults", f"--socket={self.socket}", "-u", "root"]
        script = ";\n".join(statements) + ";\n"  # on stdin: the password is in no command line
        run_setup(command, self.log, self.servers.startup_timeout_seconds, stdin=script)
