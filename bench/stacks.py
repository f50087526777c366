"""Benchmark: the same training run on the `local`, `local-servers` and `airflow` stacks.

For each stack: the wall time of `python run.py --pipeline training --no-cache` (ratio to `local`),
and where it goes, read from ZenML's record of the run: the steps' own time (sum of step
durations), orchestration (run start to end, minus the steps: Airflow's scheduling and one process
per step), and the client's start-up and submission (wall minus the run). Artifact I/O is inside
the steps' time; comparing `local` and `local-servers` steps isolates the S3 and MLflow servers.
No code is uploaded on any of these stacks (the airflow overlay reads the checkout).

Servers run in a temporary run folder on free 127.0.0.1 ports, with a fresh ZENML_CONFIG_PATH;
they are stopped at the end. Usage: python bench/stacks.py [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.figures import Figure, report  # noqa: E402

STACKS = ("local", "local-servers", "airflow")
RUN_TIMES = """
import json
from zenml.client import Client
run = Client().list_pipeline_runs(pipeline="training", sort_by="desc:created", size=1).items[0]
run = Client().get_pipeline_run(run.id)
steps = sum((s.end_time - s.start_time).total_seconds() for s in run.steps.values())
print(json.dumps({"run": (run.end_time - run.start_time).total_seconds(), "steps": steps}))
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(
            f"benchmark command failed: {' '.join(args)}\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return result


def _measure(stack: str, env: dict[str, str], repeats: int) -> dict[str, float]:
    _run([sys.executable, "run.py", "stack", "register", stack], env)
    _run([str(Path(sys.executable).parent / "zenml"), "stack", "set", stack], env)
    _run([sys.executable, "run.py", "--pipeline", "training"], env)  # warm-up: caches, first-run set-up
    walls, runs, steps = [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        _run([sys.executable, "run.py", "--pipeline", "training", "--no-cache"], env)
        walls.append(time.perf_counter() - start)
        times = json.loads(_run([sys.executable, "-c", RUN_TIMES], env).stdout.strip().splitlines()[-1])
        runs.append(times["run"])
        steps.append(times["steps"])
    return {
        "wall": statistics.median(walls),
        "run": statistics.median(runs),
        "steps": statistics.median(steps),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-stacks-") as scratch:
        Path(scratch).chmod(0o755)  # PostgreSQL runs as its own account when we are root
        env = {
            **os.environ,
            "ZENML_CONFIG_PATH": str(Path(scratch) / "zenml"),
            "MLOPS_SERVERS_DIR": str(Path(scratch) / "servers"),
            **{
                f"LOCAL_{name}_URL": f"{scheme}://127.0.0.1:{_free_port()}"
                for name, scheme in (
                    ("S3", "http"),
                    ("POSTGRES", "postgresql"),
                    ("MYSQL", "mysql"),
                    ("MLFLOW", "http"),
                    ("ZENML", "http"),
                    ("AIRFLOW", "http"),
                )
            },
        }
        _run([sys.executable, "run.py", "servers", "up", "s3", "mlflow", "zenml", "airflow"], env)
        try:
            measured = {stack: _measure(stack, env, args.repeats) for stack in STACKS}
        finally:
            subprocess.run([sys.executable, "run.py", "servers", "down"], cwd=ROOT, env=env, check=False)
    local = measured["local"]["wall"]
    figures = []
    for stack, times in measured.items():
        figures += [
            Figure("stacks", f"training on `{stack}`: wall", times["wall"], "s", local, "`local` wall"),
            Figure("stacks", f"training on `{stack}`: steps' own time", times["steps"], "s"),
            Figure("stacks", f"training on `{stack}`: orchestration", times["run"] - times["steps"], "s"),
            Figure(
                "stacks",
                f"training on `{stack}`: client start-up, submission",
                times["wall"] - times["run"],
                "s",
            ),
        ]
    report(figures)


if __name__ == "__main__":
    main()
