"""The `aws`, `gcp` and `azure` stacks against their emulators on 127.0.0.1: same training code,
artifacts in moto's S3 server, the GCS emulator and Azurite.

`servers up s3 gcs azure` starts them in a run folder of this module's own and stores the
credentials as ZenML secrets; each stack trains a model of its own name (a model's production
version lives in one store, and the champion is loaded from it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import last_line, servers_env

pytestmark = pytest.mark.servers

ZENML = str(Path(sys.executable).parent / "zenml")
MODEL_URI = """
import json, sys
from zenml.client import Client
from zenml.enums import ModelStages
version = Client().get_model_version(sys.argv[1], ModelStages.PRODUCTION)
print(json.dumps({"uri": version.get_artifact("model").uri}))
"""


def _run(args: list[str], env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    env = servers_env(tmp_path_factory.mktemp("cloud-stores"), "s3", "gcs", "azure")
    env |= {
        # aws: moto's server with the secret `servers up` stored
        "ZENML_S3_ENDPOINT_URL": env["LOCAL_S3_URL"],
        "ZENML_S3_SECRET_NAME": "local_s3",
        # gcp: gcsfs and google-auth find the emulator (and never Google's metadata server) this way
        "STORAGE_EMULATOR_HOST": env["LOCAL_GCS_URL"],
        "NO_GCE_CHECK": "true",
        "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
        # azure: Azurite, with the account `servers up` generated
        "ZENML_AZURE_SECRET_NAME": "local_azure",
    }
    try:
        _run([sys.executable, "run.py", "servers", "up", "s3", "gcs", "azure"], env)
        yield env
    finally:
        subprocess.run([sys.executable, "run.py", "servers", "down"], cwd=PROJECT_ROOT, env=env, timeout=300)


def _train_on(stack: str, env: dict[str, str]) -> str:
    """Train a model named after the stack on it; the production model's artifact URI."""
    _run([sys.executable, "run.py", "stack", "register", stack], env)
    _run([ZENML, "stack", "set", stack], env)
    model = f"cloud_{stack}"
    _run([sys.executable, "run.py", "--pipeline", "training", "--model-name", model], env)
    found = _run([sys.executable, "-c", MODEL_URI, model], env)
    return str(json.loads(last_line(found.stdout))["uri"])


def test_aws_stack_writes_to_the_s3_server(env: dict[str, str]) -> None:
    import boto3

    uri = _train_on("aws", env)
    credentials = json.loads((Path(env["MLOPS_SERVERS_DIR"]) / "credentials.json").read_text())
    s3 = boto3.client(
        "s3",
        endpoint_url=env["LOCAL_S3_URL"],
        aws_access_key_id=credentials["aws_access_key_id"],
        aws_secret_access_key=credentials["aws_secret_access_key"],
        region_name="us-east-1",
    )
    prefix = uri.removeprefix("s3://zenml-mlops-template/")
    assert uri.startswith("s3://zenml-mlops-template/")
    assert s3.list_objects_v2(Bucket="zenml-mlops-template", Prefix=prefix)["KeyCount"] > 0


def test_gcp_stack_writes_to_the_gcs_emulator(env: dict[str, str]) -> None:
    uri = _train_on("gcp", env)
    prefix = uri.removeprefix("gs://zenml-mlops-template/")
    listing = requests.get(
        f"{env['LOCAL_GCS_URL']}/storage/v1/b/zenml-mlops-template/o", params={"prefix": prefix}, timeout=30
    ).json()
    assert uri.startswith("gs://zenml-mlops-template/")
    assert listing.get("items"), listing


def test_azure_stack_writes_to_azurite(env: dict[str, str]) -> None:
    from azure.storage.blob import BlobServiceClient

    from stacks.servers.config import load_servers_config
    from stacks.servers.credentials import Credentials, azure_connection_string

    uri = _train_on("azure", env)
    credentials = Credentials(**json.loads((Path(env["MLOPS_SERVERS_DIR"]) / "credentials.json").read_text()))
    config = load_servers_config().azure.model_copy(update={"url": env["LOCAL_AZURE_URL"]})
    container = BlobServiceClient.from_connection_string(
        azure_connection_string(credentials, config)
    ).get_container_client("zenml-mlops-template")
    prefix = uri.removeprefix("az://zenml-mlops-template/")
    assert uri.startswith("az://zenml-mlops-template/")
    assert list(container.list_blobs(name_starts_with=prefix))
