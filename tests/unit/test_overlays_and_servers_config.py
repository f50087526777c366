"""Per-stack overlays and the servers config: read from YAML, environment filled in, errors name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.errors import ConfigError
from stacks.overlays import load_overlay, merged
from stacks.servers.config import PROJECT_ROOT, load_servers_config
from stacks.servers.credentials import Credentials, zenml_secrets


def test_overlay_merges_mappings_key_by_key_and_replaces_the_rest() -> None:
    base = {"settings": {"docker": {"skip_build": False, "requirements": ["a"]}}, "enable_cache": True}
    overlay = {"settings": {"docker": {"skip_build": True}}, "enable_cache": False}
    assert merged(base, overlay) == {
        "settings": {"docker": {"skip_build": True, "requirements": ["a"]}},
        "enable_cache": False,
    }


def test_overlay_of_a_stack_without_one_is_empty(tmp_path: Path) -> None:
    assert load_overlay("local", tmp_path) == {}


def test_overlay_fills_the_environment_and_names_a_bad_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBEFLOW_PARENT_IMAGE", "registry.example.com/app:1")
    (tmp_path / "kubeflow.yaml").write_text(
        "settings:\n  docker:\n    parent_image: ${KUBEFLOW_PARENT_IMAGE:-x}\n"
    )
    assert load_overlay("kubeflow", tmp_path) == {
        "settings": {"docker": {"parent_image": "registry.example.com/app:1"}}
    }
    (tmp_path / "broken.yaml").write_text("- a list\n")
    with pytest.raises(ConfigError, match=r"stack overlay .*broken\.yaml.: must be a mapping"):
        load_overlay("broken", tmp_path)


def test_shipped_overlays_are_valid_zenml_run_settings() -> None:
    from zenml.config.pipeline_run_configuration import PipelineRunConfiguration

    for path in (PROJECT_ROOT / "configs" / "overlays").glob("*.yaml"):
        PipelineRunConfiguration.model_validate(load_overlay(path.stem))


def test_servers_config_resolves_the_run_folder_and_reads_urls_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLOPS_SERVERS_DIR", raising=False)
    monkeypatch.setenv("LOCAL_S3_URL", "http://127.0.0.1:19999")
    config = load_servers_config()
    assert config.run_folder == PROJECT_ROOT / ".servers"
    assert config.s3.url == "http://127.0.0.1:19999"


def test_servers_config_error_names_the_key(tmp_path: Path) -> None:
    raw = yaml.safe_load((PROJECT_ROOT / "configs" / "servers.yaml").read_text())
    raw["mlflow"]["url"] = "127.0.0.1:5000"
    path = tmp_path / "servers.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"mlflow\.url"):
        load_servers_config(path)


def test_secrets_have_the_keys_zenml_flavors_read() -> None:
    credentials = Credentials("AKIA1", "secret", "admin", "pw", "flask", "account", "a2V5")
    secrets = zenml_secrets(credentials, load_servers_config())
    assert set(secrets["local_s3"]) == {"aws_access_key_id", "aws_secret_access_key"}
    assert set(secrets["local_mlflow"]) == {"username", "password"}
    assert (
        "AccountName=account;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:"
        in secrets["local_azure"]["connection_string"]
    )
