"""The SeldonDeployment the `seldon` stack applies, rendered and checked without a Kubernetes cluster.

`render_seldon_deployment` builds the manifest with ZenML's own Seldon integration, so it is what
ZenML's Seldon model deployer would send, and then adds what ZenML leaves out (`protocol: v2`, the
model server's resources, the namespace, a model-version label). `validate_manifest` checks it
against the real SeldonDeployment CRD schema (shipped in `crd/`), so a manifest a real API server
would refuse fails here first.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigError
from stacks.seldon.settings import (
    SeldonSettings,
    is_dns1123_label,
    is_dns1123_subdomain,
    kubernetes_name,
    label_key_problem,
    label_value_problem,
    seldon_deployment_name,
)

KIND = "SeldonDeployment"
IMPLEMENTATION = "SKLEARN_SERVER"
PROTOCOL = "v2"
# Seldon merges a componentSpecs container into the prepackaged server when the names match; ZenML names
# the graph's only unit `classifier`.
MODEL_CONTAINER = "classifier"
MODEL_PACKAGES_ANNOTATION = "mlops-template/model-packages"  # what loading the model needs
CRD_PATH_ENV = "SELDON_CRD_PATH"
CRD_FILE_NAME = "seldondeployments.machinelearning.seldon.io-v1.17.1.yaml"
DEFAULT_CRD_PATH = Path(__file__).resolve().parent / "crd" / CRD_FILE_NAME


def render_seldon_deployment(
    deployment_name: str,
    model_name: str,
    model_version: str,
    model_uri: str,
    settings: SeldonSettings,
    model_packages: Sequence[str] = (),
) -> dict[str, Any]:
    """The SeldonDeployment ZenML's Seldon model deployer would apply, plus what the project needs on top.

    The base comes from `SeldonDeploymentConfig` and `SeldonDeployment.build` as in
    `SeldonDeploymentService.provision`. Added here: `spec.protocol: v2` (ZenML never sets it), the
    model server's resources through `componentSpecs` (ZenML's `resources` only size Seldon's engine
    container), `metadata.namespace`, a `zenml.model_version` label, and the packages the model needs
    (`model_packages`, `core.dependencies.model_requirements`) as an annotation. A model that needs
    more than scikit-learn (LightGBM, XGBoost) needs an image that carries it (`seldon.image`):
    `SKLEARN_SERVER`'s does not.
    """
    if not model_uri:
        raise ConfigError(f"SeldonDeployment {deployment_name}: model_uri is empty")
    beyond = [package for package in model_packages if not package.startswith("scikit-learn==")]
    if beyond and settings.image is None:
        raise ConfigError(
            f"seldon.image: the model needs {', '.join(beyond)}, which Seldon's SKLEARN_SERVER image does "
            "not carry; set seldon.image to an MLServer image with them (its scikit-learn as well)"
        )
    try:
        # Imported here: ZenML takes seconds to import, and `kubernetes` is the optional `seldon` extra.
        from zenml.integrations.seldon.seldon_client import (
            SeldonClient,
            SeldonDeployment,
            SeldonDeploymentComponentSpecs,
        )
        from zenml.integrations.seldon.services.seldon_deployment import SeldonDeploymentConfig
    except ImportError as error:
        raise ConfigError(
            f"ZenML's Seldon integration cannot be imported ({error}); install the project's `seldon` extra"
        ) from error

    name = seldon_deployment_name(deployment_name)
    config = SeldonDeploymentConfig(
        model_uri=model_uri,
        model_name=model_name,
        model_version=model_version,
        implementation=IMPLEMENTATION,
        parameters=None,
        resources=None,
        replicas=settings.replicas,
        secret_name=settings.secret_name,
        serviceAccountName=settings.service_account,
    )
    labels = {**settings.labels, **config.get_seldon_deployment_labels()}
    labels["zenml.model_version"] = model_version
    SeldonClient.sanitize_labels(labels)

    deployment = SeldonDeployment.build(
        name=name,
        model_uri=config.model_uri,
        model_name=kubernetes_name(model_name, what="model name", prefix="model-"),
        implementation=config.implementation,
        parameters=config.parameters,
        engineResources=config.resources,
        secret_name=config.secret_name,
        labels=labels,
        annotations=config.get_seldon_deployment_annotations(),
        is_custom_deployment=config.is_custom_deployment,
        spec=config.spec,
        serviceAccountName=config.serviceAccountName,
    )
    # As SeldonDeploymentService.provision and SeldonClient.create_deployment do before they send it.
    deployment.spec.replicas = config.replicas
    deployment.spec.predictors[0].replicas = config.replicas
    deployment.mark_as_managed_by_zenml()

    deployment.spec.protocol = PROTOCOL
    container: dict[str, Any] = {"name": MODEL_CONTAINER, "resources": settings.resources()}
    if settings.image is not None:
        container["image"] = settings.image
    deployment.spec.predictors[0].componentSpecs = [
        SeldonDeploymentComponentSpecs(spec={"containers": [container]})
    ]
    body = deployment.model_dump(mode="json", exclude_none=True)
    metadata = {"name": body["metadata"]["name"], "namespace": settings.namespace, **body["metadata"]}
    if model_packages:
        annotations = metadata.setdefault("annotations", {})
        annotations[MODEL_PACKAGES_ANNOTATION] = ",".join(model_packages)
    return {
        "apiVersion": body["apiVersion"],
        "kind": body["kind"],
        "metadata": metadata,
        "spec": body["spec"],
    }


def _crd_path(path: Path | None) -> Path:
    if path is not None:
        return path
    from_env = os.environ.get(CRD_PATH_ENV)
    return Path(from_env) if from_env else DEFAULT_CRD_PATH


@functools.cache
def _read_crd_schema(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader reads the 2 MB file in 0.3 s
    try:
        crd = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except yaml.YAMLError as error:
        raise ConfigError(f"Seldon CRD {path} is not valid YAML: {error}".replace("\n", " ")) from error
    versions = crd.get("spec", {}).get("versions", []) if isinstance(crd, dict) else []
    for version in versions:
        if version.get("name") == "v1":
            schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
            return schema
    raise ConfigError(f"Seldon CRD {path} has no version v1 with an openAPIV3Schema")


def load_crd_schema(path: Path | None = None) -> dict[str, Any]:
    """The `openAPIV3Schema` of the CRD's v1 version, parsed once per path; treat it as read-only.

    Without `path`: `$SELDON_CRD_PATH`, else the copy shipped in `stacks/seldon/crd/`.
    """
    resolved = _crd_path(path).resolve()
    if not resolved.is_file():
        raise ConfigError(
            f"Seldon CRD not found at {resolved}; set {CRD_PATH_ENV} to the path of {CRD_FILE_NAME}"
        )
    return _read_crd_schema(resolved)


def _as_validated_by_kubernetes(node: Any) -> Any:
    """A copy of a CRD schema that makes jsonschema judge as `kubectl apply` does.

    `x-kubernetes-int-or-string` accepts integers and strings; `nullable` accepts null; an object with
    declared properties refuses unknown keys, which the API server would otherwise drop silently (and
    `kubectl apply` refuses under its default strict field validation).
    """
    if isinstance(node, list):
        return [_as_validated_by_kubernetes(item) for item in node]
    if not isinstance(node, dict):
        return node
    schema = {key: _as_validated_by_kubernetes(value) for key, value in node.items()}
    if schema.get("x-kubernetes-int-or-string") is True and "anyOf" not in schema and "type" not in schema:
        schema["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") is True and isinstance(schema.get("type"), str):
        schema["type"] = [schema["type"], "null"]
    if (
        schema.get("type") == "object"
        and isinstance(schema.get("properties"), dict)
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        schema["additionalProperties"] = False
    return schema


def _validator(schema: dict[str, Any]) -> Any:
    # OpenAPI 3.0 schema objects follow JSON Schema draft 4 (e.g. a boolean exclusiveMinimum).
    from jsonschema import Draft4Validator

    return Draft4Validator(_as_validated_by_kubernetes(schema))


@functools.cache
def _default_validator(path: Path) -> Any:
    return _validator(_read_crd_schema(path))


def _json_path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "(root)"


def _metadata_problem(manifest: dict[str, Any]) -> tuple[str, str] | None:
    """The first metadata error the API server would refuse; the CRD leaves `metadata` unchecked."""
    metadata = manifest.get("metadata")
    if not isinstance(metadata, dict):
        return None  # the schema reports it
    name = metadata.get("name")
    if not isinstance(name, str) or not is_dns1123_subdomain(name):
        return "metadata.name", f"{name!r} is not a DNS-1123 subdomain (lowercase letters, digits, '-', '.')"
    namespace = metadata.get("namespace")
    if namespace is not None and (not isinstance(namespace, str) or not is_dns1123_label(namespace)):
        return "metadata.namespace", f"{namespace!r} is not a DNS-1123 label"
    for field in ("labels", "annotations"):
        for key, value in (metadata.get(field) or {}).items():
            if not isinstance(value, str):
                return f"metadata.{field}.{key}", f"{value!r} is not a string"
            problem = label_key_problem(key)
            if problem is None and field == "labels":
                problem = label_value_problem(key, value)
            if problem is not None:
                return f"metadata.{field}.{key}", problem
    return None


def validate_manifest(manifest: dict[str, Any], schema: dict[str, Any] | None = None) -> None:
    """Raise ConfigError, naming the path of the first error, if the API server would refuse `manifest`.

    `schema` defaults to `load_crd_schema()`; its prepared validator is cached.
    """
    from jsonschema.exceptions import best_match

    if schema is None:
        load_crd_schema()  # a missing file is a ConfigError naming the path
        validator = _default_validator(_crd_path(None).resolve())
    else:
        validator = _validator(schema)
    metadata = manifest.get("metadata")
    name = metadata.get("name", "<unnamed>") if isinstance(metadata, dict) else "<unnamed>"
    error = best_match(validator.iter_errors(manifest))
    if error is not None:
        message = " ".join(str(error.message).split())
        raise ConfigError(f"{KIND} {name}: {_json_path(error.absolute_path)}: {message}")
    problem = _metadata_problem(manifest)
    if problem is not None:
        raise ConfigError(f"{KIND} {name}: {problem[0]}: {problem[1]}")


def manifest_to_yaml(manifest: dict[str, Any]) -> str:
    """The manifest as YAML for `kubectl apply -f`, keys in the order they were built."""
    return yaml.safe_dump(manifest, sort_keys=False)


def seldon_prediction_url(ingress_base_url: str, namespace: str, deployment_name: str) -> str:
    """The V2 base URL of a SeldonDeployment behind Seldon Core's ingress (Istio or Ambassador)."""
    return f"{ingress_base_url.rstrip('/')}/seldon/{namespace}/{deployment_name}"
