"""`configs/servers.yaml`: where each server listens and what it needs, validated before anything starts."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import field_validator

from core.config_files import expand_env, read_yaml_mapping, validate
from core.types import StrictModel

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "servers.yaml"


class ServerConfig(StrictModel):
    """What every server has: the URL it answers on (it binds to the URL's host)."""

    scheme: ClassVar[str] = "http"
    url: str

    @field_validator("url")
    @classmethod
    def _url_with_port(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme != cls.scheme or not parts.hostname or not parts.port or parts.path.strip("/"):
            raise ValueError(f"'{url}' must be {cls.scheme}://HOST:PORT")
        return url.rstrip("/")

    @property
    def host(self) -> str:
        return str(urlsplit(self.url).hostname)

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 0)


class S3ServerConfig(ServerConfig):
    buckets: list[str]


class MLflowServerConfig(ServerConfig):
    artifacts_destination: str
    workers: int = 1


class GCSServerConfig(ServerConfig):
    bucket: str


class AzureServerConfig(ServerConfig):
    container: str
    azurite: str  # npm package spec, e.g. azurite@3.35.0


class AirflowServerConfig(ServerConfig):
    packages: list[str]
    dag_refresh_seconds: int = 5


class DatabaseServerConfig(ServerConfig):
    """A database server, with one account per purpose, each owning its databases and allowed into
    no other: the data sources' (`user`, owner of `databases`) and that of the server whose store it
    is (`store`: account and database of one name). Its administrator is for administration only."""

    store: ClassVar[str]
    user: str = "mlops"
    databases: list[str]

    @field_validator("databases")
    @classmethod
    def _not_the_store(cls, databases: list[str]) -> list[str]:
        if cls.store in databases:
            raise ValueError(
                f"'{cls.store}' is the {cls.store} server's store, with an account of its own; "
                "list your data sources' databases only"
            )
        return databases

    def store_url(self, driver: str, password: str) -> str:
        """The store's database as its own account, for SQLAlchemy (and the tools built on it),
        password included: hand it over in an environment variable, never on a command line."""
        from sqlalchemy.engine import URL

        return URL.create(
            driver,
            username=self.store,
            password=password,
            host=self.host,
            port=self.port,
            database=self.store,
        ).render_as_string(hide_password=False)


class PostgresServerConfig(DatabaseServerConfig):
    scheme = "postgresql"
    store = "mlflow"  # MLflow's backend store


class MySQLServerConfig(DatabaseServerConfig):
    scheme = "mysql"
    store = "zenml"  # the ZenML server's store


class RedisServerConfig(ServerConfig):
    scheme = "redis"


class KafkaServerConfig(ServerConfig):
    scheme = "kafka"


class ServersConfig(StrictModel):
    run_folder: Path
    startup_timeout_seconds: float
    stop_timeout_seconds: float
    s3: S3ServerConfig
    gcs: GCSServerConfig
    azure: AzureServerConfig
    mlflow: MLflowServerConfig
    zenml: ServerConfig
    airflow: AirflowServerConfig
    postgres: PostgresServerConfig
    mysql: MySQLServerConfig
    redis: RedisServerConfig
    kafka: KafkaServerConfig


def load_servers_config(path: Path = DEFAULT_CONFIG) -> ServersConfig:
    """Read `configs/servers.yaml`, with `${VAR:-default}` filled from the environment; a relative
    run folder is the project's."""
    raw = read_yaml_mapping(path, "servers config")
    config = validate(ServersConfig, expand_env(raw, path), str(path))
    folder = config.run_folder if config.run_folder.is_absolute() else PROJECT_ROOT / config.run_folder
    return config.model_copy(update={"run_folder": folder})
