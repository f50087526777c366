"""`servers up` starts servers side by side: when one cannot start, the user gets one line, a
server that needs it is not started, and what did start is recorded, so `servers down` stops it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import pytest

from tests.integration.conftest import last_line, run_cli, servers_env

pytestmark = pytest.mark.servers


class _Squatter(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def s3_port_taken(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The servers' environment, with something else answering on the S3 server's URL."""
    env = servers_env(tmp_path, "s3", "postgres", "mlflow", "gcs")
    port = int(env["LOCAL_S3_URL"].rsplit(":", 1)[1])
    squatter = ThreadingHTTPServer(("127.0.0.1", port), _Squatter)
    threading.Thread(target=squatter.serve_forever, daemon=True).start()
    try:
        yield env
    finally:
        squatter.shutdown()
        squatter.server_close()
        run_cli("servers", "down", env=env, timeout=120)


def test_a_server_that_cannot_start_fails_up_and_what_started_is_stopped_by_down(
    s3_port_taken: dict[str, str],
) -> None:
    env = s3_port_taken
    started = run_cli("servers", "up", "s3", "mlflow", "gcs", env=env, timeout=300)

    assert started.returncode == 1
    assert last_line(started.stderr) == (
        f"error: s3: something else already answers on {env['LOCAL_S3_URL']}; stop it or change the URL"
    )
    state = json.loads((Path(env["MLOPS_SERVERS_DIR"]) / "state.json").read_text())
    assert list(state) == ["postgres", "gcs"]  # MLflow needs S3 and never started; the others did
    gcs_pids = state["gcs"]["pids"] + state["postgres"]["pids"]
    assert all(psutil.pid_exists(pid) for pid in gcs_pids)

    stopped = run_cli("servers", "down", env=env, timeout=120)

    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.strip() == "stopped: gcs, postgres"
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in gcs_pids)
