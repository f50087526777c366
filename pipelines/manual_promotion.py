"""Putting a version into production by hand (an earlier one back, or any other), through the
zero-downtime redeploy when a deployment serves the model."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from zenml import log_metadata
from zenml.client import Client
from zenml.enums import ModelStages

from core.errors import ConfigError
from core.validation import FeatureSchema
from pipelines.deployment import run_deployment
from pipelines.execution import ActiveStack
from pipelines.model_versions import VersionDescription, describe_version, get_version
from pipelines.parameters import DeploymentParameters
from pipelines.run_config import RunConfig
from pipelines.summaries import DeploymentSummary
from stacks.deployers import active_model_deployer, deployment_statuses
from steps.locks import model_lock
from steps.names import FEATURE_SCHEMA, MODEL


@dataclass(frozen=True)
class ManualPromotion:
    version: VersionDescription
    previous: str | None
    deployment: DeploymentSummary | None


def promote_version(
    model_name: str,
    version: str,
    reason: str,
    deployment_config: RunConfig[DeploymentParameters],
    stack: ActiveStack,
) -> ManualPromotion:
    """Make `version` production with the reason, who and when recorded; when a deployment serves
    the model, redeploy it with zero downtime (a failed redeploy puts the previous stage back)."""
    if not reason.strip():
        raise ConfigError("--reason: say why this version goes to production")
    target = get_version(model_name, version)
    schema = _servable_schema(model_name, target)
    deployer = active_model_deployer()
    running = (
        [found for found in deployment_statuses(deployer, model_name) if found.running] if deployer else []
    )
    if running:
        _check_schema_matches_deployment(model_name, schema, running[0].model_version)
    with model_lock(model_name):
        try:
            previous = Client().get_model_version(model_name, ModelStages.PRODUCTION)
        except KeyError:
            previous = None
        if previous is not None and previous.id == target.id:
            raise ConfigError(f"model '{model_name}' version {target.number} is already in production")
        target.set_stage(ModelStages.PRODUCTION, force=True)
        log_metadata(
            metadata={
                "manual_promotion": {
                    "reason": reason,
                    "by": f"{getpass.getuser()} (ZenML user {Client().active_user.name})",
                    "at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "previous_production": str(previous.number) if previous is not None else None,
                }
            },
            model_version_id=target.id,
        )
    deployment = None
    if running:
        # Outside the lock, which the deployment step takes itself (in another process on some
        # orchestrators); the rollback takes it again and undoes only this promotion.
        try:
            deployment = run_deployment(deployment_config, stack)
        except Exception:
            _roll_back(model_name, target, previous)
            raise
    return ManualPromotion(
        version=describe_version(model_name, str(target.number)),
        previous=str(previous.number) if previous is not None else None,
        deployment=deployment,
    )


def _roll_back(model_name: str, target: Any, previous: Any) -> None:
    """Put `previous` back in production, unless another run has changed production since."""
    with model_lock(model_name):
        current = Client().get_model_version(model_name, ModelStages.PRODUCTION)
        if previous is not None and current.id == target.id:
            previous.set_stage(ModelStages.PRODUCTION, force=True)


def _servable_schema(model_name: str, version: Any) -> FeatureSchema:
    """The version's feature schema, once its model and schema artifacts are found and load."""
    where = f"model '{model_name}' version {version.number}"
    model, schema = version.get_model_artifact(MODEL), version.get_data_artifact(FEATURE_SCHEMA)
    if model is None or schema is None:
        raise ConfigError(
            f"{where} has no {'model' if model is None else 'feature_schema'} artifact to serve"
        )
    try:
        model.load()
        loaded: FeatureSchema = schema.load()
    except Exception as error:  # whatever the artifact store raises, the version cannot be served
        raise ConfigError(
            f"{where}: its artifacts cannot be loaded ({type(error).__name__}: {error})"
        ) from None
    return loaded


def _check_schema_matches_deployment(model_name: str, schema: FeatureSchema, served: str) -> None:
    served_schema: FeatureSchema = get_version(model_name, served).get_data_artifact(FEATURE_SCHEMA).load()
    differences = schema.differences_from(served_schema)
    if differences:
        raise ConfigError(
            f"model '{model_name}': unlike version {served}, which the deployment serves, this version "
            f"{'; '.join(differences[:3])}{'; ...' if len(differences) > 3 else ''}: its callers would "
            "break. Stop the deployment (`python run.py deployment stop`) to promote it anyway"
        )
