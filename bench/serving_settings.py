"""Benchmark: MLServer's settings, one change at a time, against the settings the deployer ships.

The demo model is trained in process from `configs/training.yaml`, compiled to ONNX and written to
a model repository exactly as the `mlserver` deployer writes it; MLServer serves it from the
serving environment on 127.0.0.1, once per variant: the shipped settings, then each with one
setting changed (HTTP parser, the launcher's guards, gzip middleware, Prometheus metrics, access log, parallel
inference workers). wrk sends single-row requests at 8 connections and 1,000-row requests at 1; each
variant's figures are printed against the shipped settings' figures from the same run.
Usage: python bench/serving_settings.py [--seconds N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.figures import Figure, report  # noqa: E402
from bench.http_load import v2_body, wait_ready, wrk  # noqa: E402

MODEL = "breast_cancer_classifier"
HOST = "127.0.0.1"
SHIPPED = "shipped"
WITHOUT_HTTPTOOLS = "h11 parser (no httptools)"
WITHOUT_LAUNCHER = "plain `mlserver start` (no body limit, no control guard)"
# One setting changed against the shipped ones (settings.json keys of MLServer 1.7).
VARIANTS: dict[str, dict[str, Any]] = {
    WITHOUT_HTTPTOOLS: {},
    WITHOUT_LAUNCHER: {},
    "gzip middleware off": {"gzip_enabled": False},
    "metrics endpoint off": {"metrics_endpoint": None},
    "access log on (debug)": {"debug": True},
    "1 parallel worker": {"parallel_workers": 1},
    "2 parallel workers": {"parallel_workers": 2},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8, help="duration of each wrk run")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        subprocess.run(["bash", str(ROOT / "scripts" / "install-bench-tools.sh")], check=True)

    from stacks.mlserver import environment

    rows = demo_rows()
    one, thousand = rows.head(1), pd.concat([rows] * 2, ignore_index=True).head(1000)
    with tempfile.TemporaryDirectory(prefix="bench-serving-settings-") as scratch:
        folder = Path(scratch)
        repository, packages = write_repository(folder / "repository")
        shipped = environment.serving_requirements(packages)
        shipped_python = environment.ensure_serving_env(environment.default_env_root(), 900, shipped)
        plain_python = environment.ensure_serving_env(
            folder / "envs", 900, [r for r in shipped if not r.startswith("httptools")]
        )
        measured = {SHIPPED: serve_and_load(shipped_python, repository, {}, one, thousand, args.seconds)}
        for name, overrides in VARIANTS.items():
            python = plain_python if name == WITHOUT_HTTPTOOLS else shipped_python
            measured[name] = serve_and_load(
                python, repository, overrides, one, thousand, args.seconds, launcher=name != WITHOUT_LAUNCHER
            )
    report(figures(measured))


def demo_rows() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame.drop(columns="target")


def write_repository(repository: Path) -> tuple[Path, list[str]]:
    """The demo model trained from the shipped config, compiled and proven, as the deployer writes
    it; and the packages it is made of."""
    from core.compilation import choose_runtime
    from core.dependencies import model_requirements
    from core.modeling import fit_model, stratified_split
    from core.sources import load_source
    from core.validation import validate_training_data
    from pipelines.run_config import load_pipeline_config
    from stacks.mlserver import repository as model_repository

    parameters = load_pipeline_config("training", ROOT / "configs" / "training.yaml").parameters
    target = parameters.data.target
    validated, schema = validate_training_data(
        load_source(parameters.data.source), target, parameters.validation
    )
    train_set, test_set = stratified_split(validated, target, parameters.split)
    model, _ = fit_model(train_set, schema, parameters.train)
    held_out = test_set[schema.features]
    choice, onnx = choose_runtime(model, schema, held_out)
    if onnx is None:
        raise SystemExit(f"the demo model did not compile: {choice.reason}")
    model_repository.write_model_version(
        repository,
        MODEL,
        "1",
        model,
        schema,
        held_out,
        100_000,
        model_repository.Batching(1, 2.0),
        choice,
        onnx,
    )
    model_repository.activate_version(repository, MODEL, "1")
    return repository, model_requirements(model)


def serve_and_load(
    python: Path,
    repository: Path,
    overrides: dict[str, Any],
    one: pd.DataFrame,
    thousand: pd.DataFrame,
    seconds: int,
    launcher: bool = True,
) -> dict[str, float]:
    """Start MLServer on the repository with the shipped settings plus `overrides` (through the
    deployer's launcher, or MLServer's own command); load it with wrk."""
    from stacks.mlserver import environment
    from stacks.mlserver import repository as model_repository
    from stacks.mlserver.ports import free_ports

    http, grpc, metrics = free_ports(HOST, 3)
    model_repository.write_server_settings(
        repository, HOST, model_repository.ServerPorts(http, grpc, metrics), parallel_workers=0
    )
    settings_file = repository / "settings.json"
    settings_file.write_text(json.dumps({**json.loads(settings_file.read_text()), **overrides}))
    command = (
        environment.mlserver_command(python, repository)
        if launcher
        else [str(python.with_name("mlserver")), "start", str(repository)]
    )
    server = subprocess.Popen(
        command,
        cwd=repository,
        env=environment.mlserver_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://{HOST}:{http}/v2/models/{MODEL}"
    try:
        wait_ready(f"{base}/ready")
        single = wrk(f"{base}/infer", v2_body(one), 8, seconds, repository.parent)
        batch = wrk(f"{base}/infer", v2_body(thousand), 1, seconds, repository.parent)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    return {
        "rps": single["rps"],
        "p50": single["p50"],
        "p99": single["p99"],
        "errors": single["errors"] + batch["errors"],
        "rows_per_second": batch["rps"] * len(thousand),
    }


def figures(measured: dict[str, dict[str, float]]) -> list[Figure]:
    shipped = measured[SHIPPED]
    result = [
        Figure(
            "serving settings", "1 row, 8 conn: requests/s, shipped", shipped["rps"], "req/s", 1000, "goal"
        ),
        Figure("serving settings", "1 row, 8 conn: p99, shipped", shipped["p99"], "ms", 15, "goal"),
    ]
    for name, values in measured.items():
        if name == SHIPPED:
            continue
        result += [
            Figure(
                "serving settings",
                f"1 row, 8 conn: requests/s, {name}",
                values["rps"],
                "req/s",
                shipped["rps"],
                SHIPPED,
            ),
            Figure(
                "serving settings",
                f"1 row, 8 conn: p99, {name}",
                values["p99"],
                "ms",
                shipped["p99"],
                SHIPPED,
            ),
            Figure(
                "serving settings",
                f"1,000-row requests: rows/s, {name}",
                values["rows_per_second"],
                "rows/s",
                shipped["rows_per_second"],
                SHIPPED,
            ),
        ]
    result.append(
        Figure(
            "serving settings",
            "failed requests, all variants",
            sum(v["errors"] for v in measured.values()),
            "",
        )
    )
    return result


if __name__ == "__main__":
    main()
