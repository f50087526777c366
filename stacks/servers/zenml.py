"""The ZenML server and dashboard, its store in the MySQL server (MariaDB) as a production ZenML
server keeps it, run as ZenML's own local server runs (no login on 127.0.0.1); `up` connects this
client to it and `down` puts the client back on its local store."""

from __future__ import annotations

import os
import sys

from stacks.servers.base import Launch, ProcessServer
from stacks.servers.credentials import Credentials
from stacks.servers.processes import ServerState


class ZenMLServer(ProcessServer):
    name = "zenml"
    ready_path = "/health"
    needs = ("mysql",)  # its store

    def launch(self, credentials: Credentials) -> Launch:
        from zenml.constants import ZEN_SERVER_ENTRYPOINT

        env = {
            **os.environ,
            # The store, from the environment rather than a command line every user can read; the
            # server creates or migrates its tables on start.
            "ZENML_STORE_URL": self.servers.mysql.sqlalchemy_url(
                "mysql", credentials.mysql_password, "zenml"
            ),
            "ZENML_CONFIG_PATH": str(self.folder / "config"),  # the server's own, not the client's
            "ZENML_SERVER": "true",
            "ZENML_SERVER_DEPLOYMENT_TYPE": "local",
            "ZENML_SERVER_AUTH_SCHEME": "NO_AUTH",
            "ZENML_SERVER_AUTO_ACTIVATE": "True",
            "ZENML_SERVER_ALLOW_LOCAL_FILE_ACCESS": "true",
        }
        command = [sys.executable, "-m", "uvicorn", ZEN_SERVER_ENTRYPOINT, "--host", self.config.host]
        command += ["--port", str(self.config.port), "--log-level", "warning", "--no-server-header"]
        return Launch(commands=[command], env=env, after_start=self._connect_client)

    def stop(self, state: ServerState) -> None:
        self._disconnect_client()
        super().stop(state)

    def _connect_client(self) -> None:
        """Point this client's ZenML config at the server, as `zenml login --local` does."""
        from zenml.config.global_config import GlobalConfiguration
        from zenml.zen_stores.rest_zen_store import RestZenStoreConfiguration

        GlobalConfiguration().set_store(RestZenStoreConfiguration(url=self.url))

    def _disconnect_client(self) -> None:
        """Back to the client's local store, if the client is still on this server."""
        from zenml.config.global_config import GlobalConfiguration

        config = GlobalConfiguration()
        if config.store_configuration.url.rstrip("/") == self.url:
            config.set_default_store()
