"""The CLI's contract for mistakes made before any work starts: one line, non-zero, no ZenML import.

Most cases call the CLI's entry point in this process (the interpreter's start is all they skip);
the ones that check what a command imports run it in a process of its own.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

RUN = str(PROJECT_ROOT / "run.py")

pytestmark = pytest.mark.cli
ALL_PIPELINES = "training, deployment, batch-inference, continuous-training, all"
DATA = "data: {source: {kind: demo}, target: t}"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """`python run.py ARGS` through the same entry point, in this process."""
    from cli.main import main

    out, err, argv = io.StringIO(), io.StringIO(), sys.argv
    code: int | str | None = 0
    sys.argv = [RUN, *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exit:
        code = exit.code
    finally:
        sys.argv = argv
    return subprocess.CompletedProcess([RUN, *args], int(code or 0), out.getvalue(), err.getvalue())


def run_and_list_imports(
    *args: str, watched: tuple[str, ...], env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """`python run.py ARGS` in a probe that says which of `watched` the command imported."""
    probe = (
        "import runpy, sys\n"
        f"sys.argv = [{RUN!r}, *{list(args)!r}]\n"
        "code = 0\n"
        "try:\n"
        f"    runpy.run_path({RUN!r}, run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    code = exit.code or 0\n"
        f"print('IMPORTED:', sorted(m for m in {watched!r} if m in sys.modules))\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=env
    )
    return result.returncode, result.stdout, result.stderr


def test_help_lists_pipelines_without_importing_zenml_or_mlflow() -> None:
    code, out, _ = run_and_list_imports("--help", watched=("zenml", "mlflow", "sklearn", "pandas"))

    assert code == 0
    assert "--pipeline" in out and "training" in out
    assert "IMPORTED: []" in out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("a,b\n1,2\n", "column 'target': the target column is missing"),
        ("mean radius,target\n1.0,0\n2.0,1\n", "data: 2 rows, fewer than validation.min_rows = 50"),
        ("a;b;target\n1;2;0\n", "the separator is probably not ','"),
    ],
    ids=["no-target", "too-few-rows", "wrong-delimiter"],
)
def test_a_bad_data_file_is_refused_before_zenml_or_scikit_learn_loads(
    tmp_path: Path, content: str, expected: str
) -> None:
    data = tmp_path / "data.csv"
    data.write_text(content)

    code, out, err = run_and_list_imports(
        "--pipeline", "training", "--data", str(data), watched=("zenml", "sklearn")
    )

    lines = err.strip().splitlines()
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0]
    assert "IMPORTED: []" in out


def test_a_bad_config_is_refused_before_zenml_or_scikit_learn_loads(tmp_path: Path) -> None:
    config = tmp_path / "training.yaml"
    config.write_text(f"model: {{name: m}}\nparameters:\n  {DATA}\n  split: {{test_size: 2}}\n")

    code, out, err = run_and_list_imports(
        "--pipeline", "training", "--config", str(config), watched=("zenml", "sklearn", "pandera")
    )

    assert code == 1
    assert err.strip().splitlines() == [
        f"error: {config}: parameters.split.test_size: Input should be less than 1"
    ]
    assert "IMPORTED: []" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("--pipeline", "nope"),
            f"error: --pipeline: unknown pipeline 'nope'; choose one of: {ALL_PIPELINES}",
        ),
        (("--config", "x.yaml"), f"error: --pipeline is required; choose one of: {ALL_PIPELINES}"),
        (
            ("--pipeline", "training", "--config", "/no/such.yaml"),
            "error: config file '/no/such.yaml': no such file",
        ),
        (
            ("--pipeline", "training", "--data", "/no/such.csv"),
            "error: --data: data file '/no/such.csv': no such file",
        ),
        (
            ("--pipeline", "batch-inference", "--data", "/no/batch.csv"),
            "error: --data: data file or folder '/no/batch.csv': no such file or folder",
        ),
        (
            ("--pipeline", "batch-inference", "--dry-run", "--manifest-out", "x.yaml"),
            "error: --dry-run and --manifest-out PATH go together, with --pipeline deployment",
        ),
        (("simulate", "--drift", "-1", "--out", "/tmp/x.csv"), "error: --drift: -1.0 is negative"),
        (("simulate",), "error: simulate: give one of --out PATH or --stream NAME"),
        (
            ("simulate", "--stream", "events", "--stream-url", "http://127.0.0.1:1"),
            "error: --stream-url 'http://127.0.0.1:1': must start with redis://, rediss:// or kafka://",
        ),
    ],
    ids=[
        "unknown-pipeline",
        "no-pipeline",
        "missing-config",
        "missing-data",
        "missing-batch",
        "dry-run-elsewhere",
        "negative-drift",
        "simulate-nowhere",
        "simulate-not-redis",
    ],
)
def test_mistakes_get_one_line_and_exit_1(args: tuple[str, ...], expected: str) -> None:
    result = run(*args)

    assert result.returncode == 1
    assert result.stderr.strip().startswith(expected)
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("model: {name: m}\nparameters: {train: {estimatr: x}}\n", "parameters.train.estimatr: unknown key"),
        (
            "model: {name: m}\nparameters: {split: {test_size: big}}\n",
            "parameters.split.test_size: Input should be a valid number",
        ),
        (
            "model: {name: m}\nparameters: {split: {test_size: 1.5}}\n",
            "parameters.split.test_size: Input should be less than 1",
        ),
        ("model: {name: m}\nparameters: {promotion: {gates: {accuracy: 2}}}\n", "gate for 'accuracy' is 2.0"),
        ("parameters: {}\n", "model.name: required"),
        ("model: [\n", "not valid YAML"),
    ],
    ids=["unknown-key", "wrong-type", "impossible-split", "impossible-gate", "no-model", "bad-yaml"],
)
def test_invalid_config_names_the_key(tmp_path: Path, yaml_text: str, expected: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(yaml_text)

    result = run("--pipeline", "training", "--config", str(config))

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {config}") or lines[0].startswith("error: config file")
    assert expected in lines[0]


def test_data_file_of_unknown_type_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data.xlsx"
    data.write_bytes(b"PK")

    result = run("--pipeline", "training", "--data", str(data))

    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"error: --data {data}: unsupported file type '.xlsx'; use .csv, .tsv or .parquet"
    )


@pytest.mark.parametrize(
    ("pipeline", "yaml_text", "expected"),
    [
        (
            "batch-inference",
            "model: {name: m}\nparameters: {drift: {drift_share_threshold: 0}}\n",
            "parameters.drift.drift_share_threshold: Input should be greater than 0",
        ),
        (
            "batch-inference",
            "model: {name: m}\nparameters: {scoring: {mode: cloud}}\n",
            "parameters.scoring.mode: Input should be 'auto', 'endpoint' or 'in_process'",
        ),
        (
            "batch-inference",
            "model: {name: m}\nparameters: {monitoring: {pushgateway_url: 'localhost:9091'}}\n",
            "parameters.monitoring.pushgateway_url: must start with http:// or https://",
        ),
        (
            "continuous-training",
            "model: {name: m}\nparameters: {drift: {sample_rows: 10}}\n",
            "parameters.drift.sample_rows: Input should be greater than or equal to 1000",
        ),
        (
            "continuous-training",
            "model: {name: m}\nparameters: {retrain_every: 3}\n",
            "parameters.retrain_every: unknown key",
        ),
    ],
    ids=["zero-share", "unknown-mode", "pushgateway-not-url", "tiny-sample", "unknown-key"],
)
def test_invalid_drift_configs_name_the_key(
    tmp_path: Path, pipeline: str, yaml_text: str, expected: str
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(yaml_text.replace("parameters: {", f"parameters: {{{DATA}, "))

    result = run("--pipeline", pipeline, "--config", str(config))

    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {config}: {expected}"


def test_continuous_training_with_a_missing_training_config_names_it(tmp_path: Path) -> None:
    config = tmp_path / "ct.yaml"
    config.write_text(f"model: {{name: m}}\nparameters: {{{DATA}, training_config: nowhere.yaml}}\n")

    result = run("--pipeline", "continuous-training", "--config", str(config))

    assert result.returncode == 1
    assert result.stderr.strip() == f"error: config file '{tmp_path / 'nowhere.yaml'}': no such file"


def test_simulate_writes_a_seeded_batch(tmp_path: Path) -> None:
    import pandas as pd

    first, second = tmp_path / "a.csv", tmp_path / "b.parquet"

    results = [
        run("simulate", "--drift", "0.5", "--rows", "40", "--seed", "3", "--out", str(p))
        for p in (first, second)
    ]

    assert all(r.returncode == 0 for r in results)
    assert results[0].stdout.strip() == f"40 rows (drift 0.5, seed 3) written to {first}"
    pd.testing.assert_frame_equal(pd.read_csv(first), pd.read_parquet(second), check_exact=False, rtol=1e-12)


@pytest.mark.store
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("model", "list", "--model-name", "nothing_trained"), "model 'nothing_trained' has no versions"),
        (("model", "show", "--model-name", "nothing_trained"), "model 'nothing_trained' has no versions"),
    ],
    ids=["model list", "model show"],
)
def test_model_versions_are_read_without_importing_mlflow_or_scikit_learn(
    args: tuple[str, ...], expected: str
) -> None:
    code, out, err = run_and_list_imports(*args, watched=("mlflow", "sklearn"))

    assert code == 1 and expected in err, err
    assert "IMPORTED: []" in out


@pytest.mark.store
def test_deployment_status_asks_the_deployer_without_building_the_stack(tmp_path: Path) -> None:
    """On the `local` stack, whose MLflow tracker ZenML would import to build the whole stack."""
    env = {**os.environ, "ZENML_CONFIG_PATH": str(tmp_path / "zenml")}
    for command in (
        [sys.executable, RUN, "stack", "register", "local"],
        [str(Path(sys.executable).parent / "zenml"), "stack", "set", "local"],
    ):
        subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=True)

    code, out, err = run_and_list_imports(
        "deployment", "status", "--model-name", "nothing_trained", watched=("mlflow", "sklearn"), env=env
    )

    assert code == 0 and "'nothing_trained' is not deployed on this stack" in out, err
    assert "IMPORTED: []" in out


@pytest.mark.parametrize("debug", [False, True], ids=["one line", "--debug"])
def test_an_error_nobody_foresaw_is_one_line_naming_its_traceback_file(tmp_path: Path, debug: bool) -> None:
    """ZenML's own error on a store that is not a database: no traceback on the screen, but a file
    with it (owner only); `--debug` prints it instead."""
    store = tmp_path / "store.db"
    store.write_text("not a database\n", encoding="utf-8")
    env = {
        **os.environ,
        "ZENML_CONFIG_PATH": str(tmp_path / "zenml"),
        "ZENML_STORE_URL": f"sqlite:///{store}",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    args = ["--debug"] * debug + ["model", "list"]
    result = subprocess.run(
        [sys.executable, RUN, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )

    logs = list((tmp_path / "cache").glob("zenml-mlops-template/logs/error-*.log"))
    if debug:
        assert result.returncode == 1 and "Traceback (most recent call last)" in result.stderr
        assert not logs
        return
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert lines == [
        f"error: DatabaseError: (sqlite3.DatabaseError) file is not a database (traceback in {logs[0]}; "
        "run again with --debug to print it)"
    ], result.stderr
    assert "Traceback" not in result.stderr
    assert "sqlite3.DatabaseError" in logs[0].read_text(encoding="utf-8")
    assert logs[0].stat().st_mode & 0o777 == 0o600


def test_a_saved_traceback_and_the_line_printed_mask_the_credentials_of_the_urls_they_quote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli.failures import one_line, save_traceback

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    try:
        raise ConnectionError(
            "postgresql://mlops:s3cret@127.0.0.1:5433/mlops refused; redis://:pw@host:6380/0"
        )
    except ConnectionError as error:
        text = save_traceback(error).read_text(encoding="utf-8")
        line = one_line(error)

    assert "s3cret" not in text and ":pw@" not in text
    assert "postgresql://***@127.0.0.1:5433/mlops refused; redis://***@host:6380/0" in text
    assert line == "ConnectionError: postgresql://***@127.0.0.1:5433/mlops refused; redis://***@host:6380/0"


BAD_NAME_ERROR = (
    "is not a valid name; use letters, digits, '_', '.' and '-', starting with a letter or digit, "
    "without '..'"
)


@pytest.mark.parametrize(
    "args",
    [
        ("--pipeline", "training"),
        ("deployment", "status"),
        ("deployment", "stop"),
        ("model", "show"),
        ("model", "promote", "3", "--reason", "rollback"),
        ("predict", "--data", "rows.csv"),
    ],
    ids=["pipeline", "status", "stop", "show", "promote", "predict"],
)
def test_a_model_name_that_is_no_folder_name_is_refused_at_once(args: tuple[str, ...]) -> None:
    """The name becomes a folder name (the model's repository, its removal on `deployment stop`)."""
    result = run(*args, "--model-name", "../other")

    assert result.returncode == 1
    assert result.stderr.strip() == f"error: --model-name: '../other' {BAD_NAME_ERROR}"


def test_a_config_model_name_that_is_no_folder_name_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "deployment.yaml"
    config.write_text("model: {name: 'a/b', version: production}\nparameters: {}\n")

    result = run("--pipeline", "deployment", "--config", str(config))

    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {config}: model.name: 'a/b' {BAD_NAME_ERROR}"
