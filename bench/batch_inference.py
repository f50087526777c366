"""Benchmark: batch inference over 1,000,000 rows against raw in-process `predict` on the same frame.

Side by side in one run, on a simulated batch of the demo set's 30 features and the default
LogisticRegression pipeline:
- baseline: `model.predict(frame)`, one call, nothing else;
- scoring path: what the predict step does in process (batch validation by the training schema,
  probabilities and labels, the rows with their predictions written to Parquet);
- whole pipeline: `python run.py --pipeline batch-inference --data batch.parquet` in a fresh ZenML
  store (start-up, ingest, validation, the sampled Evidently drift check, scoring, artifacts).
Prints a Markdown table of rows/s and the ratio to the baseline.
Usage: python bench/batch_inference.py [--rows N] [--skip-pipeline]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.figures import Figure, report  # noqa: E402
from core.scoring import score_in_process, with_predictions, write_table  # noqa: E402
from core.simulate import simulate_batch  # noqa: E402
from core.sources import load_source  # noqa: E402
from core.validation import ValidationConfig, validate_batch, validate_training_data  # noqa: E402
from pipelines.run_config import load_pipeline_config  # noqa: E402


def run_cli(*args: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"run.py {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    from core.modeling import fit_model

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-pipeline", action="store_true", help="only the in-process figures")
    args = parser.parse_args()

    config = load_pipeline_config("training", ROOT / "configs" / "training.yaml").parameters
    training, schema = validate_training_data(load_source(config.data.source), "target", config.validation)
    model, _ = fit_model(training, schema, config.train)
    batch = simulate_batch(drift=0.0, rows=args.rows, seed=0, labeled=False)

    start = time.perf_counter()
    model.predict(batch)
    raw = time.perf_counter() - start

    with tempfile.TemporaryDirectory(prefix="bench-batch-") as scratch:
        start = time.perf_counter()
        checked = validate_batch(batch, schema, ValidationConfig(), labeled=False)
        predictions = score_in_process(model, checked[schema.features], "1")
        write_table(with_predictions(checked, predictions), Path(scratch) / "predictions.parquet")
        scoring = time.perf_counter() - start

        rows = [("scoring path (validate, score, write Parquet)", scoring)]
        if not args.skip_pipeline:
            data = Path(scratch) / "batch.parquet"
            batch.to_parquet(data, index=False)
            env = {**os.environ, "ZENML_CONFIG_PATH": str(Path(scratch) / "zenml")}
            run_cli("--pipeline", "training", env=env)
            pipeline = run_cli("--pipeline", "batch-inference", "--data", str(data), env=env)
            rows.append(("whole `--pipeline batch-inference` run", pipeline))
    # A ratio against raw predict is the point; the target is 0.5x.

    report(
        [
            Figure(
                "batch inference",
                f"{name}, {args.rows:,} rows: rows/s",
                args.rows / seconds,
                "rows/s",
                args.rows / raw,
                "raw `model.predict`",
            )
            for name, seconds in rows
        ]
    )


if __name__ == "__main__":
    main()
