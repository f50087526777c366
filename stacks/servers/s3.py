"""moto's S3-compatible server, for the S3 artifact stores and MLflow's artifacts, locked down and
journaled by `moto_front` (signatures checked against the run folder's keys, no web page may call it,
its control API off, every accepted write replayed after a restart or a kill)."""

from __future__ import annotations

import sys

from stacks.servers.base import Launch, ProcessServer
from stacks.servers.config import PROJECT_ROOT, S3ServerConfig
from stacks.servers.credentials import Credentials, aws_environment


class S3Server(ProcessServer):
    """moto keeps objects in memory; the journal of its writes brings them back at the next start."""

    name = "s3"

    @property
    def config(self) -> S3ServerConfig:
        return self.servers.s3

    def launch(self, credentials: Credentials) -> Launch:
        journal = self.folder / "requests.log"
        journal.parent.mkdir(parents=True, exist_ok=True)
        env = self.environment(
            {
                **aws_environment(credentials),  # the keys it accepts
                "MOTO_DISABLE_GLOBAL_CORS": "true",  # moto's default answers every origin
                "PYTHONPATH": str(PROJECT_ROOT),
            }
        )
        command = [sys.executable, "-m", "stacks.servers.moto_front", "--host", self.config.host]
        command += ["--port", str(self.config.port), "--journal", str(journal)]
        return Launch(commands=[command], env=env, after_start=lambda: self._create_buckets(credentials))

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
