"""Benchmark: the training pipeline against the same work as a plain script, side by side.

Prints a Markdown table of wall times and ratios:
- `python run.py --pipeline training --no-cache` vs `python bench/plain_training.py` (same data,
  same estimator, same MLflow logging), on the demo set and on a larger synthetic CSV;
- a fully cached rerun of `python run.py --pipeline training` (total process time), and what part of
  it each layer of the start is, each timed as a process of its own: Python with ZenML imported;
  ZenML's store opened (what the run reads its stack from); MLflow and scikit-learn imported too
  (building the stack imports the tracker's MLflow, activating ZenML's integrations imports
  scikit-learn). The rest of the cached run is the cache look-ups, the two never-cached steps
  (promotion and the model card) and printing;
- `python run.py --help`, and a bad `--data` file refused (before ZenML starts).
Every run uses a fresh ZENML_CONFIG_PATH in a temporary folder; nothing of the user's is touched.
Usage: python bench/training.py [--rows N] [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.figures import Figure, report  # noqa: E402

PYTHON = sys.executable


def timed(args: list[str], env: dict[str, str], exit_code: int = 0) -> float:
    start = time.perf_counter()
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != exit_code:
        raise SystemExit(f"benchmark command failed: {' '.join(args)}\n{result.stderr[-2000:]}")
    return elapsed


def synthetic_csv(path: Path, rows: int, features: int = 20, seed: int = 0) -> None:
    """A binary problem with numeric and categorical features, large enough for fitting to count."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(rows, features))
    frame = pd.DataFrame(values, columns=[f"x{i}" for i in range(features)])
    frame["region"] = rng.choice(["north", "south", "east", "west"], rows)
    signal = values[:, 0] + 0.5 * values[:, 1] - values[:, 2] + (frame["region"] == "north") * 0.8
    frame["label"] = np.where(signal + rng.normal(0, 0.5, rows) > 0, "yes", "no")
    frame.to_csv(path, index=False)


def median_time(args: list[str], env: dict[str, str], repeats: int, exit_code: int = 0) -> float:
    return statistics.median(timed(args, env, exit_code) for _ in range(repeats))


# Each layer of a cached run's start as a process of its own, every one including the one before it.
START_LAYERS = (
    ("start: Python and `import zenml`", "import zenml"),
    (
        "start: + ZenML's store opened",
        "from zenml.client import Client; Client().active_stack_model",
    ),
    (
        "start: + MLflow and scikit-learn imported",
        "from zenml.client import Client; Client().active_stack_model; import mlflow, sklearn.pipeline",
    ),
)


def cached_run_breakdown(cached_s: float, env: dict[str, str], repeats: int) -> list[Figure]:
    """The start's layers, each as a share of the whole cached run measured in the same session."""
    return [
        Figure("training", name, median_time([PYTHON, "-c", code], env, repeats), "s", cached_s, "cached run")
        for name, code in START_LAYERS
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000, help="rows of the synthetic data set")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (median)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-training-") as scratch:
        folder = Path(scratch)
        env = {
            **os.environ,
            "ZENML_CONFIG_PATH": str(folder / "zenml"),
            "ZENML_ANALYTICS_OPT_IN": "false",
            "DO_NOT_TRACK": "1",
        }
        config = str(ROOT / "configs" / "training.yaml")
        data = folder / "synthetic.csv"
        synthetic_csv(data, args.rows)
        run = [PYTHON, "run.py", "--pipeline", "training"]
        plain = [PYTHON, "bench/plain_training.py", config, "--mlflow-uri", f"sqlite:///{folder}/plain.db"]
        synthetic = ["--data", str(data), "--target", "label"]

        timed(run, env)  # first run: creates the store and registers the stack
        rows = []
        for label, extra in (("demo set (569 rows)", []), (f"synthetic ({args.rows:,} rows)", synthetic)):
            model_name = ["--model-name", "bench_synthetic"] if extra else []
            pipeline_s = median_time([*run, "--no-cache", *extra, *model_name], env, args.repeats)
            plain_s = median_time([*plain, *extra], env, args.repeats)
            rows.append((f"pipeline, {label}", pipeline_s, plain_s))
        timed(run, env)
        cached_s = median_time(run, env, args.repeats)
        breakdown = cached_run_breakdown(cached_s, env, args.repeats)
        help_s = median_time([PYTHON, "run.py", "--help"], env, max(args.repeats, 5))
        bad = folder / "bad.csv"
        bad.write_text("mean radius,label\n1.0,0\n")  # no `target` column
        bad_s = median_time([*run, "--data", str(bad)], env, max(args.repeats, 5), exit_code=1)

    figures = [
        Figure("training", name, measured, "s", baseline, "plain script") for name, measured, baseline in rows
    ]
    figures.append(
        Figure("training", "fully cached `run.py --pipeline training`", cached_s, "s", 5.0, "target")
    )
    figures.extend(breakdown)
    figures.append(Figure("training", "`run.py --help`", help_s, "s", 1.0, "target"))
    figures.append(Figure("training", "bad `--data` file refused", bad_s, "s", 1.5, "target"))
    report(figures)


if __name__ == "__main__":
    main()
