"""gcp-storage-emulator, for the GCS artifact store; its data lives on disk in the run folder."""

from __future__ import annotations

from stacks.servers.base import BIN, Launch, ProcessServer
from stacks.servers.config import GCSServerConfig
from stacks.servers.credentials import Credentials


class GCSServer(ProcessServer):
    name = "gcs"

    @property
    def config(self) -> GCSServerConfig:
        return self.servers.gcs

    def launch(self, credentials: Credentials) -> Launch:
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [str(BIN / "gcp-storage-emulator"), "start", "--host", self.config.host]
        command += ["--port", str(self.config.port), "--default-bucket", self.config.bucket, "-q"]
        return Launch(commands=[command], env=self.environment({"STORAGE_BASE": str(self.folder)}))
