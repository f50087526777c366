"""MLflow's tracking server with basic auth, its runs in PostgreSQL and its artifacts in the S3 server."""

from __future__ import annotations

from urllib.parse import urlsplit

from stacks.servers.base import BIN, Launch, ProcessServer
from stacks.servers.config import MLflowServerConfig
from stacks.servers.credentials import Credentials, aws_environment


class MLflowServer(ProcessServer):
    name = "mlflow"
    ready_path = "/health"
    needs = ("s3", "postgres")  # its artifacts live in the S3 server, its runs in PostgreSQL
    inherits = ("MLFLOW_DISABLE_TELEMETRY",)

    @property
    def config(self) -> MLflowServerConfig:
        return self.servers.mlflow

    def launch(self, credentials: Credentials) -> Launch:
        self.folder.mkdir(parents=True, exist_ok=True)
        auth_config = self.folder / "basic_auth.ini"
        auth_config.write_text(
            "[mlflow]\n"
            "default_permission = READ\n"
            f"database_uri = sqlite:///{self.folder / 'auth.db'}\n"
            f"admin_username = {credentials.mlflow_username}\n"
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            "grant_default_workspace_access = true\n",
            encoding="utf-8",
        )
        env = self.environment(
            {
                **aws_environment(credentials),
                "MLFLOW_S3_ENDPOINT_URL": self.servers.s3.url,
                "MLFLOW_AUTH_CONFIG_PATH": str(auth_config),
                "MLFLOW_AUTH_ADMIN_PASSWORD": credentials.mlflow_password,
                "MLFLOW_FLASK_SERVER_SECRET_KEY": credentials.mlflow_flask_secret_key,
                # Only its own Host header (MLflow's default takes any private address: DNS rebinding).
                # Browsers: MLflow refuses a foreign origin's writes and grants CORS to loopback ones only.
                "MLFLOW_SERVER_ALLOWED_HOSTS": urlsplit(self.url).netloc,
                # From the environment, not the command line, which every user of the machine can read.
                "MLFLOW_BACKEND_STORE_URI": self.servers.postgres.store_url(
                    "postgresql+psycopg", credentials.mlflow_store_password
                ),
            }
        )
        command = [str(BIN / "mlflow"), "server", "--host", self.config.host, "--port", str(self.config.port)]
        command += ["--workers", str(self.config.workers)]
        command += ["--artifacts-destination", self.config.artifacts_destination, "--app-name", "basic-auth"]
        return Launch(commands=[command], env=env)
