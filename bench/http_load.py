"""What the serving benchmarks share: free ports, waiting for an endpoint, and wrk runs."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from pathlib import Path

import pandas as pd
import requests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(url: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} not ready after {timeout} s")


def wrk(url: str, body: str, connections: int, seconds: int, folder: Path) -> dict[str, float]:
    """Requests/s, latency percentiles (ms) and errors from wrk POSTing `body` to `url`."""
    body_file = folder / "body.json"
    body_file.write_text(body)
    script = folder / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'local f = io.open("{body_file}", "r")\nwrk.body = f:read("*a")\nf:close()\n'
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("P50 %f\\nP99 %f\\nERRORS %d\\n", latency:percentile(50) / 1000, '
        "latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect + "
        "summary.errors.read + summary.errors.write + summary.errors.timeout))\n"
        "end\n"
    )
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    values = dict(re.findall(r"^(P50|P99|ERRORS) ([\d.]+)$", output, re.MULTILINE))
    return {
        "rps": rate,
        "p50": float(values["P50"]),
        "p99": float(values["P99"]),
        "errors": float(values["ERRORS"]),
    }


def v2_body(frame: pd.DataFrame) -> str:
    from core.v2_client import encode_request

    return json.dumps(encode_request(frame))
