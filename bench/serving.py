"""Benchmark: the deployed MLServer endpoint, compiled (ONNX) and not, against `mlflow models serve`.

In a fresh ZENML_CONFIG_PATH it trains the demo model and deploys it twice with `python run.py
--pipeline deployment` (MLServer, V2 protocol): as the compiled ONNX model (the default) and, under
a second name, as the scikit-learn pipeline (`mlserver.runtime: sklearn`); it also serves the same
MLflow-logged model with `mlflow models serve`, all on 127.0.0.1. Then, with wrk
(scripts/install-bench-tools.sh), side by side: one row's model latency in process (ONNX vs the
pipeline), single-row requests at 1 and 8 connections (throughput, p50, p99) and 1,000-row
requests (rows/s, also against in-process `predict_proba` on the same rows), next to the goals.
Usage: python bench/serving.py [--seconds N]
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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.figures import Figure, report  # noqa: E402
from bench.http_load import free_port, v2_body, wait_ready, wrk  # noqa: E402

MODEL = "breast_cancer_classifier"  # served compiled
PIPELINE_MODEL = "breast_cancer_pipeline"  # the same model, served by the scikit-learn pipeline


def run(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result.stdout


def mlflow_body(frame: pd.DataFrame) -> str:
    return json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split", index=False))})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        subprocess.run(["bash", str(ROOT / "scripts" / "install-bench-tools.sh")], check=True)

    from sklearn.datasets import load_breast_cancer

    rows = load_breast_cancer(as_frame=True).frame.drop(columns="target")
    one, thousand = rows.head(1), pd.concat([rows] * 2, ignore_index=True).head(1000)
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as scratch:
        folder = Path(scratch)
        env = {**os.environ, "ZENML_CONFIG_PATH": str(folder / "zenml"), "ZENML_ANALYTICS_OPT_IN": "false"}
        try:  # whatever was deployed is stopped, even when a later step fails
            endpoints = {
                "compiled": deploy(MODEL, "auto", folder, env),
                "pipeline": deploy(PIPELINE_MODEL, "sklearn", folder, env),
            }
            tracking_uri, model_uri, model_file = model_locations(env, folder)
            with mlflow_serve(env, tracking_uri, model_uri) as mlflow_url:
                figures = measure(endpoints, mlflow_url, one, thousand, args.seconds, folder, model_file)
        finally:
            stop_deployments(env)
    report(figures)


@contextmanager
def mlflow_serve(env: dict[str, str], tracking_uri: str, model_uri: str) -> Iterator[str]:
    """The same logged model under `mlflow models serve` on 127.0.0.1, while the block runs; its URL."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("mlflow")),
            "models",
            "serve",
            "-m",
            model_uri,
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        # `mlflow models serve` execs `uvicorn` by name: the venv's bin must be on PATH.
        env={
            **env,
            "MLFLOW_TRACKING_URI": tracking_uri,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(f"{url}/ping")
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def deploy(model: str, runtime: str, folder: Path, env: dict[str, str]) -> str:
    """Train (cached after the first) and deploy `model` with `runtime`; its V2 infer URL."""
    import yaml

    run([sys.executable, "run.py", "--pipeline", "training", "--model-name", model], env)
    settings = yaml.safe_load((ROOT / "configs" / "deployment.yaml").read_text())
    port = free_port()
    settings["parameters"]["mlserver"] = {"port": port, "runtime": runtime}
    config = folder / f"deployment-{model}.yaml"
    config.write_text(yaml.safe_dump(settings))
    run(
        [
            sys.executable,
            "run.py",
            "--pipeline",
            "deployment",
            "--config",
            str(config),
            "--model-name",
            model,
        ],
        env,
    )
    base = f"http://127.0.0.1:{port}/v2/models/{model}"
    wait_ready(f"{base}/ready")
    return f"{base}/infer"


def model_locations(env: dict[str, str], folder: Path) -> tuple[str, str, Path]:
    """The production version's MLflow tracking URI and logged-model URI, and its pipeline as a
    joblib file for the in-process baseline."""
    model_file = folder / "model.joblib"
    script = f"""
import joblib, mlflow
from zenml.client import Client
version = Client().get_model_version("{MODEL}", "production")
run_id = version.run_metadata["mlflow_run_id"]
uri = Client().active_stack.experiment_tracker.get_tracking_uri()
mlflow.set_tracking_uri(uri)
experiment = mlflow.get_run(run_id).info.experiment_id
logged = mlflow.search_logged_models(
    experiment_ids=[experiment], filter_string=f"source_run_id = '{{run_id}}'", output_format="list"
)
joblib.dump(version.get_model_artifact("model").load(), "{model_file}")
print(uri)
print(logged[0].model_uri)
"""
    script_file = folder / "locate.py"
    script_file.write_text(script)
    tracking_uri, model_uri = run([sys.executable, str(script_file)], env).strip().splitlines()[-2:]
    return tracking_uri, model_uri, model_file


def stop_deployments(env: dict[str, str]) -> None:
    script = (
        "from zenml.client import Client\n"
        "d = Client().active_stack.model_deployer\n"
        "for s in d.find_model_server():\n"
        "    d.delete_model_server(s.uuid, force=True)\n"
    )
    script_file = Path(env["ZENML_CONFIG_PATH"]).parent / "stop.py"
    script_file.write_text(script)
    run([sys.executable, str(script_file)], env)


def measure(
    endpoints: dict[str, str],
    mlflow_url: str,
    one: pd.DataFrame,
    thousand: pd.DataFrame,
    seconds: int,
    folder: Path,
    model_file: Path,
) -> list[Figure]:
    invocations = f"{mlflow_url}/invocations"
    mlflow = "mlflow models serve"
    compiled_ms, pipeline_ms = one_row_latencies_ms(model_file, one)
    figures = [
        Figure(
            "serving", "1 row in process: model latency, ONNX", compiled_ms, "ms", pipeline_ms, "pipeline"
        ),
    ]
    for connections in (1, 8):
        case = f"1 row, {connections} conn"
        compiled = wrk(endpoints["compiled"], v2_body(one), connections, seconds, folder)
        pipeline = wrk(endpoints["pipeline"], v2_body(one), connections, seconds, folder)
        theirs = wrk(invocations, mlflow_body(one), connections, seconds, folder)
        figures += [
            Figure(
                "serving",
                f"{case}: requests/s, compiled",
                compiled["rps"],
                "req/s",
                pipeline["rps"],
                "pipeline",
            ),
            Figure(
                "serving", f"{case}: requests/s, compiled", compiled["rps"], "req/s", theirs["rps"], mlflow
            ),
            Figure(
                "serving", f"{case}: requests/s, pipeline", pipeline["rps"], "req/s", theirs["rps"], mlflow
            ),
            Figure("serving", f"{case}: p50, compiled", compiled["p50"], "ms", pipeline["p50"], "pipeline"),
            Figure("serving", f"{case}: p99, compiled", compiled["p99"], "ms", pipeline["p99"], "pipeline"),
            Figure(
                "serving",
                f"{case}: errors, compiled / pipeline",
                compiled["errors"],
                "",
                pipeline["errors"],
                "pipeline",
            ),
        ]
        if connections == 8:
            figures += [
                Figure("serving", f"{case}: requests/s, compiled", compiled["rps"], "req/s", 1000, "goal"),
                Figure("serving", f"{case}: p99, compiled", compiled["p99"], "ms", 15, "goal"),
            ]
    compiled = wrk(endpoints["compiled"], v2_body(thousand), 1, seconds, folder)
    pipeline = wrk(endpoints["pipeline"], v2_body(thousand), 1, seconds, folder)
    theirs = wrk(invocations, mlflow_body(thousand), 1, seconds, folder)
    in_process = in_process_rows_per_second(model_file, thousand)
    rows = "1,000-row requests: rows/s"
    return [
        *figures,
        Figure(
            "serving",
            f"{rows}, compiled",
            compiled["rps"] * 1000,
            "rows/s",
            pipeline["rps"] * 1000,
            "pipeline",
        ),
        Figure(
            "serving", f"{rows}, compiled", compiled["rps"] * 1000, "rows/s", theirs["rps"] * 1000, mlflow
        ),
        Figure("serving", f"{rows}, compiled", compiled["rps"] * 1000, "rows/s", in_process, "in-process"),
    ]


def one_row_latencies_ms(model_file: Path, row: pd.DataFrame, repeats: int = 2000) -> tuple[float, float]:
    """One row through the compiled model and through the pipeline, in this process (ms a call)."""
    import joblib

    from core.compilation import OnnxModel, compile_to_onnx
    from core.validation import FeatureSchema

    model = joblib.load(model_file)
    schema = FeatureSchema(target="target", columns=dict.fromkeys(row.columns, "numeric"), classes=[0, 1])
    compiled = OnnxModel(compile_to_onnx(model, schema), schema)
    feed = compiled.feed(row)  # decoded once, as the server decodes a request before scoring
    timings = []
    for score in (lambda: compiled.run(feed), lambda: model.predict_proba(row)):
        score()
        start = time.perf_counter()
        for _ in range(repeats):
            score()
        timings.append((time.perf_counter() - start) / repeats * 1000)
    return timings[0], timings[1]


def in_process_rows_per_second(model_file: Path, frame: pd.DataFrame, repeats: int = 20) -> float:
    """The same model object, loaded in this process, scoring the same rows."""
    import joblib

    model = joblib.load(model_file)
    start = time.perf_counter()
    for _ in range(repeats):
        model.predict_proba(frame)
    return repeats * len(frame) / (time.perf_counter() - start)


if __name__ == "__main__":
    main()
