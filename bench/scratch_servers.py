"""Servers of `run.py servers up` in a scratch ZenML config and run folder, on free ports, stopped
after: what the benchmarks that read or write a stream run against."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.http_load import free_port

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ScratchRedis:
    env: dict[str, str]  # ZENML_CONFIG_PATH, MLOPS_SERVERS_DIR, LOCAL_REDIS_URL
    url: str  # redis://HOST:PORT/0, without the password
    password: str

    @property
    def url_with_password(self) -> str:
        return self.url.replace("redis://", f"redis://:{self.password}@", 1)


@contextmanager
def scratch_redis(folder: Path) -> Iterator[ScratchRedis]:
    """`servers up redis` with its own ZenML config and run folder under `folder`; `servers down` after."""
    env = {
        **os.environ,
        "ZENML_CONFIG_PATH": str(folder / "zenml"),
        "MLOPS_SERVERS_DIR": str(folder / "servers"),
        "LOCAL_REDIS_URL": f"redis://127.0.0.1:{free_port()}",
    }
    subprocess.run(
        [sys.executable, "run.py", "servers", "up", "redis"], cwd=ROOT, env=env, check=True, stdout=sys.stderr
    )
    try:
        password = json.loads((folder / "servers" / "credentials.json").read_text())["redis_password"]
        yield ScratchRedis(env, f"{env['LOCAL_REDIS_URL']}/0", password)
    finally:
        subprocess.run([sys.executable, "run.py", "servers", "down"], cwd=ROOT, env=env, check=False)
