"""The ZenML server and dashboard, its store in the MySQL server (MariaDB), locked as a production
ZenML server is: every call but `/health` needs a login (the run folder's account), only its own
origin may call it from a browser, and its secrets store is encrypted. `up` logs this client in
with that account, as `zenml login` does, and `down` puts the client back on its local store."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import requests

from stacks.servers.base import Launch, ProcessServer
from stacks.servers.credentials import Credentials
from stacks.servers.processes import ServerState


class ZenMLServer(ProcessServer):
    name = "zenml"
    ready_path = "/health"
    needs = ("mysql",)  # its store
    inherits = ("ZENML_ANALYTICS_OPT_IN",)

    def launch(self, credentials: Credentials) -> Launch:
        from zenml.constants import ZEN_SERVER_ENTRYPOINT

        self._encrypt_secrets_kept_in_clear(credentials)
        env = self.environment(
            {
                # The store, from the environment rather than a command line every user can read; the
                # server creates or migrates its tables on start.
                "ZENML_STORE_URL": self._store_url(credentials),
                "ZENML_CONFIG_PATH": str(self.folder / "config"),  # the server's own, not the client's
                "ZENML_SERVER": "true",
                "ZENML_SERVER_DEPLOYMENT_TYPE": "local",
                "ZENML_SERVER_AUTH_SCHEME": "OAUTH2_PASSWORD_BEARER",  # a password or an API key per caller
                # A fresh store starts activated with the run folder's account (ZenML's own local server
                # gives it no password); tokens are signed with a key that outlives a restart.
                "ZENML_SERVER_AUTO_ACTIVATE": "True",
                "ZENML_DEFAULT_USER_NAME": credentials.zenml_username,
                "ZENML_DEFAULT_USER_PASSWORD": credentials.zenml_password,
                "ZENML_SERVER_JWT_SECRET_KEY": credentials.zenml_jwt_secret_key,
                "ZENML_SERVER_CORS_ALLOW_ORIGINS": self.url,  # unset, ZenML lets every origin call it
                "ZENML_SECRETS_STORE_TYPE": "sql",
                "ZENML_SECRETS_STORE_ENCRYPTION_KEY": credentials.zenml_encryption_key,
                "ZENML_SERVER_ALLOW_LOCAL_FILE_ACCESS": "true",
            }
        )
        command = [sys.executable, "-m", "uvicorn", ZEN_SERVER_ENTRYPOINT, "--host", self.config.host]
        command += ["--port", str(self.config.port), "--log-level", "warning", "--no-server-header"]
        return Launch(commands=[command], env=env, after_start=lambda: self._connect_client(credentials))

    def stop(self, state: ServerState) -> None:
        self._disconnect_client()
        super().stop(state)

    def _store_url(self, credentials: Credentials, driver: str = "mysql") -> str:
        return self.servers.mysql.store_url(driver, credentials.zenml_store_password)

    def _connect_client(self, credentials: Credentials) -> None:
        """Log this client in with the run folder's account, as `zenml login` does: ZenML keeps the
        password in its credentials file (owner-only here) and gets tokens with it, so every later
        `zenml` command and pipeline run is logged in."""
        from zenml.config.global_config import GlobalConfiguration
        from zenml.login.credentials_store import CREDENTIALS_STORE_FILENAME, get_credentials_store
        from zenml.zen_stores.rest_zen_store import RestZenStoreConfiguration

        self._give_a_password_to_a_store_from_before_logins(credentials)
        config = GlobalConfiguration()
        kept = Path(config.config_directory) / CREDENTIALS_STORE_FILENAME
        kept.touch(mode=0o600)
        kept.chmod(0o600)  # ZenML writes it in place: it stays owner-only
        get_credentials_store().set_password(self.url, credentials.zenml_username, credentials.zenml_password)
        config.set_store(RestZenStoreConfiguration(url=self.url))

    def _disconnect_client(self) -> None:
        """Back to the client's local store, if the client is still on this server, and its login
        forgotten."""
        from zenml.config.global_config import GlobalConfiguration
        from zenml.login.credentials_store import get_credentials_store

        config = GlobalConfiguration()
        if config.store_configuration.url.rstrip("/") == self.url:
            config.set_default_store()
        get_credentials_store().clear_credentials(self.url)

    def _give_a_password_to_a_store_from_before_logins(self, credentials: Credentials) -> None:
        """A store the server made while it asked for no login has its account without a password:
        it gets the run folder's. A store with a password refuses the empty one (401)."""
        api = f"{self.url}/api/v1"
        login = requests.post(
            f"{api}/login", data={"username": credentials.zenml_username, "password": ""}, timeout=30
        )
        if login.ok:
            requests.put(
                f"{api}/current-user",
                json={"password": credentials.zenml_password, "old_password": ""},
                headers={"Authorization": f"Bearer {login.json()['access_token']}"},
                timeout=30,
            ).raise_for_status()

    def _encrypt_secrets_kept_in_clear(self, credentials: Credentials) -> None:
        """Encrypt, with the run folder's key, the secrets a store kept in clear before the server had
        one (ZenML keeps a secret's values as base64 JSON without a key, AES-GCM with one), so that
        the server still reads them; a fresh store has no secret table yet."""
        import sqlalchemy
        from sqlalchemy_utils.types.encrypted.encrypted_type import AesGcmEngine

        cipher = AesGcmEngine()
        cipher._update_key(credentials.zenml_encryption_key)  # as ZenML's SQL secrets store sets it
        engine = sqlalchemy.create_engine(self._store_url(credentials, "mysql+pymysql"))
        try:
            with engine.begin() as connection:
                if not sqlalchemy.inspect(connection).has_table("secret"):
                    return
                for secret_id, stored in connection.execute(
                    sqlalchemy.text("SELECT id, `values` FROM secret")
                ):
                    try:
                        values = json.loads(base64.b64decode(stored))
                    except ValueError:  # not base64 JSON: encrypted already
                        continue
                    connection.execute(
                        sqlalchemy.text("UPDATE secret SET `values` = :values WHERE id = :id"),
                        {"values": cipher.encrypt(json.dumps(values)), "id": secret_id},
                    )
        finally:
            engine.dispose()
