"""The `mlserver` model-deployer flavor: Seldon's MLServer as a managed local service.

Kept free of heavy imports: ZenML imports flavors when it lists them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, field_validator
from zenml.model_deployers.base_model_deployer import BaseModelDeployerConfig, BaseModelDeployerFlavor
from zenml.utils.secret_utils import SecretField

from core.types import CAPTURE_STREAM

if TYPE_CHECKING:
    from stacks.mlserver.deployer import MLServerModelDeployer

FLAVOR_NAME = "mlserver"


class MLServerModelDeployerConfig(BaseModelDeployerConfig):
    """Where and how the local MLServer runs."""

    host: str = Field(default="127.0.0.1", description="Address MLServer binds to.")
    serving_env_timeout_seconds: float = Field(
        default=900, gt=0, description="Longest time to create the serving environment."
    )
    capture_url: str | None = Field(
        default=None,
        description="Capture every answered request to this Redis server (redis://HOST:PORT/DB) or "
        "Kafka cluster (kafka://HOST:PORT[,HOST:PORT]); none: capture is off.",
    )
    capture_username: str | None = Field(
        default=None, description="The Redis account captures are written with (none: the default user)."
    )
    capture_password: str | None = SecretField(
        default=None, description="The capture account's password, as a secret reference {{secret.key}}."
    )
    capture_stream: str = Field(
        default=CAPTURE_STREAM, description="The stream (or Kafka topic) captures go to."
    )
    capture_rate: float = Field(
        default=1.0, gt=0, le=1, description="Share of requests captured (sampled at random)."
    )
    capture_buffer: int = Field(
        default=10_000,
        gt=0,
        description="Captures waiting to be written; beyond, requests are not captured (and counted).",
    )
    capture_max_entries: int = Field(
        default=1_000_000, gt=0, description="The stream is trimmed to about this many captures."
    )

    @field_validator("capture_url")
    @classmethod
    def _capture_scheme(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("redis://", "rediss://", "kafka://")):
            raise ValueError("must start with redis://, rediss:// or kafka://")
        return url

    def capture_settings(self) -> dict[str, object] | None:
        """What the runtime captures to (`stacks/mlserver/capture.py`), or None: capture is off."""
        if self.capture_url is None:
            return None
        return {
            "url": self.capture_url,
            "username": self.capture_username,
            "stream": self.capture_stream,
            "rate": self.capture_rate,
            "buffer": self.capture_buffer,
            "max_entries": self.capture_max_entries,
        }


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
