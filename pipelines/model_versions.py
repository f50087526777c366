"""The model's versions in the Model Control Plane: list them and describe one (ZenML's store only:
`model list` and `model show` import no stack, pipeline or model library)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from zenml.client import Client
from zenml.enums import ModelStages

from core.errors import ConfigError
from core.types import METRIC_NAMES


@dataclass(frozen=True)
class VersionDescription:
    """One version as `model show` prints it and `--json` writes it."""

    model: str
    version: str
    stage: str | None
    created: str
    metrics: dict[str, float]
    promotion: dict[str, Any] | None
    manual_promotion: dict[str, Any] | None
    lineage: dict[str, Any] | None
    data_contract: dict[str, Any] | None  # the feature schema's target, kinds and contract

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def list_versions(model_name: str) -> list[VersionDescription]:
    """Every version of the model, newest first."""
    found = Client().list_model_versions(model=model_name, sort_by="desc:number", size=1000)
    if not found.items:
        raise ConfigError(
            f"model '{model_name}' has no versions; run `python run.py --pipeline training` first"
        )
    return [_describe(model_name, version) for version in found.items]


def describe_version(model_name: str, version: str | None) -> VersionDescription:
    """`version` (number or name), or production, or the latest when none is in production."""
    if version is None:
        try:
            return _describe(model_name, Client().get_model_version(model_name, ModelStages.PRODUCTION))
        except KeyError:
            return list_versions(model_name)[0]
    return _describe(model_name, get_version(model_name, version))


def get_version(model_name: str, version: str) -> Any:
    try:
        return Client().get_model_version(model_name, int(version) if version.isdigit() else version)
    except KeyError:
        raise ConfigError(
            f"model '{model_name}' has no version '{version}'; `python run.py model list` shows them"
        ) from None


def _describe(model_name: str, version: Any) -> VersionDescription:
    metadata = version.run_metadata
    return VersionDescription(
        model=model_name,
        version=str(version.number),
        stage=version.stage,
        created=version.created.isoformat(timespec="seconds"),
        metrics={name: metadata[name] for name in METRIC_NAMES if name in metadata},
        promotion=metadata.get("promotion"),
        manual_promotion=metadata.get("manual_promotion"),
        lineage=metadata.get("lineage"),
        data_contract=metadata.get("data_contract"),
    )
