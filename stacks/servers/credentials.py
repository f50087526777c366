"""The credentials the servers are started with, generated once per run folder, and the ZenML
secrets through which the stacks read them (no tracked file holds one)."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from stacks.servers.config import AzureServerConfig, ServersConfig
from stacks.servers.run_folder import run_folder_lock, write_private


@dataclass(frozen=True)
class Credentials:
    aws_access_key_id: str
    aws_secret_access_key: str
    mlflow_username: str
    mlflow_password: str
    mlflow_flask_secret_key: str
    azure_account: str
    azure_key: str
    # Added later: a run folder from before them gets them generated on its next load.
    # The data sources' account (`user` of configs/servers.yaml) on PostgreSQL and on MariaDB.
    postgres_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    mysql_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    redis_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    # The ZenML server's admin account (ZenML's name for it), the key that signs its login tokens (so
    # they outlive a restart) and the key that encrypts its secrets store.
    zenml_username: str = "default"
    zenml_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    zenml_jwt_secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    zenml_encryption_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    # PostgreSQL's superuser (administration only: no server or stack logs in with it), and the
    # accounts of MLflow's store (on PostgreSQL) and ZenML's (on MariaDB), each on its database only.
    postgres_admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    mlflow_store_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    zenml_store_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    # The endpoint's Redis account: it may append to the capture stream and do nothing else.
    redis_capture_username: str = "capture"
    redis_capture_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))


def load_or_create_credentials(folder: Path) -> Credentials:
    """The run folder's credentials, generated (readable by the owner only) on first use, and those
    added since generated for an older folder; under the run folder's lock, so that two `servers up`
    at once agree on one set. Not to be called while holding that lock."""
    path = folder / "credentials.json"
    with run_folder_lock(folder):
        stored = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        credentials = Credentials(**stored) if stored else _generate()
        if set(stored) != {item.name for item in fields(Credentials)}:
            write_private(path, json.dumps(asdict(credentials)))
    return credentials


def _generate() -> Credentials:
    return Credentials(
        aws_access_key_id=f"AKIA{secrets.token_hex(8).upper()}",
        aws_secret_access_key=secrets.token_urlsafe(30),
        mlflow_username="admin",
        mlflow_password=secrets.token_urlsafe(18),
        mlflow_flask_secret_key=secrets.token_urlsafe(24),
        azure_account="localazure",
        azure_key=base64.b64encode(secrets.token_bytes(32)).decode(),
    )


def zenml_secrets(credentials: Credentials, config: ServersConfig) -> dict[str, dict[str, Any]]:
    """The ZenML secrets the stacks and sources name: `local_s3` (S3 artifact stores),
    `local_mlflow` (the tracker), `local_azure` (the Azure artifact store, in the shape ZenML's Azure
    secret expects), and `local_postgres`, `local_mysql` (the data sources' account, never an
    administrator or a store's), `local_redis` (a source's `secret:`), `local_redis_capture` (the
    endpoint's: append to the capture stream only)."""
    return {
        "local_s3": {
            "aws_access_key_id": credentials.aws_access_key_id,
            "aws_secret_access_key": credentials.aws_secret_access_key,
        },
        "local_mlflow": {"username": credentials.mlflow_username, "password": credentials.mlflow_password},
        "local_azure": {"connection_string": azure_connection_string(credentials, config.azure)},
        "local_postgres": {"username": config.postgres.user, "password": credentials.postgres_password},
        "local_mysql": {"username": config.mysql.user, "password": credentials.mysql_password},
        "local_redis": {"password": credentials.redis_password},
        "local_redis_capture": {
            "username": credentials.redis_capture_username,
            "password": credentials.redis_capture_password,
        },
    }


def store_secrets(credentials: Credentials, config: ServersConfig) -> None:
    """Create or update those secrets in the store the ZenML client uses now."""
    from zenml.client import Client

    client = Client()
    for name, values in zenml_secrets(credentials, config).items():
        try:
            existing = client.get_secret(name, allow_partial_name_match=False)
        except KeyError:
            client.create_secret(name, values=values)
            continue
        if existing.secret_values != values:
            client.update_secret(name, add_or_update_values=values)


def azure_connection_string(credentials: Credentials, config: AzureServerConfig) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={credentials.azure_account};"
        f"AccountKey={credentials.azure_key};BlobEndpoint={config.url}/{credentials.azure_account};"
    )


def aws_environment(credentials: Credentials) -> dict[str, str]:
    """The S3 server's credentials, as the servers that use it read them."""
    return {
        "AWS_ACCESS_KEY_ID": credentials.aws_access_key_id,
        "AWS_SECRET_ACCESS_KEY": credentials.aws_secret_access_key,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
