"""The credentials the servers are started with, generated once per run folder, and the ZenML
secrets through which the stacks read them (no tracked file holds one)."""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from stacks.servers.config import AzureServerConfig, ServersConfig


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
    postgres_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    mysql_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    redis_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))


def load_or_create_credentials(folder: Path) -> Credentials:
    """The run folder's credentials, generated (readable by the owner only) on first use."""
    path = folder / "credentials.json"
    if path.is_file():
        stored = json.loads(path.read_text(encoding="utf-8"))
        credentials = Credentials(**stored)
        if set(stored) != {item.name for item in fields(Credentials)}:
            _write_private(path, credentials)
        return credentials
    credentials = Credentials(
        aws_access_key_id=f"AKIA{secrets.token_hex(8).upper()}",
        aws_secret_access_key=secrets.token_urlsafe(30),
        mlflow_username="admin",
        mlflow_password=secrets.token_urlsafe(18),
        mlflow_flask_secret_key=secrets.token_urlsafe(24),
        azure_account="localazure",
        azure_key=base64.b64encode(secrets.token_bytes(32)).decode(),
    )
    folder.mkdir(parents=True, exist_ok=True)
    _write_private(path, credentials)
    return credentials


def _write_private(path: Path, credentials: Credentials) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(asdict(credentials), out)


def zenml_secrets(credentials: Credentials, config: ServersConfig) -> dict[str, dict[str, Any]]:
    """The ZenML secrets the stacks and sources name: `local_s3` (S3 artifact stores),
    `local_mlflow` (the tracker), `local_azure` (the Azure artifact store, in the shape ZenML's Azure
    secret expects), and `local_postgres`, `local_mysql`, `local_redis` (a source's `secret:`)."""
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
    """This process's environment plus the S3 server's credentials, for the servers that use it."""
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": credentials.aws_access_key_id,
        "AWS_SECRET_ACCESS_KEY": credentials.aws_secret_access_key,
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }
