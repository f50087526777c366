"""The run folder of `servers up` (owner-only, one writer at a time, records replaced whole) and the
environment a server starts with (a fixed list, nothing else of the user's)."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.errors import ConfigError
from stacks.servers.config import PROJECT_ROOT, ServersConfig, load_servers_config
from stacks.servers.credentials import load_or_create_credentials
from stacks.servers.mlflow import MLflowServer
from stacks.servers.processes import ServerState, read_states, write_states
from stacks.servers.redis import RedisServer
from stacks.servers.run_folder import make_private, run_folder_lock
from stacks.servers.zenml import ZenMLServer

RACERS = 2
WRITES = 40  # per racer: enough for a lost update without the lock, a second or two with it


def _config(run_folder: Path) -> ServersConfig:
    return load_servers_config().model_copy(update={"run_folder": run_folder})


def test_a_server_gets_its_own_variables_and_only_the_listed_ones_of_the_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "AWS_SESSION_TOKEN": "s3cret",
        "AWS_PROFILE": "prod",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "PGPASSWORD": "s3cret",
        "PYTHONPATH": "/somewhere",
        "PATH": "/usr/bin",
        "HOME": "/home/someone",
        "LC_TIME": "C",
        "ZENML_ANALYTICS_OPT_IN": "false",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MLFLOW_DISABLE_TELEMETRY", raising=False)
    config = _config(tmp_path)
    common = {
        name: value
        for name, value in os.environ.items()
        if name in ("PATH", "HOME", "LANG", "LANGUAGE", "TMPDIR", "TZ", "DO_NOT_TRACK")
        or name.startswith("LC_")
    }

    assert RedisServer(config).environment({}) == common
    assert ZenMLServer(config).environment({"ZENML_SERVER": "true"}) == {
        **common,
        "ZENML_ANALYTICS_OPT_IN": "false",  # an opt-out of its telemetry is the user's to give
        "ZENML_SERVER": "true",
    }
    credentials = load_or_create_credentials(tmp_path)
    mlflow = MLflowServer(config).launch(credentials).env  # a real launch: the S3 keys are the run folder's
    assert {name for name, value in mlflow.items() if os.environ.get(name) == value} == set(common)
    assert not {"AWS_SESSION_TOKEN", "AWS_PROFILE", "PGPASSWORD", "PYTHONPATH"} & set(mlflow)
    assert (mlflow["AWS_ACCESS_KEY_ID"], mlflow["AWS_DEFAULT_REGION"]) == (
        credentials.aws_access_key_id,
        "us-east-1",
    )
    assert mlflow["MLFLOW_BACKEND_STORE_URI"].startswith("postgresql+psycopg://mlflow:")  # its own account


def test_a_database_server_listing_its_store_among_the_sources_databases_is_refused(tmp_path: Path) -> None:
    raw = yaml.safe_load((PROJECT_ROOT / "configs" / "servers.yaml").read_text())
    raw["postgres"]["databases"] = ["mlops", "mlflow"]  # as an older servers.yaml had it
    path = tmp_path / "servers.yaml"
    path.write_text(yaml.safe_dump(raw))

    with pytest.raises(ConfigError, match=r"postgres\.databases.*'mlflow' is the mlflow server's store"):
        load_servers_config(path)


def _create_credentials(folder: str, start: Any, results: Any) -> None:
    start.wait()
    results.put(asdict(load_or_create_credentials(Path(folder))))


def test_two_processes_creating_the_credentials_at_once_agree_on_one_set(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    for attempt in range(3):
        folder = tmp_path / str(attempt)
        start, results = context.Barrier(RACERS), context.Queue()
        racers = [
            context.Process(target=_create_credentials, args=(str(folder), start, results))
            for _ in range(RACERS)
        ]
        for racer in racers:
            racer.start()
        created = [results.get(timeout=60) for _ in racers]
        for racer in racers:
            racer.join(60)

        assert [racer.exitcode for racer in racers] == [0] * RACERS
        assert all(one == created[0] for one in created)
        assert json.loads((folder / "credentials.json").read_text()) == created[0]
        assert (folder / "credentials.json").stat().st_mode & 0o777 == 0o600


def _record_servers(folder: str, racer: int, start: Any) -> None:
    """What `up` does to state.json, many times: read it, add a server, write it, under the lock."""
    state_file = Path(folder) / "state.json"
    start.wait()
    for index in range(WRITES):
        with run_folder_lock(Path(folder)):
            states = read_states(state_file)
            name = f"server-{racer}-{index}"
            states[name] = ServerState(name, "http://127.0.0.1:1", [1], [0.0], "log")
            write_states(state_file, states)


def _read_while_written(folder: str, start: Any, done: Any, torn: Any) -> None:
    start.wait()
    state_file = Path(folder) / "state.json"
    while not done.is_set():
        try:
            read_states(state_file)
        except json.JSONDecodeError:
            torn.value += 1


def test_two_processes_changing_the_state_at_once_lose_no_entry_and_a_reader_never_sees_half(
    tmp_path: Path,
) -> None:
    context = multiprocessing.get_context("fork")
    start, done, torn = context.Barrier(RACERS + 1), context.Event(), context.Value("i", 0)
    writers = [
        context.Process(target=_record_servers, args=(str(tmp_path), racer, start)) for racer in range(RACERS)
    ]
    reader = context.Process(target=_read_while_written, args=(str(tmp_path), start, done, torn))
    for process in (*writers, reader):
        process.start()
    for writer in writers:
        writer.join(120)
    done.set()
    reader.join(60)

    assert [process.exitcode for process in (*writers, reader)] == [0] * (RACERS + 1)
    assert len(read_states(tmp_path / "state.json")) == RACERS * WRITES
    assert torn.value == 0
    assert (tmp_path / "state.json").stat().st_mode & 0o777 == 0o600
    assert sorted(path.name for path in tmp_path.iterdir()) == [".lock", "state.json"]  # no temporary left


def test_an_older_run_folder_is_made_owner_only_and_what_is_created_under_the_lock_is_too(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "servers"
    (folder / "logs").mkdir(parents=True)
    (folder / "logs" / "s3.log").write_text("")
    (folder / "logs").chmod(0o755)
    (folder / "logs" / "s3.log").chmod(0o644)
    (folder / "link").symlink_to(tmp_path)  # a link is not followed: its target keeps its mode
    tmp_path.chmod(0o755)

    make_private(folder, enterable=False)
    modes = {
        path.name: path.stat().st_mode & 0o777
        for path in (folder, folder / "logs", folder / "logs" / "s3.log")
    }
    make_private(folder, enterable=True)
    with run_folder_lock(folder):
        (folder / "mlflow").mkdir()
        (folder / "mlflow" / "basic_auth.ini").write_text("")
        subprocess.run(["touch", str(folder / "mlflow" / "auth.db")], check=True)  # a server's own file

    assert modes == {"servers": 0o700, "logs": 0o700, "s3.log": 0o600}
    assert tmp_path.stat().st_mode & 0o777 == 0o755
    assert folder.stat().st_mode & 0o777 == 0o711  # database servers' accounts pass through, list nothing
    assert [
        (folder / "mlflow" / name).stat().st_mode & 0o777 for name in ("", "basic_auth.ini", "auth.db")
    ] == [
        0o700,
        0o600,
        0o600,
    ]
    assert os.umask(0o022) == 0o022  # the process's own umask is back after the block
