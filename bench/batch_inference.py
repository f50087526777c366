"""Benchmark: the whole `--pipeline batch-inference` run on Parquet files of 1,000,000 and
10,000,000 rows x 30 columns, against raw in-process `predict` on the same file loaded in memory.

Side by side in one run, on simulated batches of the demo set's 30 features (1,000,000-row row
groups, as pandas writes them) and the default LogisticRegression pipeline:
- baseline: `model.predict(frame)` on the file read whole into memory, one call, nothing else;
- whole pipeline: `python run.py --pipeline batch-inference --data FILE` in a fresh ZenML store
  (start-up, chunked reading, checks, scoring, the partitioned output, the sampled drift check),
  its rows/s and its peak memory (the run's maximum resident set, from `wait4`);
- the drift check's wall time in that run (its step's duration);
- the same run with `scoring.engine: spark` (local mode, all cores), its rows/s.
Prints a Markdown table; goals: >= 0.25x raw predict, <= 1.5 GB whatever the rows.
Usage: python bench/batch_inference.py [--rows N ...] [--skip-spark]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.figures import Figure, report  # noqa: E402

ROW_GROUP = 1_000_000
MEMORY_GOAL_MB = 1536


def write_batch(path: Path, rows: int) -> None:
    """`rows` simulated rows, written a row group at a time (the file may not fit in memory twice)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from core.simulate import simulate_batch

    writer = None
    for index, start in enumerate(range(0, rows, ROW_GROUP)):
        part = simulate_batch(drift=0.0, rows=min(ROW_GROUP, rows - start), seed=index, labeled=False)
        table = pa.Table.from_pandas(part, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def raw_predict_seconds(path: Path, env: dict[str, str]) -> float:
    """`model.predict` on the whole file in memory, in a child process (the frame is large)."""
    code = (
        "import sys, time, pandas as pd\n"
        "from zenml.client import Client\n"
        "from zenml.enums import ModelStages\n"
        "from zenml.utils import source_utils\n"
        "source_utils.set_custom_source_root('.')\n"  # `python -c` has no main module file
        "model = Client().get_model_version('breast_cancer_classifier', ModelStages.PRODUCTION)"
        ".get_model_artifact('model').load()\n"
        "frame = pd.read_parquet(sys.argv[1])\n"
        "start = time.perf_counter(); model.predict(frame); print(time.perf_counter() - start)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True, cwd=ROOT
    )
    if done.returncode != 0:
        raise SystemExit(f"raw predict failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def run_cli(*args: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of `python run.py ARGS`."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"run.py {' '.join(args)} failed:\n{errors[-2000:]}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def drift_step_seconds(env: dict[str, str]) -> float:
    code = (
        "from zenml.client import Client\n"
        "runs = Client().list_pipeline_runs(pipeline='batch_inference', sort_by='desc:created', size=1)\n"
        "run = runs.items[0]\n"
        "step = run.steps['check_data_drift']\n"
        "print((step.end_time - step.start_time).total_seconds())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def spark_config(folder: Path) -> Path:
    settings: dict[str, Any] = yaml.safe_load((ROOT / "configs" / "batch_inference.yaml").read_text())
    settings["parameters"]["scoring"] = {"engine": "spark", "spark": {"conf": {"spark.driver.memory": "2g"}}}
    settings["parameters"]["output"] = {"folder": str(folder / "predictions")}
    path = folder / "spark.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--skip-spark", action="store_true")
    args = parser.parse_args()

    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as scratch:
        folder = Path(scratch)
        env = {**os.environ, "ZENML_CONFIG_PATH": str(folder / "zenml"), "ZENML_ANALYTICS_OPT_IN": "false"}
        (folder / "predictions").mkdir()
        local = folder / "local.yaml"
        settings = yaml.safe_load((ROOT / "configs" / "batch_inference.yaml").read_text())
        settings["parameters"]["output"] = {"folder": str(folder / "predictions")}
        local.write_text(yaml.safe_dump(settings))
        run_cli("--pipeline", "training", env=env)
        for rows in args.rows:
            data = folder / f"batch-{rows}.parquet"
            write_batch(data, rows)
            raw = raw_predict_seconds(data, env)
            seconds, peak = run_cli(
                "--pipeline", "batch-inference", "--config", str(local), "--data", str(data), env=env
            )
            drift = drift_step_seconds(env)
            label = f"{rows:,} rows x 30 (Parquet)"
            figures += [
                Figure(
                    "batch inference",
                    f"whole run, {label}: rows/s",
                    rows / seconds,
                    "rows/s",
                    rows / raw,
                    "raw `model.predict`",
                ),
                Figure(
                    "batch inference", f"whole run, {label}: peak memory", peak, "MB", MEMORY_GOAL_MB, "goal"
                ),
                Figure("batch inference", f"drift check in that run, {label}: wall", drift, "s"),
            ]
            if not args.skip_spark:
                seconds, _ = run_cli(
                    "--pipeline",
                    "batch-inference",
                    "--config",
                    str(spark_config(folder)),
                    "--data",
                    str(data),
                    env=env,
                )
                figures.append(
                    Figure(
                        "batch inference",
                        f"whole run on Spark local[*], {label}: rows/s",
                        rows / seconds,
                        "rows/s",
                        rows / raw,
                        "raw `model.predict`",
                    )
                )
            data.unlink()
    report(figures)


if __name__ == "__main__":
    main()
