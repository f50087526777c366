"""The one rule for model names and versions, which become folder names, and where it holds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.model_names import checked_name
from stacks.mlserver.repository import active_version, model_folder, version_folder
from stacks.seldon.cluster import served_model_uri


@pytest.mark.parametrize("name", ["breast_cancer_classifier", "churn-v2", "Model.1", "3", "a"])
def test_folder_safe_names_pass(name: str) -> None:
    assert checked_name(name, "model name") == name


@pytest.mark.parametrize(
    "name", ["", "..", "../etc", "a/b", "a\\b", ".hidden", "-flag", "a..b", "x y", "/abs", "naïve", "a\n"]
)
def test_names_that_could_leave_their_folder_or_are_no_plain_folder_name_fail(name: str) -> None:
    with pytest.raises(ConfigError, match=r"^--model-name: '.*' is not a valid name; use letters, digits"):
        checked_name(name, "--model-name")


def test_the_mlserver_repository_and_seldon_staging_check_names_and_versions(tmp_path: Path) -> None:
    assert version_folder(tmp_path, "churn", "3") == tmp_path / "churn" / "v3"
    assert served_model_uri("s3://bucket/", "churn", "3") == "s3://bucket/seldon/churn/3"
    with pytest.raises(ConfigError, match="^" + re.escape("model name: '../x'")):
        model_folder(tmp_path, "../x")
    with pytest.raises(ConfigError, match="^" + re.escape("model name: '..'")):
        active_version(tmp_path, "..")
    with pytest.raises(ConfigError, match="^" + re.escape("model version: '1/../../x'")):
        version_folder(tmp_path, "churn", "1/../../x")
    with pytest.raises(ConfigError, match="^" + re.escape("model version: '..'")):
        served_model_uri("s3://bucket", "churn", "..")
