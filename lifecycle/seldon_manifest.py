"""The SeldonDeployment the `seldon` stack applies, rendered and checked without a Kubernetes cluster.

This is the one module that knows Seldon Core. `render_seldon_deployment` builds the manifest with ZenML's
own Seldon integration, so it is what ZenML's Seldon model deployer would send, and then adds what ZenML
leaves out (`protocol: v2`, the model server's resources, the namespace, a model-version label).
`validate_manifest` checks it against the real SeldonDeployment CRD schema, so a manifest a real API
server would refuse fails here first.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lifecycle.errors import ConfigError

API_VERSION = "machinelearning.seldon.io/v1"
KIND = "SeldonDeployment"
IMPLEMENTATION = "SKLEARN_SERVER"
PROTOCOL = "v2"
# Seldon merges a componentSpecs container into the prepackaged server when the names match; ZenML names
# the graph's only unit `classifier`.
MODEL_CONTAINER = "classifier"
CRD_PATH_ENV = "SELDON_CRD_PATH"
CRD_FILE_NAME = "seldondeployments.machinelearning.seldon.io-v1.17.1.yaml"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CRD_PATH = PROJECT_ROOT / "stacks" / "reference" / "seldon" / CRD_FILE_NAME

# Kubernetes resource.Quantity without a sign: requests and limits must not be negative.
_QUANTITY = re.compile(
    r"(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?P<suffix>[KMGTPE]i|[numkMGTPE]|[eE][+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))?"
)
_BINARY_SUFFIXES = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
# Labels ZenML's Seldon deployer sets and looks deployments up by; a user label must not shadow them.
_RESERVED_LABEL = re.compile(r"app|zenml\..*")


def _quantity_value(quantity: str) -> Decimal:
    """The number a Kubernetes quantity stands for, to compare a request with its limit."""
    match = _QUANTITY.fullmatch(quantity)
    if match is None:
        raise ValueError(f"{quantity!r} is not a Kubernetes quantity")
    number, suffix = Decimal(match["number"]), match["suffix"] or ""
    if suffix in _BINARY_SUFFIXES:
        return number * 1024 ** _BINARY_SUFFIXES[suffix]
    if suffix in _DECIMAL_SUFFIXES:
        return number.scaleb(_DECIMAL_SUFFIXES[suffix])
    return number * Decimal(10) ** Decimal(suffix[1:])


def _is_dns1123_subdomain(value: str) -> bool:
    return len(value) <= 253 and _DNS1123_SUBDOMAIN.fullmatch(value) is not None


def _label_key_problem(key: str) -> str | None:
    """Why `key` is not a Kubernetes label or annotation key (`[prefix/]name`), or None if it is."""
    prefix, _, name = key.rpartition("/")
    if "/" in key and not _is_dns1123_subdomain(prefix):
        return f"key {key!r}: prefix {prefix!r} is not a DNS-1123 subdomain"
    if len(name) > 63 or _LABEL_NAME.fullmatch(name) is None:
        return f"key {key!r}: name must be 1-63 letters, digits, '-', '_' or '.', alphanumeric at both ends"
    return None


def _label_value_problem(key: str, value: str) -> str | None:
    """Why `value` is not a Kubernetes label value, or None if it is."""
    if value and (len(value) > 63 or _LABEL_NAME.fullmatch(value) is None):
        return (
            f"label {key!r}: value {value!r} must be at most 63 letters, digits, '-', '_' or '.', "
            "alphanumeric at both ends"
        )
    return None


class SeldonSettings(BaseModel):
    """What the `seldon` stack's config may change about the SeldonDeployment; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    namespace: str = "default"
    replicas: int = Field(default=1, ge=1)
    cpu_request: str = "100m"
    memory_request: str = "256Mi"
    cpu_limit: str | None = "1"
    memory_limit: str | None = "1Gi"
    service_account: str | None = None
    # The Kubernetes secret with the artifact-store credentials: ZenML's `secret_name`, Seldon's
    # `envSecretRefName`.
    secret_name: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("cpu_request", "memory_request", "cpu_limit", "memory_limit")
    @classmethod
    def _quantity(cls, value: str | None) -> str | None:
        if value is not None and _QUANTITY.fullmatch(value) is None:
            raise ValueError(f"{value!r} is not a Kubernetes quantity (e.g. 100m, 0.5, 256Mi, 1Gi)")
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if len(value) > 63 or _DNS1123_LABEL.fullmatch(value) is None:
            raise ValueError(f"{value!r} is not a DNS-1123 label (lowercase letters, digits, '-'; <= 63)")
        return value

    @field_validator("service_account", "secret_name")
    @classmethod
    def _object_name(cls, value: str | None) -> str | None:
        if value is not None and not _is_dns1123_subdomain(value):
            raise ValueError(f"{value!r} is not a Kubernetes object name (DNS-1123 subdomain)")
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: dict[str, str]) -> dict[str, str]:
        for key, value in labels.items():
            problem = _label_key_problem(key) or _label_value_problem(key, value)
            if problem is None and _RESERVED_LABEL.fullmatch(key):
                problem = f"label {key!r} is set by ZenML's Seldon deployer and cannot be overridden"
            if problem is not None:
                raise ValueError(problem)
        return labels

    @model_validator(mode="after")
    def _request_within_limit(self) -> SeldonSettings:
        # Seldon would accept the SeldonDeployment and then fail to create its pods; say so up front.
        for resource in ("cpu", "memory"):
            request, limit = getattr(self, f"{resource}_request"), getattr(self, f"{resource}_limit")
            if limit is not None and _quantity_value(request) > _quantity_value(limit):
                raise ValueError(f"{resource}_request {request!r} is greater than {resource}_limit {limit!r}")
        return self

    def resources(self) -> dict[str, dict[str, str]]:
        """The `resources` block of the model server's container."""
        requests = {"cpu": self.cpu_request, "memory": self.memory_request}
        limits = {
            key: value
            for key, value in (("cpu", self.cpu_limit), ("memory", self.memory_limit))
            if value is not None
        }
        return {"requests": requests, "limits": limits} if limits else {"requests": requests}


def kubernetes_name(raw: str, *, what: str, prefix: str = "sdep-") -> str:
    """A DNS-1123 label (<= 63 chars, starting with a letter) derived from `raw`.

    Seldon names Services after the deployment and its predictors, and Service names must also start
    with a letter. A name that has to be shortened keeps a hash of the original, so two long names that
    share their first 54 characters still differ.
    """
    name = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")
    if not name:
        raise ConfigError(f"{what} {raw!r} has no letters or digits to build a Kubernetes name from")
    if not name[0].isalpha():
        name = prefix + name
    if len(name) > 63:
        digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:8]
        name = f"{name[:54].rstrip('-')}-{digest}"
    return name


def seldon_deployment_name(name: str) -> str:
    """The SeldonDeployment's metadata.name for a deployment called `name` (the model's name)."""
    return kubernetes_name(name, what="deployment name")


def render_seldon_deployment(
    deployment_name: str,
    model_name: str,
    model_version: str,
    model_uri: str,
    settings: SeldonSettings,
) -> dict[str, Any]:
    """The SeldonDeployment ZenML's Seldon model deployer would apply, plus what the project needs on top.

    The base comes from `SeldonDeploymentConfig` and `SeldonDeployment.build` as in
    `SeldonDeploymentService.provision`. Added here: `spec.protocol: v2` (ZenML never sets it), the
    model server's resources through `componentSpecs` (ZenML's `resources` only size Seldon's engine
    container), `metadata.namespace` and a `zenml.model_version` label.
    """
    if not model_uri:
        raise ConfigError(f"SeldonDeployment {deployment_name}: model_uri is empty")
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
    deployment.spec.predictors[0].componentSpecs = [
        SeldonDeploymentComponentSpecs(
            spec={"containers": [{"name": MODEL_CONTAINER, "resources": settings.resources()}]}
        )
    ]
    body = deployment.model_dump(mode="json", exclude_none=True)
    metadata = {"name": body["metadata"]["name"], "namespace": settings.namespace, **body["metadata"]}
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

    Without `path`: `$SELDON_CRD_PATH`, else the copy shipped in `stacks/reference/seldon/`.
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
    if not isinstance(name, str) or not _is_dns1123_subdomain(name):
        return "metadata.name", f"{name!r} is not a DNS-1123 subdomain (lowercase letters, digits, '-', '.')"
    namespace = metadata.get("namespace")
    if namespace is not None and (
        not isinstance(namespace, str) or len(namespace) > 63 or not _DNS1123_LABEL.fullmatch(namespace)
    ):
        return "metadata.namespace", f"{namespace!r} is not a DNS-1123 label"
    for field in ("labels", "annotations"):
        for key, value in (metadata.get(field) or {}).items():
            if not isinstance(value, str):
                return f"metadata.{field}.{key}", f"{value!r} is not a string"
            problem = _label_key_problem(key)
            if problem is None and field == "labels":
                problem = _label_value_problem(key, value)
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


SERVED_MODEL_FILE = "model.joblib"  # the file name MLServer's sklearn runtime looks for in modelUri


def served_model_uri(artifact_store_path: str, model_name: str, model_version: str) -> str:
    """Where a model version is staged for Seldon's SKLEARN_SERVER: a folder on the artifact store."""
    return f"{artifact_store_path.rstrip('/')}/seldon/{model_name}/{model_version}"


def stage_model(model: Any, uri: str) -> str:
    """Write `model` as `<uri>/model.joblib` on any ZenML artifact store; returns `uri`.

    ZenML's sklearn artifact is a cloudpickle file named `model`, which the SKLEARN_SERVER does not
    look for; the pod needs a joblib file of that name in the folder `modelUri` names.
    """
    import joblib
    from zenml.io import fileio

    fileio.makedirs(uri)
    with fileio.open(f"{uri}/{SERVED_MODEL_FILE}", "wb") as handle:
        joblib.dump(model, handle)
    return uri


def seldon_prediction_url(ingress_base_url: str, namespace: str, deployment_name: str) -> str:
    """The V2 base URL of a SeldonDeployment behind Seldon Core's ingress (Istio or Ambassador)."""
    return f"{ingress_base_url.rstrip('/')}/seldon/{namespace}/{deployment_name}"


def apply_manifest(client: Any, manifest: dict[str, Any], timeout_seconds: int) -> None:
    """Create or update the SeldonDeployment through ZenML's SeldonClient and wait until it is available.

    Kubernetes rolls pods over, so the old predictor serves until the new one is ready. When the new
    one fails or is still not available after `timeout_seconds`, the previous spec is put back (or a
    new, never-working deployment deleted) and DeploymentError says why.
    """
    from zenml.integrations.seldon.seldon_client import (
        SeldonClientError,
        SeldonDeployment,
        SeldonDeploymentNotFoundError,
    )

    from lifecycle.errors import DeploymentError

    validate_manifest(manifest)
    deployment = SeldonDeployment.model_validate(manifest)
    name = deployment.name
    try:
        try:
            previous: Any = client.get_deployment(name=name)
        except SeldonDeploymentNotFoundError:
            previous = None
        if previous is None:
            applied = client.create_deployment(deployment, poll_timeout=timeout_seconds)
        else:
            applied = client.update_deployment(deployment, poll_timeout=timeout_seconds)
        if applied.is_available():
            return
        reason = applied.get_error() or applied.get_pending_message() or f"state {applied.state}"
        if previous is None:
            client.delete_deployment(name=name, force=True)
        else:
            client.update_deployment(previous.model_copy(update={"status": None}))
    except SeldonClientError as error:
        cause = error.__cause__ or error
        raise DeploymentError(f"{KIND} {name}: {' '.join(str(cause).split())}") from error
    kept = "deleted it" if previous is None else "put the previous spec back"
    raise DeploymentError(f"{KIND} {name} not available after {timeout_seconds} s ({reason}); {kept}")
