"""What the `seldon` section of `configs/deployment.yaml` may set on the SeldonDeployment, checked
the way the Kubernetes API server would check it, and the Kubernetes names derived from a model's."""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from core.errors import ConfigError
from core.types import StrictModel

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
# Labels ZenML's Seldon deployer sets and looks deployments up by; a user label must not shadow them.
_RESERVED_LABEL = re.compile(r"app|zenml\..*")


def quantity_value(quantity: str) -> Decimal:
    """The amount a Kubernetes quantity (100m, 0.5, 256Mi) stands for, read by the Kubernetes client.

    Requests and limits must not be negative, which the client's parser alone would allow.
    """
    try:
        from kubernetes.utils.quantity import parse_quantity
    except ImportError:
        raise ValueError("checking Kubernetes quantities needs the project's `seldon` extra") from None
    try:
        value: Decimal = parse_quantity(quantity)
    except ValueError:
        value = Decimal(-1)
    if not value.is_finite() or value < 0:
        raise ValueError(f"{quantity!r} is not a Kubernetes quantity (e.g. 100m, 0.5, 256Mi, 1Gi)")
    return value


def is_dns1123_label(value: str) -> bool:
    return len(value) <= 63 and _DNS1123_LABEL.fullmatch(value) is not None


def is_dns1123_subdomain(value: str) -> bool:
    return len(value) <= 253 and _DNS1123_SUBDOMAIN.fullmatch(value) is not None


def label_key_problem(key: str) -> str | None:
    """Why `key` is not a Kubernetes label or annotation key (`[prefix/]name`), or None if it is."""
    prefix, _, name = key.rpartition("/")
    if "/" in key and not is_dns1123_subdomain(prefix):
        return f"key {key!r}: prefix {prefix!r} is not a DNS-1123 subdomain"
    if len(name) > 63 or _LABEL_NAME.fullmatch(name) is None:
        return f"key {key!r}: name must be 1-63 letters, digits, '-', '_' or '.', alphanumeric at both ends"
    return None


def label_value_problem(key: str, value: str) -> str | None:
    """Why `value` is not a Kubernetes label value, or None if it is."""
    if value and (len(value) > 63 or _LABEL_NAME.fullmatch(value) is None):
        return (
            f"label {key!r}: value {value!r} must be at most 63 letters, digits, '-', '_' or '.', "
            "alphanumeric at both ends"
        )
    return None


class SeldonSettings(StrictModel):
    """What the config may change about the SeldonDeployment, and how long its rollout may take."""

    namespace: str = "default"
    """Kubernetes namespace (the stack's deployer namespace wins when it sets one)."""
    replicas: int = Field(default=1, ge=1)
    """Pods serving the model."""
    timeout_seconds: int = Field(default=180, ge=5)
    """Longest rollout before the previous spec is put back."""
    cpu_request: str = "100m"
    """The model server container's CPU request."""
    memory_request: str = "256Mi"
    """Its memory request."""
    cpu_limit: str | None = "1"
    """Its CPU limit; none: no limit."""
    memory_limit: str | None = "1Gi"
    """Its memory limit; none: no limit."""
    service_account: str | None = None
    """The pods' service account."""
    # The Kubernetes secret with the artifact-store credentials: ZenML's `secret_name`, Seldon's
    # `envSecretRefName`.
    secret_name: str | None = None
    """Kubernetes secret with the artifact store's credentials (Seldon's `envSecretRefName`)."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Extra labels on the SeldonDeployment."""
    image: str | None = None
    """The model server's image; none: SKLEARN_SERVER's. A model that needs more than scikit-learn
    (LightGBM, XGBoost) needs an MLServer image with those packages: `model show` lists them as the
    version's `model_packages`."""

    # Parsing a quantity needs the `seldon` extra; the defaults are valid quantities and are not
    # parsed, so the section (which ZenML dumps and validates again with every field set inside a
    # run) never needs the extra unless the config changes a resource.
    @field_validator("cpu_request", "memory_request", "cpu_limit", "memory_limit")
    @classmethod
    def _quantity(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not cls._is_default(info.field_name, value):
            quantity_value(value)
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not is_dns1123_label(value):
            raise ValueError(f"{value!r} is not a DNS-1123 label (lowercase letters, digits, '-'; <= 63)")
        return value

    @field_validator("service_account", "secret_name")
    @classmethod
    def _object_name(cls, value: str | None) -> str | None:
        if value is not None and not is_dns1123_subdomain(value):
            raise ValueError(f"{value!r} is not a Kubernetes object name (DNS-1123 subdomain)")
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: dict[str, str]) -> dict[str, str]:
        for key, value in labels.items():
            problem = label_key_problem(key) or label_value_problem(key, value)
            if problem is None and _RESERVED_LABEL.fullmatch(key):
                problem = f"label {key!r} is set by ZenML's Seldon deployer and cannot be overridden"
            if problem is not None:
                raise ValueError(problem)
        return labels

    @model_validator(mode="after")
    def _request_within_limit(self) -> SeldonSettings:
        # Seldon would accept the SeldonDeployment and then fail to create its pods; say so up front.
        # The defaults fit; only a pair the config changed is compared.
        for resource in ("cpu", "memory"):
            names = (f"{resource}_request", f"{resource}_limit")
            if all(self._is_default(name, getattr(self, name)) for name in names):
                continue
            request, limit = getattr(self, names[0]), getattr(self, names[1])
            if limit is not None and quantity_value(request) > quantity_value(limit):
                raise ValueError(f"{resource}_request {request!r} is greater than {resource}_limit {limit!r}")
        return self

    @classmethod
    def _is_default(cls, field: str | None, value: object) -> bool:
        return field is not None and value == cls.model_fields[field].default

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
