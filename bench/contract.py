"""Benchmark: what a data contract's declared rules cost, side by side with the same contract
without them, on the two paths that check every row.

- batch: simulated demo rows (30 numeric features) checked chunk by chunk as batch inference does
  (`features_validator(per_chunk=True)` and `BatchContract`, 100,000-row chunks), first by the
  trained contract alone (kinds, null shares), then with four rules declared (two ranges, a
  never-missing column, a relation); rows/s of each;
- endpoint: MLServer serving the demo model compiled, as the deployer writes it, single-row
  requests at 8 connections and 1,000-row requests at 1 (wrk), with the version's contract as
  trained and with the same four rules in it.
Usage: python bench/contract.py [--rows N] [--seconds N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.figures import Figure, report  # noqa: E402
from bench.serving_settings import MODEL, demo_rows, serve_and_load, write_repository  # noqa: E402

CHUNK_ROWS = 100_000
RULES = {
    "rules": {
        "mean radius": {"min": 0, "max": 50},
        "mean texture": {"min": 0, "max": 60},
        "mean area": {"max_null_fraction": 0},
    },
    "relations": [{"left": "worst radius", "op": ">=", "right": "radius error"}],
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the batch check")
    parser.add_argument("--seconds", type=int, default=8, help="duration of each wrk run")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        subprocess.run(["bash", str(ROOT / "scripts" / "install-bench-tools.sh")], check=True)
    report(batch_figures(args.rows) + endpoint_figures(args.seconds))


def batch_figures(rows: int) -> list[Figure]:
    from core.simulate import simulate_batch
    from core.validation import (
        BatchContract,
        FeatureSchema,
        ValidationConfig,
        features_validator,
        validate_training_data,
    )

    training = simulate_batch(drift=0.0, rows=5_000, seed=1)
    _, schema = validate_training_data(training, "target", ValidationConfig())
    declared = schema.model_copy(update={"contract": ValidationConfig.model_validate(RULES)})
    batch = simulate_batch(drift=0.0, rows=CHUNK_ROWS, seed=2, labeled=False)
    chunks = rows // CHUNK_ROWS

    def rows_per_second(checked_by: FeatureSchema) -> float:
        validate = features_validator(checked_by, per_chunk=True)
        contract = BatchContract(checked_by)
        started = time.perf_counter()
        for _ in range(chunks):
            contract.add(validate(batch))
        contract.check()
        return chunks * CHUNK_ROWS / (time.perf_counter() - started)

    plain, with_rules = rows_per_second(schema), rows_per_second(declared)
    return [
        Figure("data contract", f"batch check, {rows:,} rows x 30: rows/s, as trained", plain, "rows/s"),
        Figure(
            "data contract",
            f"batch check, {rows:,} rows x 30: rows/s, 4 rules declared",
            with_rules,
            "rows/s",
            plain,
            "as trained",
        ),
    ]


def endpoint_figures(seconds: int) -> list[Figure]:
    import pandas as pd

    from stacks.mlserver import environment

    rows = demo_rows()
    one, thousand = rows.head(1), pd.concat([rows] * 2, ignore_index=True).head(1000)
    with tempfile.TemporaryDirectory(prefix="bench-contract-") as scratch:
        repository, packages = write_repository(Path(scratch) / "repository")
        python = environment.ensure_serving_env(
            environment.default_env_root(), 900, environment.serving_requirements(packages)
        )
        plain = serve_and_load(python, repository, {}, one, thousand, seconds)
        schema_file = repository / MODEL / "v1" / "schema.json"
        written = json.loads(schema_file.read_text())
        written["contract"] = {**written["contract"], **RULES}
        schema_file.write_text(json.dumps(written))
        declared = serve_and_load(python, repository, {}, one, thousand, seconds)
    return [
        Figure("data contract", "endpoint, 1 row, 8 conn: requests/s, as trained", plain["rps"], "req/s"),
        Figure(
            "data contract",
            "endpoint, 1 row, 8 conn: requests/s, 4 rules declared",
            declared["rps"],
            "req/s",
            plain["rps"],
            "as trained",
        ),
        Figure(
            "data contract",
            "endpoint, 1 row, 8 conn: p99, 4 rules declared",
            declared["p99"],
            "ms",
            plain["p99"],
            "as trained",
        ),
        Figure(
            "data contract",
            "endpoint, 1,000-row requests: rows/s, 4 rules declared",
            declared["rows_per_second"],
            "rows/s",
            plain["rows_per_second"],
            "as trained",
        ),
        Figure("data contract", "failed requests, both", plain["errors"] + declared["errors"], ""),
    ]


if __name__ == "__main__":
    main()
