"""Run every benchmark of the project, each in its own process, and print one Markdown table.

Usage: python bench/run.py [--out PATH] [--only NAME ...]
The benchmarks: training (pipeline vs plain script, cached rerun, CLI start-up), serving (MLServer,
compiled and not, vs `mlflow models serve`), MLServer's settings one at a time, the data contract's
declared rules (a batch check and the endpoint, with and without them), batch inference
(vs raw in-process predict), the drift check (sampled vs full, against the 60 s / 4 GB targets),
ingest from PostgreSQL, a Redis stream and a Kafka topic (vs a Parquet file), serving with
inference capture on (vs off), the live loop's verdict on 100,000 captured requests (against 60 s,
its memory against a 10,000-request window), and the stacks (the same training run on `local`,
`local-servers` and `airflow`).
docs/explanation/performance.md quotes this table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.figures import FIGURES_FILE_ENV, Figure, table

BENCH = Path(__file__).resolve().parent
BENCHMARKS = (
    "training",
    "serving",
    "serving_settings",
    "contract",
    "batch_inference",
    "drift",
    "ingest",
    "capture",
    "live_loop",
    "stacks",
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS))
    args = parser.parse_args()

    figures: list[Figure] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-run-") as scratch:
        collected = Path(scratch) / "figures.jsonl"
        for name in args.only:
            print(f"== {name}", file=sys.stderr, flush=True)
            subprocess.run(
                [sys.executable, str(BENCH / f"{name}.py")],
                env={**os.environ, FIGURES_FILE_ENV: str(collected)},
                stdout=sys.stderr,
                check=True,
            )
        figures = [Figure(**json.loads(line)) for line in collected.read_text().splitlines()]
    minutes = (time.perf_counter() - started) / 60
    text = (
        f"Benchmarks on {os.cpu_count()} cores ({platform.machine()}, Python {platform.python_version()}), "
        f"{minutes:.0f} min in all\n\n{table(figures)}\n"
    )
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
