"""Azurite, Microsoft's Azure Blob Storage emulator, installed once from npm into the run folder."""

from __future__ import annotations

import contextlib

from stacks.servers.base import Launch, ProcessServer
from stacks.servers.config import AzureServerConfig
from stacks.servers.credentials import Credentials, azure_connection_string
from stacks.servers.processes import run_setup


class AzureServer(ProcessServer):
    """Started with an account of this run folder's, so no well-known key is in the repository."""

    name = "azure"
    ready_path = "/devstoreaccount1?comp=list"  # any answer, even 403, means it is up

    @property
    def config(self) -> AzureServerConfig:
        return self.servers.azure

    def launch(self, credentials: Credentials) -> Launch:
        azurite = self.folder / "npm" / "node_modules" / ".bin" / "azurite-blob"
        if not azurite.is_file():
            install = ["npm", "install", "--prefix", str(self.folder / "npm"), "--no-audit", "--no-fund"]
            run_setup(
                [*install, self.config.azurite],
                self.log.with_name("azure-setup.log"),
                self.servers.startup_timeout_seconds,
            )
        command = [str(azurite), "--blobHost", self.config.host, "--blobPort", str(self.config.port)]
        command += ["--location", str(self.folder / "data")]
        command += ["--silent", "--skipApiVersionCheck", "--disableTelemetry"]
        env = self.environment({"AZURITE_ACCOUNTS": f"{credentials.azure_account}:{credentials.azure_key}"})
        return Launch(commands=[command], env=env, after_start=lambda: self._create_container(credentials))

    def _create_container(self, credentials: Credentials) -> None:
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import BlobServiceClient

        service = BlobServiceClient.from_connection_string(azure_connection_string(credentials, self.config))
        with contextlib.suppress(ResourceExistsError):
            service.create_container(self.config.container)
