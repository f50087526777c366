"""Redis from Debian's packages, with a password and an append-only file in the run folder: stream
sources, and the endpoint's captures through an account that may only append them."""

from __future__ import annotations

import os

from core.types import CAPTURE_STREAM
from stacks.servers.base import Launch, ProcessServer
from stacks.servers.config import RedisServerConfig
from stacks.servers.credentials import Credentials


class RedisServer(ProcessServer):
    name = "redis"

    @property
    def config(self) -> RedisServerConfig:
        return self.servers.redis

    def ready(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(self.config.host, self.config.port, socket_timeout=2).ping())
        except redis.AuthenticationError:  # it answers; this probe has no password
            return True
        except redis.RedisError:
            return False

    def launch(self, credentials: Credentials) -> Launch:
        self.folder.mkdir(parents=True, exist_ok=True)
        settings = self.folder / "redis.conf"  # holds the password: readable by the owner only
        descriptor = os.open(settings, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(
                f"bind {self.config.host}\nport {self.config.port}\ndir {self.folder}\n"
                f'requirepass {credentials.redis_password}\nappendonly yes\nsave ""\n'
                "protected-mode yes\ndaemonize no\n"
                # The endpoint's account appends captures and nothing else: it reads no stream or
                # label, and touches no other key.
                f"user {credentials.redis_capture_username} on >{credentials.redis_capture_password} "
                f"resetkeys ~{CAPTURE_STREAM} resetchannels -@all +xadd +ping\n"
            )
        return Launch(commands=[["redis-server", str(settings)]], env=self.environment({}))
