"""Benchmark: the live loop's verdict on captured traffic, 100,000 requests with a fifth labeled.

The demo model is trained in process from `configs/training.yaml`. A shifted batch (`core/simulate.py`)
is answered by it and written straight to the capture stream of the Redis `run.py servers up redis`
starts, single-row requests 200 to an entry (the endpoint writes 50 to an entry), in its record
format (`core/capture.py` `capture_record`, `encoded_batch`); a fifth of the requests get their
label in the labels hash, as `run.py labels`
stores them (`CapturedReader.add_labels`). Then, in a fresh process per window, the verdict is timed
as continuous training reaches it: the captured reader reads the window and joins the labels that
arrived, the batch is validated by the model's contract, and the drift check (features and
predictions against the training data) and the quality check (the labeled rows) run with the
settings of `configs/continuous_training.yaml`. Windows of 10,000, 50,000 and 100,000 requests are
read by consumer groups of their own; each process's peak resident memory (imports, model and
Evidently included) shows whether memory stays flat as the window grows. Prints a Markdown table.
Usage: python bench/live_loop.py [--requests N] [--labeled-every N] [--drift X]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.figures import Figure, report  # noqa: E402
from bench.scratch_servers import scratch_redis  # noqa: E402

WINDOWS = (10_000, 50_000, 100_000)
STREAM_URL_ENV = "BENCH_CAPTURE_URL"  # the stream's URL, password included, kept off command lines
CAPTURES_PER_ENTRY = 200  # the endpoint writes 50 to an entry (capture.py WRITE_BATCH)
MODEL_VERSION = "1"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=WINDOWS[-1], help="captured requests written")
    parser.add_argument("--labeled-every", type=int, default=5, help="one request in N gets its label")
    parser.add_argument("--drift", type=float, default=1.0, help="shift of the captured batch (simulate)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), int(args.child[1]))
        return
    windows = [window for window in WINDOWS if window < args.requests] + [args.requests]
    with tempfile.TemporaryDirectory(prefix="bench-live-loop-") as scratch:
        folder = Path(scratch)
        with scratch_redis(folder) as redis_server:
            url = redis_server.url_with_password
            trained = folder / "trained.joblib"
            model, target = train(trained)
            written = write_captures(url, model, target, args.requests, args.labeled_every, args.drift)
            print(f"{args.requests:,} captures written at {written:,.0f}/s", file=sys.stderr)
            measured = {window: measure(trained, window, url) for window in windows}
    report(figures(measured, args.labeled_every))


def train(path: Path) -> tuple[Any, str]:
    """The demo model trained from the shipped config, saved to `path` with what the checks compare
    against (its training data, schema, held-out scores and the continuous-training settings); the
    model and its target column."""
    import joblib

    from core.metrics import compute_metrics
    from core.modeling import fit_model, prepare_features, stratified_split
    from core.sources import load_source
    from core.validation import validate_training_data
    from pipelines.run_config import load_pipeline_config

    parameters = load_pipeline_config("training", ROOT / "configs" / "training.yaml").parameters
    checks = load_pipeline_config("continuous-training", ROOT / "configs" / "continuous_training.yaml")
    target = parameters.data.target
    validated, schema = validate_training_data(
        load_source(parameters.data.source), target, parameters.validation
    )
    train_set, test_set = stratified_split(validated, target, parameters.split)
    model, _ = fit_model(train_set, schema, parameters.train)
    held_out = compute_metrics(model, prepare_features(test_set, schema), test_set[target])
    saved = {
        "model": model,
        "schema": schema,
        "reference": train_set,
        "held_out": held_out,
        "drift": checks.parameters.drift,
        "quality": checks.parameters.quality,
    }
    joblib.dump(saved, path)
    return model, target


def write_captures(
    url: str, model: Any, target: str, requests: int, labeled_every: int, drift: float
) -> float:
    """`requests` single-row captures of a shifted batch, with the model's answers, appended to the
    capture stream; every `labeled_every`-th request's label stored by request id. Captures/s."""
    import orjson
    import redis

    from core.capture import capture_record, encoded_batch, label_key
    from core.simulate import simulate_batch
    from core.sources import CapturedSource
    from stacks.streams.captured import CapturedReader

    batch = simulate_batch(drift=drift, rows=requests, seed=11)
    features = batch.drop(columns=target)
    predictions = model.predict(features).tolist()
    source = CapturedSource(kind="captured", url=url)
    columns = {name: features[name].tolist() for name in features.columns}
    start = time.perf_counter()
    client = redis.Redis.from_url(url)
    pipe = client.pipeline(transaction=False)
    for first in range(0, requests, CAPTURES_PER_ENTRY):  # as the endpoint's writer groups them
        captures = [
            capture_record(
                f"request-{row}", MODEL_VERSION, {n: [v[row]] for n, v in columns.items()}, [predictions[row]]
            )
            for row in range(first, min(first + CAPTURES_PER_ENTRY, requests))
        ]
        pipe.xadd(source.stream, {source.field: encoded_batch([orjson.dumps(c) for c in captures])})
    pipe.execute()
    client.close()
    elapsed = time.perf_counter() - start
    labels = batch[target].tolist()
    reader = CapturedReader(source, None)
    reader.add_labels({label_key(f"request-{row}"): labels[row] for row in range(0, requests, labeled_every)})
    reader.close()
    return requests / elapsed


def measure(trained: Path, window: int, url: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", str(trained), str(window)]
    output = subprocess.run(
        command, env={**os.environ, STREAM_URL_ENV: url}, capture_output=True, text=True, check=True
    ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def child(trained: Path, window: int) -> None:
    """In the child: the verdict on the first `window` captured requests, timed by phase, and the
    process's peak memory, as JSON."""
    import joblib

    from core.capture import label_keys, with_labels
    from core.drift import check_drift
    from core.modeling import prepare_features
    from core.quality import assess_quality
    from core.sources import CapturedSource
    from core.validation import labeled_rows, validate_batch
    from stacks.streams.captured import CapturedReader

    saved = joblib.load(trained)
    model, schema = saved["model"], saved["schema"]
    entries = -(-window // CAPTURES_PER_ENTRY)  # a source's max_records counts stream entries
    source = CapturedSource(
        kind="captured", url=os.environ[STREAM_URL_ENV], group=f"bench-{window}", max_records=entries
    )
    start = time.perf_counter()
    reader = CapturedReader(source, None)
    rows = reader.read().frame
    rows = with_labels(rows, reader.labels(label_keys(rows)), schema.target)
    reader.close()
    read = time.perf_counter()
    read_peak_mb = own_peak_mb()
    batch = validate_batch(rows, schema, "where_arrived")
    labeled = labeled_rows(batch, schema)
    drift, _ = check_drift(saved["reference"], batch, schema, saved["drift"], model=model)
    checked = time.perf_counter()
    features, labels = prepare_features(labeled, schema), labeled[schema.target]
    quality = assess_quality(model, features, labels, saved["held_out"], saved["quality"])
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "rows": len(batch),
                "labeled": len(labeled),
                "read_seconds": read - start,
                "drift_seconds": checked - read,
                "quality_seconds": done - checked,
                "seconds": done - start,
                "read_peak_mb": read_peak_mb,
                "peak_mb": own_peak_mb(),
                "drift_share": drift.drift_share,
                "drift_share_threshold": drift.drift_share_threshold,
                "accuracy": quality.scores.get("accuracy"),
                "held_out_accuracy": quality.held_out.get("accuracy"),
            }
        )
    )


def own_peak_mb() -> float:
    """This process's peak resident memory: the high-water mark of its own memory map. Not
    `ru_maxrss`: Linux carries it across exec, so a child started by this bench after it wrote the
    captures was charged the bench's own peak: 654 MB for every window, where the 10,000-request
    window's own was 351 MB."""
    with open("/proc/self/status") as status:
        kb = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    return int(kb) / 1024


def figures(measured: dict[int, dict[str, Any]], labeled_every: int) -> list[Figure]:
    largest, smallest = max(measured), min(measured)
    run = measured[largest]
    label = f"{largest:,} captured requests, 1 in {labeled_every} labeled"
    result = [
        Figure("live loop", f"{label}: verdict (read + drift + quality)", run["seconds"], "s", 60.0, "goal"),
        Figure("live loop", f"{label}: read and join labels", run["read_seconds"], "s"),
        Figure("live loop", f"{label}: validation and drift check", run["drift_seconds"], "s"),
        Figure("live loop", f"{label}: quality check ({run['labeled']:,} rows)", run["quality_seconds"], "s"),
        Figure(
            "live loop",
            f"{label}: drift share",
            run["drift_share"],
            "",
            run["drift_share_threshold"],
            "threshold",
        ),
        Figure(
            "live loop",
            f"{label}: accuracy on the labeled rows",
            run["accuracy"],
            "",
            run["held_out_accuracy"],
            "held-out",
        ),
    ]
    for window, values in sorted(measured.items()):
        for key, when in (("read_peak_mb", "after read and join"), ("peak_mb", "after the verdict")):
            result.append(
                Figure(
                    "live loop",
                    f"{window:,} captured requests: peak memory {when}",
                    values[key],
                    "MB",
                    measured[smallest][key],
                    f"{smallest:,} requests",
                )
            )
    return result


if __name__ == "__main__":
    main()
