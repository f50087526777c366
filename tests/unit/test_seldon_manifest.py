"""stacks/seldon/manifest.py: the rendered SeldonDeployment against the real Seldon Core 1.17.1 CRD."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from core.errors import ConfigError
from stacks.seldon.manifest import (
    CRD_PATH_ENV,
    load_crd_schema,
    manifest_to_yaml,
    render_seldon_deployment,
    validate_manifest,
)
from stacks.seldon.settings import SeldonSettings, kubernetes_name

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
MODEL_URI = "s3://zenml-artifacts/models/breast_cancer/7"
SETTINGS = SeldonSettings(
    namespace="serving",
    replicas=3,
    cpu_request="250m",
    memory_request="512Mi",
    cpu_limit="2",
    memory_limit="2Gi",
    service_account="zenml-seldon",
    secret_name="s3-artifact-store",
    labels={"team": "ml-platform", "example.com/owner": "data_science"},
)


def render(deployment_name: str = "breast-cancer", settings: SeldonSettings = SETTINGS) -> dict[str, Any]:
    return render_seldon_deployment(deployment_name, "breast_cancer", "7", MODEL_URI, settings)


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return render()


def predictor(manifest: dict[str, Any]) -> dict[str, Any]:
    predictors: list[dict[str, Any]] = manifest["spec"]["predictors"]
    assert len(predictors) == 1
    return predictors[0]


def model_container(manifest: dict[str, Any]) -> dict[str, Any]:
    (component,) = predictor(manifest)["componentSpecs"]
    (container,) = component["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def validation_error(manifest: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        validate_manifest(manifest)
    return str(caught.value)


def test_rendered_manifest_validates_against_the_crd(manifest: dict[str, Any]) -> None:
    validate_manifest(manifest)
    validate_manifest(manifest, load_crd_schema())


def test_default_settings_render_a_valid_manifest() -> None:
    validate_manifest(render(settings=SeldonSettings()))


def test_manifest_serves_v2_sklearn_from_the_model_uri(manifest: dict[str, Any]) -> None:
    assert manifest["apiVersion"] == "machinelearning.seldon.io/v1"
    assert manifest["kind"] == "SeldonDeployment"
    assert manifest["metadata"]["name"] == "breast-cancer"
    assert manifest["metadata"]["namespace"] == "serving"
    assert manifest["spec"]["protocol"] == "v2"
    graph = predictor(manifest)["graph"]
    assert graph["implementation"] == "SKLEARN_SERVER"
    assert graph["modelUri"] == MODEL_URI
    assert graph["name"] == model_container(manifest)["name"] == "classifier"
    assert graph["envSecretRefName"] == "s3-artifact-store"
    assert graph["serviceAccountName"] == "zenml-seldon"


def test_replicas_and_resources_come_from_settings(manifest: dict[str, Any]) -> None:
    assert manifest["spec"]["replicas"] == 3
    assert predictor(manifest)["replicas"] == 3
    assert model_container(manifest)["resources"] == {
        "requests": {"cpu": "250m", "memory": "512Mi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    }
    assert "engineResources" not in predictor(manifest)


def test_a_model_beyond_scikit_learn_names_its_packages_and_needs_an_image_that_carries_them() -> None:
    packages = ["lightgbm==4.7.0", "scikit-learn==1.9.1"]
    with pytest.raises(ConfigError) as refused:
        render_seldon_deployment("d", "m", "1", MODEL_URI, SeldonSettings(), model_packages=packages)
    assert str(refused.value).startswith("seldon.image: the model needs lightgbm==4.7.0, which Seldon's")

    image = "registry.example.com/mlserver-lightgbm:1.7.1"
    rendered = render_seldon_deployment(
        "d", "m", "1", MODEL_URI, SeldonSettings(image=image), model_packages=packages
    )

    assert model_container(rendered)["image"] == image
    assert rendered["metadata"]["annotations"]["mlops-template/model-packages"] == ",".join(packages)
    validate_manifest(rendered)


def test_limits_can_be_left_out() -> None:
    rendered = render(settings=SeldonSettings(cpu_limit=None, memory_limit=None))
    assert model_container(rendered)["resources"] == {"requests": {"cpu": "100m", "memory": "256Mi"}}
    validate_manifest(rendered)


def test_zenml_can_read_the_manifest_back_as_its_own_deployment(manifest: dict[str, Any]) -> None:
    from zenml.integrations.seldon.seldon_client import SeldonDeployment
    from zenml.integrations.seldon.services.seldon_deployment import SeldonDeploymentConfig

    deployment = SeldonDeployment.model_validate(manifest)
    assert deployment.is_managed_by_zenml()
    config = SeldonDeploymentConfig.create_from_deployment(deployment)
    assert (config.model_uri, config.model_name, config.model_version) == (MODEL_URI, "breast_cancer", "7")
    assert (config.implementation, config.replicas, config.secret_name) == (
        "SKLEARN_SERVER",
        3,
        "s3-artifact-store",
    )


def test_labels_name_the_model_version_and_keep_user_labels(manifest: dict[str, Any]) -> None:
    labels = manifest["metadata"]["labels"]
    assert labels["zenml.model_name"] == "breast_cancer"
    assert labels["zenml.model_version"] == "7"
    assert labels["zenml.model_type"] == "SKLEARN_SERVER"
    assert labels["app"] == "zenml"
    assert labels["team"] == "ml-platform"
    assert labels["example.com/owner"] == "data_science"
    assert all(LABEL_VALUE.fullmatch(value) and len(value) <= 63 for value in labels.values())


def test_label_values_are_sanitised() -> None:
    rendered = render_seldon_deployment(
        "d", "Breast Cancer (RF)", "v1.2 release/candidate " + "x" * 80, MODEL_URI, SeldonSettings()
    )
    labels = rendered["metadata"]["labels"]
    assert labels["zenml.model_name"] == "Breast_Cancer_RF"
    assert labels["zenml.model_version"].startswith("v1.2_release_candidate_x")
    assert all(LABEL_VALUE.fullmatch(value) and len(value) <= 63 for value in labels.values())
    validate_manifest(rendered)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Breast_Cancer_Classifier", "breast-cancer-classifier"),
        ("--Prod  Model--", "prod-model"),
        ("2024_model", "sdep-2024-model"),
    ],
)
def test_deployment_name_is_sanitised(raw: str, expected: str) -> None:
    rendered = render(raw)
    assert rendered["metadata"]["name"] == expected
    assert rendered["spec"]["name"] == expected
    validate_manifest(rendered)


def test_long_names_are_shortened_and_stay_distinct() -> None:
    first, second = "A_Very_Long_Deployment_Name_" * 4 + "one", "A_Very_Long_Deployment_Name_" * 4 + "two"
    names = {render(first)["metadata"]["name"], kubernetes_name(second, what="deployment name")}
    assert len(names) == 2
    for name in names:
        assert len(name) <= 63
        assert DNS1123_LABEL.fullmatch(name)


def test_predictor_name_is_a_dns_label(manifest: dict[str, Any]) -> None:
    assert predictor(manifest)["name"] == "breast-cancer"


def test_a_name_without_letters_or_digits_is_refused() -> None:
    with pytest.raises(ConfigError, match="deployment name '__'"):
        render("__")


def test_an_empty_model_uri_is_refused() -> None:
    with pytest.raises(ConfigError, match="model_uri is empty"):
        render_seldon_deployment("d", "m", "1", "", SeldonSettings())


def test_integer_quantities_are_accepted(manifest: dict[str, Any]) -> None:
    broken = copy.deepcopy(manifest)
    model_container(broken)["resources"]["limits"]["cpu"] = 2
    validate_manifest(broken)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(manifest: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = manifest
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value

    return mutate


_DELETE = object()
CONTAINER = "spec/predictors/0/componentSpecs/0/spec/containers/0"


@pytest.mark.parametrize(
    ("mutate", "path", "message"),
    [
        (_set("spec/predictors/0/replicas", "two"), "spec.predictors[0].replicas", "'two' is not of type"),
        (_set("spec/predictors/0/graph", _DELETE), "spec.predictors[0]", "'graph' is a required property"),
        (_set("spec/predictors/0/name", _DELETE), "spec.predictors[0]", "'name' is a required property"),
        (_set("spec/predictors", {"name": "p"}), "spec.predictors", "is not of type 'array'"),
        (_set("spec/replicas", 1.5), "spec.replicas", "1.5 is not of type 'integer'"),
        (
            _set(f"{CONTAINER}/resources/requests/cpu", "lots"),
            "spec.predictors[0].componentSpecs[0].spec.containers[0].resources.requests.cpu",
            "'lots' does not match",
        ),
        (
            _set(f"{CONTAINER}/name", _DELETE),
            "spec.predictors[0].componentSpecs[0].spec.containers[0]",
            "'name' is a required property",
        ),
        (
            _set("spec/predictors/0/graph/modelURI", MODEL_URI),
            "spec.predictors[0].graph",
            "'modelURI' was unexpected",
        ),
        (_set("spec/protocol", 2), "spec.protocol", "2 is not of type 'string'"),
        (_set("metadata/name", "Breast_Cancer"), "metadata.name", "not a DNS-1123 subdomain"),
        (_set("metadata/labels/team", "ml platform"), "metadata.labels.team", "'ml platform'"),
    ],
    ids=[
        "replicas-string",
        "no-graph",
        "no-predictor-name",
        "predictors-not-list",
        "spec-replicas-float",
        "bad-quantity",
        "container-without-name",
        "unknown-field",
        "protocol-not-string",
        "bad-name",
        "bad-label",
    ],
)
def test_broken_manifest_is_refused_with_its_path(
    manifest: dict[str, Any], mutate: Callable[[dict[str, Any]], None], path: str, message: str
) -> None:
    broken = copy.deepcopy(manifest)
    mutate(broken)
    error = validation_error(broken)
    name = broken["metadata"]["name"]
    assert error.startswith(f"SeldonDeployment {name}: {path}: "), error
    assert message in error
    assert "\n" not in error


@pytest.mark.parametrize(
    ("values", "key", "message"),
    [
        ({"replicas": 0}, "replicas", "greater than or equal to 1"),
        ({"memory_request": "lots"}, "memory_request", "'lots' is not a Kubernetes quantity"),
        ({"cpu_limit": "-1"}, "cpu_limit", "is not a Kubernetes quantity"),
        ({"gpu": 1}, "gpu", "Extra inputs are not permitted"),
        ({"namespace": "Prod_NS"}, "namespace", "not a DNS-1123 label"),
        ({"secret_name": "S3 creds"}, "secret_name", "not a Kubernetes object name"),
        ({"labels": {"team": "ml platform"}}, "labels", "label 'team'"),
        ({"labels": {"app": "mine"}}, "labels", "set by ZenML's Seldon deployer"),
        ({"labels": {"zenml.model_name": "x"}}, "labels", "set by ZenML's Seldon deployer"),
        ({"labels": {"bad key!": "x"}}, "labels", "key 'bad key!'"),
    ],
)
def test_bad_settings_name_the_key(values: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SeldonSettings.model_validate(values)
    (error,) = caught.value.errors()
    assert error["loc"] == (key,)
    assert message in error["msg"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"cpu_request": "1500m", "cpu_limit": "1"}, "cpu_request '1500m' is greater than cpu_limit '1'"),
        ({"memory_request": "2G", "memory_limit": "1Gi"}, "memory_request '2G' is greater than"),
        ({"cpu_request": "2e3", "cpu_limit": "1.5k"}, "cpu_request '2e3' is greater"),
    ],
)
def test_a_request_above_its_limit_is_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        SeldonSettings.model_validate(values)


@pytest.mark.parametrize(
    "values",
    [
        {"cpu_request": "500m", "cpu_limit": "0.5"},
        {"memory_request": "1024Mi", "memory_limit": "1Gi"},
        {"memory_request": "1G", "memory_limit": "1Gi"},
        {"memory_request": "1e9", "memory_limit": "1G"},
        {"cpu_request": "4", "cpu_limit": None},
    ],
)
def test_a_request_up_to_its_limit_is_accepted(values: dict[str, Any]) -> None:
    SeldonSettings.model_validate(values)


def test_settings_are_frozen() -> None:
    with pytest.raises(ValidationError):
        SETTINGS.replicas = 5


def test_a_missing_crd_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "crd.yaml"
    with pytest.raises(ConfigError, match=re.escape(str(missing))):
        load_crd_schema(missing)


def test_a_missing_crd_from_the_environment_names_path_and_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, manifest: dict[str, Any]
) -> None:
    missing = tmp_path / "crd.yaml"
    monkeypatch.setenv(CRD_PATH_ENV, str(missing))
    with pytest.raises(ConfigError, match=re.escape(str(missing))) as caught:
        load_crd_schema()
    assert CRD_PATH_ENV in str(caught.value)
    with pytest.raises(ConfigError, match=re.escape(str(missing))):
        validate_manifest(manifest)


def test_the_crd_path_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crd = tmp_path / "crd.yaml"
    schema = {
        "type": "object",
        "properties": {"kind": {"type": "string", "enum": ["Other"]}, "metadata": {"type": "object"}},
    }
    crd.write_text(
        yaml.safe_dump({"spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema": schema}}]}})
    )
    monkeypatch.setenv(CRD_PATH_ENV, str(crd))
    assert load_crd_schema() == schema
    with pytest.raises(ConfigError, match=r"kind: 'SeldonDeployment' is not one of \['Other'\]"):
        validate_manifest({"kind": "SeldonDeployment", "metadata": {"name": "x"}})


def test_a_crd_without_v1_is_refused(tmp_path: Path) -> None:
    crd = tmp_path / "crd.yaml"
    crd.write_text(yaml.safe_dump({"spec": {"versions": [{"name": "v1alpha2", "schema": {}}]}}))
    with pytest.raises(ConfigError, match="no version v1"):
        load_crd_schema(crd)


def test_yaml_round_trips_in_build_order(manifest: dict[str, Any]) -> None:
    text = manifest_to_yaml(manifest)
    assert yaml.safe_load(text) == manifest
    assert text.startswith("apiVersion: machinelearning.seldon.io/v1\nkind: SeldonDeployment\nmetadata:\n")
