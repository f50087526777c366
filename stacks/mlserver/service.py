"""A ZenML local daemon service that runs MLServer on a model repository.

The daemon (a ZenML process) starts MLServer from the serving environment as its child, passes
SIGTERM on, and exits with it; so ZenML's start, stop and status work on MLServer, and the
server outlives the process that deployed it. A server that ignores SIGTERM (a wedged batcher was
seen to) is killed after a grace period, and it is killed outright if the daemon itself dies.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from zenml.models.v2.misc.service import ServiceType
from zenml.services import (
    HTTPEndpointHealthMonitor,
    HTTPEndpointHealthMonitorConfig,
    LocalDaemonService,
    LocalDaemonServiceConfig,
    LocalDaemonServiceEndpoint,
    LocalDaemonServiceEndpointConfig,
    ServiceEndpointProtocol,
)
from zenml.services.service import BaseDeploymentService

from stacks.mlserver import environment
from stacks.mlserver import repository as model_repository
from stacks.mlserver.config import MAX_REQUEST_BYTES
from stacks.mlserver.ports import free_ports, preferred_or_free_port
from stacks.mlserver.supervision import supervise


class MLServerDeploymentConfig(LocalDaemonServiceConfig):
    """One model served from `repository` by the MLServer of `serving_python`'s environment."""

    repository: str
    serving_python: str
    host: str = "127.0.0.1"
    port: int = 8585
    parallel_workers: int = 0
    max_request_bytes: int = MAX_REQUEST_BYTES
    stop_grace_seconds: float = 10.0


class MLServerEndpoint(LocalDaemonServiceEndpoint):
    """ZenML's local endpoint, choosing its port with a probe that sees every listener."""

    def _lookup_free_port(self) -> int:
        return preferred_or_free_port(self.config.ip_address, self.config.port, self.status.port)


class MLServerDeploymentService(LocalDaemonService, BaseDeploymentService):
    SERVICE_TYPE = ServiceType(
        name="mlserver-deployment",
        type="model-serving",
        flavor="mlserver",
        description="MLServer (Seldon's inference server) serving a model over the V2 protocol",
        logo_url="https://public-flavor-logos.s3.eu-central-1.amazonaws.com/model_deployer/seldon.png",
    )

    config: MLServerDeploymentConfig
    endpoint: MLServerEndpoint

    def __init__(self, config: MLServerDeploymentConfig | dict[str, Any], **attrs: Any) -> None:
        if not isinstance(config, MLServerDeploymentConfig):
            config = MLServerDeploymentConfig.model_validate(config)
        if "endpoint" not in attrs:
            attrs["endpoint"] = MLServerEndpoint(
                config=LocalDaemonServiceEndpointConfig(
                    protocol=ServiceEndpointProtocol.HTTP,
                    ip_address=config.host,
                    port=config.port,
                    allocate_port=True,
                ),
                monitor=HTTPEndpointHealthMonitor(
                    config=HTTPEndpointHealthMonitorConfig(
                        healthcheck_uri_path=f"v2/models/{config.model_name}/ready",
                        use_head_request=False,
                    )
                ),
            )
        super().__init__(config=config, **attrs)

    @property
    def base_url(self) -> str | None:
        uri = self.endpoint.status.uri
        return uri.rstrip("/") if uri else None

    @property
    def prediction_url(self) -> str | None:
        base = self.base_url
        return f"{base}/v2/models/{self.config.model_name}/infer" if base else None

    @property
    def healthcheck_url(self) -> str | None:
        base = self.base_url
        return f"{base}/v2/models/{self.config.model_name}/ready" if base else None

    def start_and_wait(self, timeout: int) -> bool:
        """Start the server; whether its model answers ready within `timeout` seconds.

        False as soon as the daemon (which exits with MLServer) is gone: ZenML's own wait would
        go on for the whole timeout, as its status check cannot tell "exited" from "not yet up".
        """
        self.start(timeout=0)
        deadline = time.monotonic() + timeout
        daemon_seen = False
        while time.monotonic() < deadline:
            if self.is_running:
                return True
            daemon_alive = self.status.pid is not None
            if daemon_seen and not daemon_alive:
                return False
            daemon_seen = daemon_seen or daemon_alive
            time.sleep(0.5)
        return False

    def run(self) -> None:
        """In the daemon: write the server settings, run MLServer, pass signals on, exit with it."""
        folder = Path(self.config.repository)
        host = self.config.host
        http = self.endpoint.status.port or self.config.port
        grpc, metrics = free_ports(host, 2, taken=(http,))
        model_repository.write_server_settings(
            folder, host, model_repository.ServerPorts(http, grpc, metrics), self.config.parallel_workers
        )
        command = environment.mlserver_command(
            Path(self.config.serving_python), folder, self.config.max_request_bytes
        )
        sys.exit(
            supervise(command, environment.mlserver_environment(), self.config.stop_grace_seconds, cwd=folder)
        )
