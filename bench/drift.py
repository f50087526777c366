"""Benchmark: the drift check on 1,000,000 rows x 30 columns, sampled (the default) and in full.

Each measurement runs `core.drift.check_drift` in a fresh child process, so wall time and peak
memory (the child's maximum resident set) belong to that check alone. The data is a training-like
reference and a batch with a third of the columns shifted, the same in both runs; the full run is the
baseline that shows what sampling costs in accuracy (drift share and drifted columns) and saves in
time and memory. Prints a Markdown table.
Usage: python bench/drift.py [--rows N] [--sample-rows N]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.figures import Figure, report  # noqa: E402

N_NUMERIC, N_CATEGORICAL = 27, 3


def make_frames(rows: int, seed: int) -> tuple[object, object, object]:
    """Reference and batch of `rows` rows; 9 of the 27 numeric columns and 1 categorical shifted."""
    import numpy as np
    import pandas as pd

    from core.validation import FeatureSchema

    rng = np.random.default_rng(seed)

    def frame(shift: float) -> pd.DataFrame:
        data = {
            f"x{i}": rng.normal(shift if i < 9 else 0.0, 1.0, rows).astype("float64")
            for i in range(N_NUMERIC)
        }
        for i in range(N_CATEGORICAL):
            weights = [0.5, 0.3, 0.2] if (shift == 0 or i) else [0.2, 0.3, 0.5]
            data[f"c{i}"] = rng.choice(["a", "b", "c"], rows, p=weights)
        return pd.DataFrame(data)

    columns = {f"x{i}": "numeric" for i in range(N_NUMERIC)} | {
        f"c{i}": "categorical" for i in range(N_CATEGORICAL)
    }
    schema = FeatureSchema(target="label", columns=columns, classes=[0, 1])  # type: ignore[arg-type]
    return frame(0.0), frame(0.3), schema


def child(rows: int, sample_rows: int | None) -> None:
    """In the child: build the data, time one drift check, print its figures as JSON."""
    from core.drift import DriftConfig, check_drift

    reference, batch, schema = make_frames(rows, seed=0)
    start = time.perf_counter()
    result, html = check_drift(reference, batch, schema, DriftConfig(sample_rows=sample_rows))  # type: ignore[arg-type]
    elapsed = time.perf_counter() - start
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "drift_share": result.drift_share,
                "drifted": len(result.drifted_columns),
                "dataset_drift": result.dataset_drift,
                "compared_rows": result.compared_rows,
                "html_mb": len(html) / 1e6,
            }
        )
    )


def measure(rows: int, sample_rows: int | None) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    output = subprocess.run(
        [sys.executable, __file__, "--child", "--rows", str(rows), "--sample-rows", str(sample_rows or 0)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    figures: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    # ru_maxrss of children is the largest child so far; runs go small first, so it is this one's.
    figures["peak_gb"] = max(peak_kb, before) / 1024 / 1024
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample-rows", type=int, default=100_000, help="0: no sampling")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.rows, args.sample_rows or None)
        return
    sampled = measure(args.rows, args.sample_rows)
    full = measure(args.rows, None)
    size = f"{args.rows:,} x {N_NUMERIC + N_CATEGORICAL}"
    sampled_name = f"sampled to {args.sample_rows:,} rows a side"
    report(
        [
            Figure("drift check", f"{size}, {sampled_name}: wall", sampled["seconds"], "s", 60.0, "target"),
            Figure(
                "drift check", f"{size}, {sampled_name}: peak memory", sampled["peak_gb"], "GB", 4.0, "target"
            ),
            Figure(
                "drift check",
                f"{size}, sampled vs full: wall",
                sampled["seconds"],
                "s",
                full["seconds"],
                "full",
            ),
            Figure(
                "drift check",
                f"{size}, sampled vs full: peak",
                sampled["peak_gb"],
                "GB",
                full["peak_gb"],
                "full",
            ),
            Figure(
                "drift check",
                f"{size}, sampled vs full: drift share",
                sampled["drift_share"],
                "",
                full["drift_share"],
                "full",
            ),
            Figure(
                "drift check",
                f"{size}, sampled vs full: drifted columns",
                sampled["drifted"],
                "",
                full["drifted"],
                "full",
            ),
        ]
    )


if __name__ == "__main__":
    main()
