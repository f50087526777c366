"""The `mlserver` model deployer: blue/green inside one long-lived MLServer per model.

A new version is written next to the serving one, proven in the serving environment (it loads
and scores its example rows), then MLServer is told to reload the model: it loads the new one
before it unloads the old, so requests never meet an empty endpoint. If anything fails on the
way the old version keeps serving and the deployment fails with the reason.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import ClassVar, cast
from uuid import UUID

from zenml.client import Client
from zenml.config.global_config import GlobalConfiguration
from zenml.constants import DEFAULT_SERVICE_START_STOP_TIMEOUT
from zenml.logger import get_logger
from zenml.model_deployers import BaseModelDeployer
from zenml.model_deployers.base_model_deployer import get_model_version_id_if_exists
from zenml.models.v2.misc.service import ServiceType
from zenml.services import BaseService, ServiceConfig
from zenml.services.service import BaseDeploymentService

from core.errors import DeploymentError
from core.model_names import checked_name
from core.v2_client import V2Client, V2RequestError
from stacks.mlserver import environment
from stacks.mlserver import repository as model_repository
from stacks.mlserver.flavor import MLServerModelDeployerConfig, MLServerModelDeployerFlavor
from stacks.mlserver.service import MLServerDeploymentConfig, MLServerDeploymentService

logger = get_logger(__name__)

START_ATTEMPTS = 3
ADDRESS_IN_USE = "address already in use"


class MLServerModelDeployer(BaseModelDeployer):
    NAME: ClassVar[str] = "MLServer"
    FLAVOR: ClassVar[type[MLServerModelDeployerFlavor]] = MLServerModelDeployerFlavor

    @property
    def config(self) -> MLServerModelDeployerConfig:
        return cast(MLServerModelDeployerConfig, self._config)

    @property
    def root(self) -> Path:
        """This deployer's folder under ZenML's local stores: repositories and service files."""
        path = Path(GlobalConfiguration().local_stores_path) / str(self.id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def repository(self, model_name: str) -> Path:
        return self.root / "repositories" / checked_name(model_name, "model name")

    def serving_python(self, model_requirements: list[str]) -> Path:
        """The interpreter of the serving environment with the model's packages (and the capture
        stream's client when capture is on), created on first use."""
        return environment.ensure_serving_env(
            environment.default_env_root(),
            self.config.serving_env_timeout_seconds,
            environment.serving_requirements(model_requirements, self.config.capture_url),
        )

    @staticmethod
    def get_model_server_info(service_instance: BaseService) -> dict[str, str | None]:
        service = cast(MLServerDeploymentService, service_instance)
        return {
            "PREDICTION_URL": service.prediction_url,
            "HEALTH_CHECK_URL": service.healthcheck_url,
            "MODEL_REPOSITORY": service.config.repository,
            "LOG_FILE": service.status.log_file,
        }

    def services_of(self, model_name: str) -> list[BaseService]:
        """Every service of this flavor for `model_name`, whatever its version.

        Read from the store directly: `find_model_server(model_name=...)` matches the model's
        *latest* version only, and it deletes records that have no source yet, such as the one
        ZenML creates just before `perform_deploy_model`.
        """
        service_type = MLServerDeploymentService.SERVICE_TYPE
        responses = Client().list_services(type=service_type.type, flavor=service_type.flavor, size=1000)
        services = []
        for response in responses.items:
            if not response.service_source:
                continue
            service = BaseDeploymentService.from_model(response)
            if service.config.model_name == model_name:
                service.update_status()
                services.append(service)
        return services

    def deploy_model(
        self,
        config: ServiceConfig,
        service_type: ServiceType,
        replace: bool = False,
        continuous_deployment_mode: bool = False,
        timeout: int = DEFAULT_SERVICE_START_STOP_TIMEOUT,
    ) -> BaseService:
        """Serve `config.model_version`, unless a running server already serves exactly it.

        Replaces ZenML's generic version, whose "same configuration" lookup ignores the
        configuration (ZenML 0.98 drops the `config` filter) and returns whatever service of
        the type exists, and whose replace mode stops the old server before the new one is up.
        """
        config = cast(MLServerDeploymentConfig, config)
        client = Client()
        for service in self.services_of(config.model_name):
            if service.config.model_version == config.model_version:
                if not service.is_running:  # its server died: bring the same deployment back
                    _start(cast(MLServerDeploymentService, service), timeout)
                    _record(client, service)
                return service
        record = client.create_service(
            config=config,
            service_type=service_type,
            model_version_id=get_model_version_id_if_exists(config.model_name, config.model_version),
        )
        try:
            service = self.perform_deploy_model(id=record.id, config=config, timeout=timeout)
        except BaseException:
            client.delete_service(record.id)
            raise
        _record(client, service)
        return service

    def perform_deploy_model(
        self, id: UUID, config: ServiceConfig, timeout: int = DEFAULT_SERVICE_START_STOP_TIMEOUT
    ) -> BaseService:
        """Swap the version into the running server of this model, or start one."""
        config = cast(MLServerDeploymentConfig, config)
        others = [service for service in self.services_of(config.model_name) if service.uuid != id]
        live = next((cast(MLServerDeploymentService, s) for s in others if s.is_running), None)
        repository = Path(config.repository)
        version_dir = model_repository.version_folder(repository, config.model_name, config.model_version)
        environment.smoke_test(Path(config.serving_python), version_dir, timeout)
        model_repository.write_capture_settings(
            repository, self.config.capture_settings(), self.config.capture_password
        )
        config.root_runtime_path = str(self.root / "services")
        if live is not None and live.config.serving_python != config.serving_python:
            # The version needs other packages (another estimator family): a server of its own in
            # their environment starts beside the live one (on another port), which stops once
            # the new one answers.
            logger.info(
                "Version %s needs another serving environment: starting a new server.", config.model_version
            )
            live = None
            others_to_stop = others
        else:
            others_to_stop = [old for old in others if old is not live]
        if live is not None:
            self._swap(live, config, timeout)
            # The running server now belongs to the new record: same process, same port.
            service = MLServerDeploymentService(
                uuid=id,
                config=config,
                status=live.status,
                endpoint=live.endpoint,
                admin_state=live.admin_state,
            )
        else:
            previous = model_repository.active_version(repository, config.model_name)
            model_repository.activate_version(repository, config.model_name, config.model_version)
            service = MLServerDeploymentService(uuid=id, config=config)
            try:
                _start(service, timeout)
            except DeploymentError:
                if previous is not None:  # what a server of the model, still live or restarted, reads
                    model_repository.activate_version(repository, config.model_name, previous)
                raise
        for old in others:
            if old in others_to_stop:
                old.stop(timeout=timeout, force=True)  # a replaced server, or records of one that died
            Client().delete_service(old.uuid)
        return service

    def _swap(self, live: MLServerDeploymentService, config: MLServerDeploymentConfig, timeout: int) -> None:
        """Reload the model in the running server with the new version; undo on any failure."""
        repository = Path(config.repository)
        previous = model_repository.active_version(repository, config.model_name)
        version_dir = model_repository.version_folder(repository, config.model_name, config.model_version)
        model_repository.activate_version(repository, config.model_name, config.model_version)
        client = V2Client(live.base_url or "", config.model_name, timeout_seconds=timeout)
        try:
            client.reload(model_repository.control_token(repository))
            served = client.predict(model_repository.load_example(version_dir))
            if served.model_version != config.model_version:
                raise V2RequestError(f"the server answers as version {served.model_version}")
        except V2RequestError as error:
            if previous is not None:
                model_repository.activate_version(repository, config.model_name, previous)
                try:
                    client.reload(model_repository.control_token(repository))
                except V2RequestError:
                    logger.error("Restoring version %s in MLServer failed as well.", previous)
            raise DeploymentError(
                f"version {config.model_version} was not switched in; version {previous} still serves: "
                f"{error}"
            ) from None
        logger.info("MLServer now serves %s version %s.", config.model_name, config.model_version)

    def perform_stop_model(
        self, service: BaseService, timeout: int = DEFAULT_SERVICE_START_STOP_TIMEOUT, force: bool = False
    ) -> BaseService:
        service.stop(timeout=timeout, force=force)
        return service

    def perform_start_model(
        self, service: BaseService, timeout: int = DEFAULT_SERVICE_START_STOP_TIMEOUT
    ) -> BaseService:
        service.start(timeout=timeout)
        return service

    def perform_delete_model(
        self, service: BaseService, timeout: int = DEFAULT_SERVICE_START_STOP_TIMEOUT, force: bool = False
    ) -> None:
        service = cast(MLServerDeploymentService, service)
        model_folder = model_repository.model_folder(
            Path(service.config.repository), service.config.model_name
        )
        removed = [_inside(self.root, path) for path in (service.status.runtime_path, model_folder) if path]
        service.stop(timeout=timeout, force=force)
        for path in removed:
            shutil.rmtree(path, ignore_errors=True)


def _inside(root: Path, path: str | Path) -> Path:
    """`path` if it lies inside the deployer's folder `root`: a service record (which anyone who can
    write to the ZenML store can plant) names what a deletion removes, and nothing else may go."""
    resolved, own = Path(path).resolve(), root.resolve()
    if resolved == own or not resolved.is_relative_to(own):
        raise DeploymentError(f"refusing to remove '{path}': it is not inside the deployer's folder {own}")
    return resolved


def _record(client: Client, service: BaseService) -> None:
    """Store the service as it now runs: a (re)start may have moved it to another port."""
    client.update_service(
        id=service.uuid,
        name=service.config.service_name,
        service_source=service.model_dump().get("type"),
        admin_state=service.admin_state,
        status=service.status.model_dump(),
        endpoint=service.endpoint.model_dump() if service.endpoint else None,
        prediction_url=service.get_prediction_url(),
        health_check_url=service.get_healthcheck_url(),
    )


def _start(service: MLServerDeploymentService, timeout: int) -> None:
    """Start the server of `service`, again on other ports if another server took one of them
    between the probe and the bind (two deployments starting at once); else fail with the log's
    first error, leaving no half-started server behind."""
    for _ in range(START_ATTEMPTS):
        log_offset = _log_size(service)
        if service.start_and_wait(timeout):
            return
        log = _log_since(service, log_offset)
        service.stop(timeout=timeout, force=True)
        if ADDRESS_IN_USE not in log:
            break
        logger.info("Another server took a port of MLServer as it started: starting it on other ports.")
    errors = [line.strip() for line in log.splitlines() if "ERROR" in line or "Error:" in line]
    reason = errors[0] if errors else (log.strip().splitlines() or ["nothing logged"])[-1]
    raise DeploymentError(f"MLServer did not become ready: {reason} (log: {service.status.log_file})")


def _log_size(service: MLServerDeploymentService) -> int:
    log_file = service.status.log_file
    return Path(log_file).stat().st_size if log_file and Path(log_file).exists() else 0


def _log_since(service: MLServerDeploymentService, offset: int) -> str:
    """What the server logged after `offset`: the daemon appends every start to one file."""
    log_file = service.status.log_file
    if not log_file or not Path(log_file).exists():
        return ""
    with open(log_file, "rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")
