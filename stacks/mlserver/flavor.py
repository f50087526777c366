"""The `mlserver` model-deployer flavor: Seldon's MLServer as a managed local service.

Kept free of heavy imports: ZenML imports flavors when it lists them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field
from zenml.model_deployers.base_model_deployer import BaseModelDeployerConfig, BaseModelDeployerFlavor

if TYPE_CHECKING:
    from stacks.mlserver.deployer import MLServerModelDeployer

FLAVOR_NAME = "mlserver"


class MLServerModelDeployerConfig(BaseModelDeployerConfig):
    """Where and how the local MLServer runs."""

    host: str = Field(default="127.0.0.1", description="Address MLServer binds to.")
    serving_env_timeout_seconds: float = Field(
        default=900, gt=0, description="Longest time to create the serving environment."
    )


class MLServerModelDeployerFlavor(BaseModelDeployerFlavor):
    @property
    def name(self) -> str:
        return FLAVOR_NAME

    @property
    def docs_url(self) -> str | None:
        return None

    @property
    def sdk_docs_url(self) -> str | None:
        return None

    @property
    def logo_url(self) -> str:
        return "https://public-flavor-logos.s3.eu-central-1.amazonaws.com/model_deployer/seldon.png"

    @property
    def config_class(self) -> type[MLServerModelDeployerConfig]:
        return MLServerModelDeployerConfig

    @property
    def implementation_class(self) -> type[MLServerModelDeployer]:
        from stacks.mlserver.deployer import MLServerModelDeployer

        return MLServerModelDeployer
