"""Benchmark: serving with inference capture on (every request, to the Redis of `servers up redis`)
against capture off, side by side in one run.

The demo model is trained, compiled and written to a model repository as the deployer writes it
(`bench/serving_settings.py`); MLServer serves it from the capturing serving environment (the same
one for both sides), with the capture settings the `mlserver` deployer writes for a `capture_url`
(rate 1.0, its default buffer), or none. wrk sends single-row requests at 8 connections; the runs
alternate off/on. After each run the capture writer is given time to drain, then MLServer's metrics
say how many requests were answered, captured and dropped, and the stream's length how many
captures arrived.
Usage: python bench/capture.py [--seconds N] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.figures import Figure, report  # noqa: E402
from bench.http_load import v2_body, wait_ready, wrk  # noqa: E402
from bench.scratch_servers import scratch_redis  # noqa: E402
from bench.serving_settings import MODEL, demo_rows, write_repository  # noqa: E402

HOST = "127.0.0.1"
CONNECTIONS = 8
DRAIN_SECONDS = 30.0  # longest wait for the capture writer to empty its buffer after a run
COUNTERS = {  # MLServer's and the capture writer's Prometheus counters
    "answered": "model_infer_request_success",
    "captured": "model_captured_requests",
    "dropped": "model_capture_dropped_requests",
}


@dataclass(frozen=True)
class CaptureTarget:
    url: str
    password: str
    stream: str


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    parser.add_argument("--repeats", type=int, default=3, help="off/on pairs; medians are reported")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        subprocess.run(["bash", str(ROOT / "scripts" / "install-bench-tools.sh")], check=True)

    from stacks.mlserver import environment

    with tempfile.TemporaryDirectory(prefix="bench-capture-") as scratch:
        folder = Path(scratch)
        with scratch_redis(folder) as redis_server:
            repository, packages = write_repository(folder / "repository")
            requirements = environment.serving_requirements(packages, redis_server.url)
            python = environment.ensure_serving_env(environment.default_env_root(), 900, requirements)
            body = v2_body(demo_rows().head(1))
            off, on = [], []
            for repeat in range(args.repeats):
                off.append(load(python, repository, body, args.seconds, None))
                target = CaptureTarget(redis_server.url, redis_server.password, f"captures-{repeat}")
                on.append(load(python, repository, body, args.seconds, target))
    report(figures(off, on))


def load(
    python: Path, repository: Path, body: str, seconds: int, capture: CaptureTarget | None
) -> dict[str, float]:
    """Serve the repository capturing to `capture` (or not), load it with wrk, and count what was
    answered, captured and dropped once the capture writer has drained."""
    from stacks.mlserver import repository as model_repository
    from stacks.mlserver.flavor import MLServerModelDeployerConfig

    settings = (
        None
        if capture is None
        else MLServerModelDeployerConfig(
            capture_url=capture.url, capture_stream=capture.stream
        ).capture_settings()
    )
    model_repository.write_capture_settings(
        repository, settings, None if capture is None else capture.password
    )
    with serving(python, repository) as (base, metrics_url):
        measured = wrk(f"{base}/v2/models/{MODEL}/infer", body, CONNECTIONS, seconds, repository.parent)
        counts = drained(metrics_url) if capture is not None else counters(metrics_url)
    in_stream = 0 if capture is None else stream_length(capture)
    return measured | counts | {"in_stream": in_stream}


@contextmanager
def serving(python: Path, repository: Path) -> Iterator[tuple[str, str]]:
    """MLServer on the repository through the deployer's launcher, with the shipped settings; its
    URL and its metrics endpoint."""
    from stacks.mlserver import environment
    from stacks.mlserver import repository as model_repository
    from stacks.mlserver.ports import free_ports

    http, grpc, metrics = free_ports(HOST, 3)
    ports = model_repository.ServerPorts(http, grpc, metrics)
    model_repository.write_server_settings(repository, HOST, ports, parallel_workers=0)
    server = subprocess.Popen(
        environment.mlserver_command(python, repository),
        cwd=repository,
        env=environment.mlserver_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://{HOST}:{http}"
    try:
        wait_ready(f"{base}/v2/models/{MODEL}/ready")
        yield base, f"http://{HOST}:{metrics}/metrics"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def drained(metrics_url: str) -> dict[str, float]:
    """The counters once every answered request is captured or dropped (or after DRAIN_SECONDS)."""
    deadline = time.monotonic() + DRAIN_SECONDS
    while True:
        counts = counters(metrics_url)
        settled = counts["captured"] + counts["dropped"] >= counts["answered"]
        if settled or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)


def counters(metrics_url: str) -> dict[str, float]:
    """Each counter of COUNTERS summed over its labels (0 where it has none yet)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(metrics_url, timeout=10).text
    totals = {
        family.name: sum(s.value for s in family.samples if s.name.endswith("_total"))
        for family in text_string_to_metric_families(text)
    }
    return {key: float(totals.get(name, 0.0)) for key, name in COUNTERS.items()}


def stream_length(capture: CaptureTarget) -> int:
    """The captures the stream holds (the writer puts up to 50 in an entry)."""
    import redis

    client = redis.Redis.from_url(capture.url, password=capture.password)
    try:
        entries: Any = client.xrange(capture.stream)
        return sum(len(json.loads(fields[b"record"])["captures"]) for _, fields in entries)
    finally:
        client.close()


def figures(off: list[dict[str, float]], on: list[dict[str, float]]) -> list[Figure]:
    def median(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(run[key] for run in runs)

    measure = f"1 row, {CONNECTIONS} conn"
    return [
        Figure(
            "capture",
            f"{measure}: requests/s, capture on",
            median(on, "rps"),
            "req/s",
            median(off, "rps"),
            "capture off",
        ),
        Figure(
            "capture",
            f"{measure}: p99, capture on",
            median(on, "p99"),
            "ms",
            median(off, "p99"),
            "capture off",
        ),
        Figure(
            "capture",
            "requests captured, all capturing runs",
            sum(r["captured"] for r in on),
            "",
            sum(r["answered"] for r in on),
            "answered",
        ),
        Figure(
            "capture",
            "captures in the streams, all capturing runs",
            sum(r["in_stream"] for r in on),
            "",
            sum(r["captured"] for r in on),
            "counted captured",
        ),
        Figure("capture", "captures dropped, all capturing runs", sum(r["dropped"] for r in on), ""),
        Figure("capture", "failed requests, all runs", sum(r["errors"] for r in off + on), ""),
    ]


if __name__ == "__main__":
    main()
