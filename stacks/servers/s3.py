"""moto's S3-compatible server, for the S3 artifact stores and MLflow's artifacts."""

from __future__ import annotations

import requests

from stacks.servers.base import BIN, Launch, ProcessServer
from stacks.servers.config import S3ServerConfig
from stacks.servers.credentials import Credentials, aws_environment


class S3Server(ProcessServer):
    """moto keeps objects in memory; its recorder logs every write, and a restart replays the log."""

    name = "s3"

    @property
    def config(self) -> S3ServerConfig:
        return self.servers.s3

    def launch(self, credentials: Credentials) -> Launch:
        recording = self.folder / "requests.log"
        recording.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **aws_environment(credentials),
            "MOTO_ENABLE_RECORDING": "True",
            "MOTO_RECORDER_FILEPATH": str(recording),
        }

        def restore_and_create_buckets() -> None:
            if recording.is_file() and recording.stat().st_size:
                replay = requests.post(f"{self.url}/moto-api/recorder/replay-recording", timeout=600)
                replay.raise_for_status()
            self._create_buckets(credentials)

        command = [str(BIN / "moto_server"), "-H", self.config.host, "-p", str(self.config.port)]
        return Launch(commands=[command], env=env, after_start=restore_and_create_buckets)

    def _create_buckets(self, credentials: Credentials) -> None:
        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=credentials.aws_access_key_id,
            aws_secret_access_key=credentials.aws_secret_access_key,
            region_name="us-east-1",
        )
        existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
        for bucket in self.config.buckets:
            if bucket not in existing:
                s3.create_bucket(Bucket=bucket)
