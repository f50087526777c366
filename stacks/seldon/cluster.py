"""The SeldonDeployment on a real cluster: the model staged where the pod reads it, then applied
through ZenML's Seldon client, rolled back when the new predictor does not become available."""

from __future__ import annotations

from typing import Any

from core.errors import DeploymentError
from core.model_names import checked_name
from stacks.seldon.manifest import KIND, validate_manifest

SERVED_MODEL_FILE = "model.joblib"  # the file name MLServer's sklearn runtime looks for in modelUri


def served_model_uri(artifact_store_path: str, model_name: str, model_version: str) -> str:
    """Where a model version is staged for Seldon's SKLEARN_SERVER: a folder on the artifact store,
    named by the model's checked name and version."""
    name, version = checked_name(model_name, "model name"), checked_name(model_version, "model version")
    return f"{artifact_store_path.rstrip('/')}/seldon/{name}/{version}"


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
