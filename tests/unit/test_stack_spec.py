"""stacks/spec.py: the shape of `stacks/*.yaml` and `${VAR}` / `${VAR:-default}` expansion."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.errors import ConfigError
from stacks import spec
from stacks.spec import ComponentSpec, available_stacks, load_stack_spec

REMOTE = """\
name: remote
description: Remote stack
components:
  orchestrator:
    name: k8s
    flavor: kubernetes
    configuration:
      kubernetes_context: ${KUBE_CONTEXT}
      namespace: ${KUBE_NAMESPACE:-mlops}
      empty: ${EMPTY_DEFAULT:-}
      replicas: 3
      enabled: true
      labels: ["team-${TEAM:-data}", "plain"]
  artifact_store:
    name: s3
    flavor: s3
    configuration:
      path: s3://${BUCKET}/artifacts
      note: "$NOT_BRACED stays"
"""


@pytest.fixture
def stacks_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the loader at a temporary stacks folder holding real YAML files."""
    monkeypatch.setattr(spec, "STACKS_DIR", tmp_path)
    for name in ("KUBE_CONTEXT", "KUBE_NAMESPACE", "EMPTY_DEFAULT", "TEAM", "BUCKET", "NOT_BRACED"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_local_stack_is_available_and_valid() -> None:
    assert "local" in available_stacks()
    stack = load_stack_spec("local")
    assert stack.name == "local"
    assert set(stack.components) == {
        "orchestrator",
        "artifact_store",
        "experiment_tracker",
        "model_deployer",
    }
    assert stack.components["model_deployer"] == ComponentSpec(name="mlserver-local", flavor="mlserver")
    assert [flavor.source for flavor in stack.flavors] == [
        "stacks.mlserver.flavor.MLServerModelDeployerFlavor"
    ]
    assert stack.components["orchestrator"] == ComponentSpec(name="local-orchestrator", flavor="local")
    assert stack.components["artifact_store"].flavor == "local"
    assert stack.components["experiment_tracker"] == ComponentSpec(name="mlflow-local", flavor="mlflow")
    assert stack.components["experiment_tracker"].configuration == {}


def test_available_stacks_lists_yaml_stems_sorted(stacks_dir: Path) -> None:
    for name in ("zeta.yaml", "alpha.yaml", "notes.txt"):
        (stacks_dir / name).write_text("name: x\ncomponents: {}\n", encoding="utf-8")
    assert available_stacks() == ["alpha", "zeta"]


def test_env_references_are_expanded(stacks_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (stacks_dir / "remote.yaml").write_text(REMOTE, encoding="utf-8")
    monkeypatch.setenv("KUBE_CONTEXT", "prod-cluster")
    monkeypatch.setenv("BUCKET", "my-bucket")
    monkeypatch.setenv("NOT_BRACED", "should-not-appear")
    stack = load_stack_spec("remote")
    assert stack.name == "remote"
    assert stack.description == "Remote stack"
    assert stack.components["orchestrator"].configuration == {
        "kubernetes_context": "prod-cluster",
        "namespace": "mlops",
        "empty": None,
        "replicas": 3,
        "enabled": True,
        "labels": ["team-data", "plain"],
    }
    assert stack.components["artifact_store"].configuration == {
        "path": "s3://my-bucket/artifacts",
        "note": "$NOT_BRACED stays",
    }


def test_set_variable_wins_over_default(stacks_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (stacks_dir / "remote.yaml").write_text(REMOTE, encoding="utf-8")
    monkeypatch.setenv("KUBE_CONTEXT", "c")
    monkeypatch.setenv("BUCKET", "b")
    monkeypatch.setenv("KUBE_NAMESPACE", "team-ns")
    monkeypatch.setenv("TEAM", "")
    configuration = load_stack_spec("remote").components["orchestrator"].configuration
    assert configuration["namespace"] == "team-ns"
    assert configuration["labels"] == ["team-", "plain"]


def test_empty_default_alone_means_unset_but_inside_text_stays_empty(
    stacks_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (stacks_dir / "remote.yaml").write_text(REMOTE, encoding="utf-8")
    monkeypatch.setenv("KUBE_CONTEXT", "c")
    monkeypatch.setenv("BUCKET", "b")
    monkeypatch.setenv("TEAM", "")
    monkeypatch.setenv("EMPTY_DEFAULT", "set")
    configuration = load_stack_spec("remote").components["orchestrator"].configuration
    assert configuration["empty"] == "set"
    assert configuration["labels"][0] == "team-"


def test_unset_variable_without_default_is_named(stacks_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = stacks_dir / "remote.yaml"
    path.write_text(REMOTE, encoding="utf-8")
    monkeypatch.setenv("BUCKET", "b")
    with pytest.raises(ConfigError) as caught:
        load_stack_spec("remote")
    assert str(caught.value) == f"{path}: environment variable KUBE_CONTEXT is not set"


def test_unknown_stack_lists_known_stacks(stacks_dir: Path) -> None:
    (stacks_dir / "local.yaml").write_text("name: local\ncomponents: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_stack_spec("gcp")
    assert str(caught.value) == f"stack 'gcp': no file {stacks_dir / 'gcp.yaml'}; known stacks: local"


def test_unknown_key_names_key(stacks_dir: Path) -> None:
    path = stacks_dir / "odd.yaml"
    path.write_text("name: odd\ncomponents: {}\nregion: eu\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_stack_spec("odd")
    assert str(caught.value) == f"{path}: region: unknown key"


def test_unknown_component_key_names_dotted_key(stacks_dir: Path) -> None:
    path = stacks_dir / "odd.yaml"
    path.write_text(
        "name: odd\ncomponents:\n  orchestrator: {name: o, flavor: local, flavour: x}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_stack_spec("odd")
    assert str(caught.value) == f"{path}: components.orchestrator.flavour: unknown key"


def test_unknown_component_type_is_named(stacks_dir: Path) -> None:
    path = stacks_dir / "odd.yaml"
    path.write_text("name: odd\ncomponents:\n  spaceship: {name: s, flavor: local}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"{path}: components.spaceship.[key]: Input should be")):
        load_stack_spec("odd")


def test_component_without_flavor_is_named(stacks_dir: Path) -> None:
    path = stacks_dir / "odd.yaml"
    path.write_text("name: odd\ncomponents:\n  orchestrator: {name: o}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_stack_spec("odd")
    assert str(caught.value) == f"{path}: components.orchestrator.flavor: Field required"


def test_empty_stack_file_reports_missing_fields(stacks_dir: Path) -> None:
    path = stacks_dir / "blank.yaml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_stack_spec("blank")
    assert str(caught.value) == f"stack file '{path}': must be a mapping of keys to values"


def test_invalid_yaml_is_a_config_error_naming_the_file(stacks_dir: Path) -> None:
    path = stacks_dir / "broken.yaml"
    path.write_text("name: [broken\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        load_stack_spec("broken")
