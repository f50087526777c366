"""Sources on real servers started by `servers up` (Debian's PostgreSQL, MariaDB and Redis): SQL with
bound parameters and accounts from the environment or a ZenML secret, a model trained from each
database whose lineage says so, and Redis Streams read through a consumer group whose entries are
acknowledged only after the run succeeded; errors are one line that never shows a password."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import pytest
import redis
import sqlalchemy
import yaml

from core.errors import DataSourceError
from core.lineage import data_fingerprint
from core.sources import DemoSource, SqlSource, StreamSource, load_source
from stacks.streams.base import DeadLetter
from stacks.streams.readers import open_stream
from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import free_port, run_cli, servers_env

pytestmark = pytest.mark.servers

DRIVERS = {"postgres": "postgresql+psycopg", "mysql": "mysql+pymysql"}


@dataclass(frozen=True)
class Databases:
    env: dict[str, str]
    credentials: dict[str, str]
    demo: pd.DataFrame

    def address(self, server: str) -> str:
        """HOST:PORT of `server` (postgres, mysql, redis)."""
        return urlsplit(self.env[f"LOCAL_{server.upper()}_URL"]).netloc

    def url(self, server: str, password: str = "$DB_PASSWORD") -> str:
        """A SQLAlchemy URL of the server's `mlops` database, the password from the environment."""
        return f"{DRIVERS[server]}://mlops:{password}@{self.address(server)}/mlops"

    def password(self, server: str) -> str:
        return self.credentials[f"{server}_password"]


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    env = servers_env(tmp_path_factory.mktemp("databases"), "postgres", "mysql", "redis")
    started = run_cli("servers", "up", "postgres", "mysql", "redis", env=env, timeout=300)
    try:
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        credentials = json.loads((Path(env["MLOPS_SERVERS_DIR"]) / "credentials.json").read_text())
        demo = load_source(DemoSource(kind="demo", name="breast_cancer"))
        databases = Databases(env, credentials, demo)
        for server in DRIVERS:
            engine = sqlalchemy.create_engine(databases.url(server, databases.password(server)))
            try:
                demo.to_sql("patients", engine, index=False, if_exists="replace")
            finally:
                engine.dispose()
        yield databases
    finally:
        run_cli("servers", "down", env=env, timeout=300)


@pytest.mark.parametrize("server", list(DRIVERS))
def test_a_query_with_bound_parameters_reads_the_rows_and_fingerprints_as_the_data_does(
    databases: Databases, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_PASSWORD", databases.password(server))
    everything = SqlSource(kind="sql", url=databases.url(server), query="SELECT * FROM patients")
    malignant = everything.model_copy(
        update={"query": "SELECT * FROM patients WHERE target = :label", "params": {"label": 0}}
    )

    frame = load_source(everything)
    chosen = load_source(malignant)

    assert data_fingerprint(frame) == data_fingerprint(databases.demo)
    assert len(chosen) == int((databases.demo["target"] == 0).sum()) > 0
    assert set(chosen["target"]) == {0}


@pytest.mark.parametrize("server", list(DRIVERS))
def test_a_wrong_password_a_server_down_and_a_bad_query_are_one_line_without_the_password(
    databases: Databases, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = databases.password(server)
    monkeypatch.setenv("DB_PASSWORD", password + "-wrong")
    wrong_password = SqlSource(kind="sql", url=databases.url(server), query="SELECT * FROM patients")
    down = wrong_password.model_copy(
        update={"url": databases.url(server).replace(databases.address(server), f"127.0.0.1:{free_port()}")}
    )
    messages = []
    for source in (wrong_password, down):
        with pytest.raises(DataSourceError) as caught:
            load_source(source)
        messages.append(str(caught.value))
    monkeypatch.setenv("DB_PASSWORD", password)
    with pytest.raises(DataSourceError) as caught:
        load_source(wrong_password.model_copy(update={"query": "SELECT * FROM no_such_table"}))
    messages.append(str(caught.value))

    label = f"SQL source '{DRIVERS[server]}://***@"
    assert all(message.startswith(label) and "\n" not in message for message in messages), messages
    assert all(password not in message for message in messages)
    assert "cannot connect" in messages[0] and "check that the server is up and the account" in messages[0]
    assert "cannot connect" in messages[1]
    assert "query failed" in messages[2] and "no_such_table" in messages[2]


def test_a_secret_that_does_not_exist_is_named(databases: Databases) -> None:
    from steps.ingest import login_for

    source = SqlSource(kind="sql", url=databases.url("postgres"), query="SELECT 1", secret="no_such_secret")
    with pytest.raises(DataSourceError) as caught:
        login_for(source)
    assert str(caught.value).startswith(
        f"SQL source '{DRIVERS['postgres']}://***@{databases.address('postgres')}/mlops': "
        "ZenML secret 'no_such_secret' not found; create it with `zenml secret create no_such_secret"
    )


def test_each_account_reaches_its_own_database_only_and_none_runs_a_program_on_the_server(
    databases: Databases,
) -> None:
    """The data sources' account (what `local_postgres` and `local_mysql` hold) owns `mlops` and
    nothing else, and is no superuser; MLflow's and ZenML's store accounts cannot read `mlops`."""
    import psycopg
    import pymysql

    postgres = urlsplit(databases.env["LOCAL_POSTGRES_URL"])
    mysql = urlsplit(databases.env["LOCAL_MYSQL_URL"])
    sources = ("mlops", databases.password("postgres"))
    mlflow_store = ("mlflow", databases.credentials["mlflow_store_password"])
    zenml_store = ("zenml", databases.credentials["zenml_store_password"])

    def on_postgres(account: tuple[str, str], database: str) -> psycopg.Connection[tuple[object, ...]]:
        user, password = account
        return psycopg.connect(
            host=postgres.hostname, port=postgres.port, user=user, password=password, dbname=database
        )

    def on_mysql(account: tuple[str, str], database: str) -> pymysql.Connection[pymysql.cursors.Cursor]:
        user, password = account
        return pymysql.connect(
            host=mysql.hostname, port=mysql.port or 0, user=user, password=password, database=database
        )

    with (
        on_postgres(sources, "mlops") as connection,
        pytest.raises(psycopg.errors.InsufficientPrivilege) as program,
    ):
        connection.execute("COPY (SELECT 1) TO PROGRAM 'id'")
    refused_on_postgres = []
    for account, database in ((sources, "mlflow"), (mlflow_store, "mlops")):
        with pytest.raises(psycopg.OperationalError) as caught:
            on_postgres(account, database)
        refused_on_postgres.append(" ".join(str(caught.value).split()))
    on_postgres(mlflow_store, "mlflow").close()  # its own database: the refusals above are no typo
    mysql_sources = on_mysql(("mlops", databases.password("mysql")), "mlops")
    with mysql_sources.cursor() as cursor:
        cursor.execute("SHOW DATABASES")
        seen_by_sources = {row[0] for row in cursor.fetchall()}
    mysql_sources.close()
    refused_on_mysql = []
    for account, database in ((("mlops", databases.password("mysql")), "zenml"), (zenml_store, "mlops")):
        with pytest.raises(pymysql.OperationalError) as denied:
            on_mysql(account, database)
        refused_on_mysql.append(denied.value.args)
    on_mysql(zenml_store, "zenml").close()

    assert "must be superuser or have privileges of the pg_execute_server_program role" in str(program.value)
    assert [message.split("FATAL: ")[1] for message in refused_on_postgres] == [
        f'permission denied for database "{database}" DETAIL: User does not have CONNECT privilege.'
        for database in ("mlflow", "mlops")
    ]
    assert seen_by_sources == {"information_schema", "mlops"}
    assert refused_on_mysql == [
        (1044, "Access denied for user 'mlops'@'%' to database 'zenml'"),
        (1044, "Access denied for user 'zenml'@'%' to database 'mlops'"),
    ]


def test_a_model_trained_from_each_server_shows_where_its_data_came_from(
    databases: Databases, tmp_path: Path
) -> None:
    config = yaml.safe_load((PROJECT_ROOT / "configs" / "training.yaml").read_text())
    lineages = []
    for version, server in enumerate(DRIVERS, start=1):
        url = f"{DRIVERS[server]}://{databases.address(server)}/mlops"  # the account: the secret's
        config["parameters"]["data"] = {
            "source": {
                "kind": "sql",
                "url": url,
                "query": "SELECT * FROM patients",
                "secret": f"local_{server}",
            },
            "target": "target",
        }
        path = tmp_path / f"{server}.yaml"
        path.write_text(yaml.safe_dump(config))
        trained = run_cli("--pipeline", "training", "--config", str(path), env=databases.env)
        assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
        shown = run_cli("model", "show", str(version), "--json", env=databases.env)
        assert shown.returncode == 0, shown.stderr[-3000:]
        assert databases.password(server) not in trained.stdout + trained.stderr + shown.stdout
        lineages.append(json.loads(shown.stdout)["lineage"])

    assert [lineage["source"] for lineage in lineages] == [
        f"SQL source '{DRIVERS[server]}://{databases.address(server)}/mlops'" for server in DRIVERS
    ]
    assert {lineage["data_fingerprint"] for lineage in lineages} == {data_fingerprint(databases.demo)}
    assert [lineage["rows"] for lineage in lineages] == [len(databases.demo)] * 2


# --- Streams (Redis Streams) ------------------------------------------------------------------------------


def stream_source(databases: Databases, stream: str, **changes: object) -> StreamSource:
    url = f"redis://:{databases.password('redis')}@{databases.address('redis')}/0"
    source = StreamSource(kind="stream", url=url, stream=stream, idle_seconds=0.5)
    return source.model_copy(update=changes)


def redis_client(databases: Databases) -> redis.Redis:
    url = f"redis://:{databases.password('redis')}@{databases.address('redis')}/0"
    return redis.Redis.from_url(url, decode_responses=True)


def pending(databases: Databases, stream: str, group: str = "mlops-template") -> int:
    client = redis_client(databases)
    try:
        return int(client.xpending(stream, group)["pending"])
    finally:
        client.close()


def test_two_readers_at_once_get_different_entries_and_a_dead_readers_entries_are_taken_over(
    databases: Databases,
) -> None:
    rows = databases.demo.head(50)
    source = stream_source(databases, "reader-drill", max_records=30)
    first, second = open_stream(source), open_stream(source)
    try:
        first_id, last_id = first.append(rows)
        held = first.read()
        other = second.read()  # while `first` is live: the other 20, not `first`'s 30
        assert second.acknowledge() == 20
        assert pending(databases, "reader-drill") == 30  # `first`'s, untouched by `second`'s acknowledgement
    finally:
        first.close()  # dies holding its 30 entries
        second.close()
    time.sleep(0.3)
    taker = open_stream(source.model_copy(update={"reclaim_after_seconds": 0.2}))
    try:
        taken = taker.read()
        assert taker.acknowledge() == 30
        with pytest.raises(DataSourceError) as empty:
            taker.read()
        consumers = redis_client(databases).xinfo_consumers("reader-drill", "mlops-template")
    finally:
        taker.close()

    assert first.consumer != second.consumer
    assert (held.first_id, held.entries, held.redelivered) == (first_id, 30, 0)
    assert (other.last_id, other.entries, other.redelivered) == (last_id, 20, 0)
    assert (taken.first_id, taken.last_id, taken.redelivered) == (held.first_id, held.last_id, 30)
    pd.testing.assert_frame_equal(pd.concat([taken.frame, other.frame], ignore_index=True), rows)
    assert consumers == []  # each run's consumer retired: by its acknowledgement, or once taken over
    assert str(empty.value) == (
        f"stream 'reader-drill' on 'redis://***@{databases.address('redis')}/0': no entries to read for "
        "group 'mlops-template' (none new, none left by a failed run for 0.2 s)"
    )


def test_entries_that_cannot_be_parsed_go_to_the_dead_letter_and_the_ones_behind_them_are_read(
    databases: Databases,
) -> None:
    writer = redis_client(databases)
    records = [
        '{"x": 1}',
        "{not json",
        "[" * 100_000 + "]" * 100_000,  # deep enough for the decoder's RecursionError
        '{"a": ' * 40 + "1" + "}" * 40,  # parses, but deeper than any row
        "[1, 2]",
        '{"x": 2}',
    ]
    ids = [str(writer.xadd("poisoned", {"record": record})) for record in records]
    no_record_id = str(writer.xadd("poisoned", {"other": "{}"}))
    source = stream_source(databases, "poisoned")
    reader = open_stream(source)
    try:
        batch = reader.read()
        letters: Any = writer.xrange("poisoned:dead-letter")
    finally:
        reader.close()
        writer.close()

    assert batch.frame["x"].tolist() == [1, 2]
    reasons = {letter.entry_id: letter.reason for letter in batch.dead_lettered}
    assert list(reasons) == [*ids[1:5], no_record_id]
    assert reasons[ids[1]] == "not JSON (Expecting property name enclosed in double quotes at character 1)"
    assert reasons[ids[2]] == reasons[ids[3]] == "nested more than 32 levels deep"
    assert reasons[ids[4]] == "not a JSON object (a JSON array)"
    assert reasons[no_record_id] == "no field 'record'"
    assert [fields["entry_id"] for _, fields in letters] == list(reasons)
    assert [fields["reason"] for _, fields in letters] == list(reasons.values())
    assert [fields.get("record") for _, fields in letters] == [*records[1:5], None]
    assert batch.lineage(source)["dead_lettered"] == [
        {"id": entry_id, "reason": reason} for entry_id, reason in reasons.items()
    ]
    assert pending(databases, "poisoned") == 2  # the moved entries are acknowledged; the read ones held


def test_an_entry_whose_runs_failed_max_deliveries_times_goes_to_the_dead_letter(
    databases: Databases,
) -> None:
    """A record that parses but that every run fails on (validation, say): after `max_deliveries` runs
    that did not succeed, the next run moves it to the dead letter and reads what came after it."""
    source = stream_source(databases, "failing", max_deliveries=2, reclaim_after_seconds=0.1)
    writer = redis_client(databases)
    failing_id = str(writer.xadd("failing", {"record": '{"x": -1}'}))
    for _ in range(2):  # two runs read it and fail (never acknowledge)
        reader = open_stream(source)
        try:
            assert reader.read().frame["x"].tolist() == [-1]
        finally:
            reader.close()
        time.sleep(0.15)
    behind_id = str(writer.xadd("failing", {"record": '{"x": 3}'}))
    reader = open_stream(source)
    try:
        batch = reader.read()
        assert reader.acknowledge() == 1
        moved: Any = writer.xrange("failing:dead-letter")
    finally:
        reader.close()
        writer.close()

    assert (batch.first_id, batch.frame["x"].tolist(), batch.redelivered) == (behind_id, [3], 0)
    reason = "read by 2 runs that did not succeed (max_deliveries: 2)"
    assert batch.dead_lettered == (DeadLetter(failing_id, reason),)
    assert moved == [(moved[0][0], {"record": '{"x": -1}', "entry_id": failing_id, "reason": reason})]
    assert pending(databases, "failing") == 0


def test_a_stream_that_is_missing_refuses_the_password_or_holds_bad_entries_is_named(
    databases: Databases,
) -> None:
    label = f"stream '%s' on 'redis://***@{databases.address('redis')}/0'"
    writer = redis.Redis.from_url(
        f"redis://:{databases.password('redis')}@{databases.address('redis')}/0", decode_responses=True
    )
    broken_id = str(writer.xadd("broken", {"record": "{not json"}))
    writer.close()
    broken = stream_source(databases, "broken")
    cases = [
        (
            stream_source(databases, "missing"),
            f"{label % 'missing'}: no such stream; check the source's `stream`",
        ),
        (
            broken,
            f"{label % 'broken'}: all 1 entries read were moved to the dead-letter stream "
            f"'broken:dead-letter': {broken_id}: not JSON",
        ),
        (
            broken.model_copy(update={"url": broken.url.replace(databases.password("redis"), "wrong")}),
            f"{label % 'broken'}: cannot read: password refused",
        ),
    ]
    for source, expected in cases:
        reader = open_stream(source)
        try:
            with pytest.raises(DataSourceError) as caught:
                reader.read()
        finally:
            reader.close()
        assert str(caught.value).startswith(expected)
        assert databases.password("redis") not in str(caught.value)


def test_two_continuous_training_runs_started_together_process_each_entry_once(
    databases: Databases, tmp_path: Path
) -> None:
    """Before any retraining: the clean batch neither drifts from nor fools the production model
    trained above, so neither run retrains (the versions the tests below count stay as they are)."""
    path = fed_stream_config(
        databases, tmp_path, "continuous_training", "together", "--rows", "300", "--seed", "5"
    )
    config = yaml.safe_load(path.read_text())
    config["parameters"]["data"]["source"]["max_records"] = 150
    config["parameters"]["data"]["target"] = "target"
    config["parameters"] |= {
        "redeploy": False,
        "training_config": str(PROJECT_ROOT / "configs" / "training.yaml"),
        "deployment_config": str(PROJECT_ROOT / "configs" / "deployment.yaml"),
    }
    path.write_text(yaml.safe_dump(config))
    command = [sys.executable, "run.py", "--pipeline", "continuous-training", "--config", str(path)]
    production = json.loads(run_cli("model", "show", "--json", env=databases.env).stdout)["version"]

    runs = [
        subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=databases.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outputs
    assert all("150 entries of stream 'together'" in output for output in outputs), outputs
    assert pending(databases, "together") == 0  # 300 entries, each read and acknowledged by one run
    assert redis_client(databases).xlen("together") == 300
    assert json.loads(run_cli("model", "show", "--json", env=databases.env).stdout)["version"] == production


def test_continuous_training_killed_mid_way_leaves_its_entries_for_the_next_run(
    databases: Databases, tmp_path: Path
) -> None:
    """Needs the production model trained above. The killed run's entries stay pending; the next run
    reads them again, retrains on them once, and acknowledges them only when everything succeeded."""
    redis_url = f"redis://:$REDIS_PASSWORD@{databases.address('redis')}/0"
    env = {**databases.env, "REDIS_PASSWORD": databases.password("redis")}
    fed = run_cli(
        "simulate",
        "--drift",
        "1.0",
        "--rows",
        "300",
        "--stream",
        "labeled",
        "--stream-url",
        redis_url,
        env=env,
    )
    assert fed.returncode == 0, fed.stderr[-3000:]
    config = yaml.safe_load((PROJECT_ROOT / "configs" / "continuous_training.yaml").read_text())
    config["parameters"]["data"]["source"] = {
        "kind": "stream",
        "url": f"redis://{databases.address('redis')}/0",
        "stream": "labeled",
        "secret": "local_redis",
        "idle_seconds": 1,
        "reclaim_after_seconds": 1,  # the killed run's entries, taken over by the rerun
    }
    config["parameters"] |= {
        "redeploy": False,
        "training_config": str(PROJECT_ROOT / "configs" / "training.yaml"),
        "deployment_config": str(PROJECT_ROOT / "configs" / "deployment.yaml"),
    }
    path = tmp_path / "continuous_training.yaml"
    path.write_text(yaml.safe_dump(config))
    command = [sys.executable, "run.py", "--pipeline", "continuous-training", "--config", str(path)]

    killed = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert killed.stdout is not None
    output = []
    for line in killed.stdout:
        output.append(line)
        if "check_data_drift" in line and "has started" in line:  # the batch has been read
            os.kill(killed.pid, signal.SIGKILL)
            break
    assert killed.wait(60) == -signal.SIGKILL, "".join(output)[-3000:]
    assert pending(databases, "labeled") == 300

    rerun = run_cli("--pipeline", "continuous-training", "--config", str(path), env=env)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "300 entries of stream 'labeled'" in rerun.stdout
    assert pending(databases, "labeled") == 0
    retrained = json.loads(run_cli("model", "show", "3", "--json", env=env).stdout)
    [entries] = retrained["lineage"]["stream_entries"]
    assert (entries["stream"], entries["entries"], entries["redelivered"]) == ("labeled", 300, 300)
    assert retrained["lineage"]["rows"] == len(databases.demo) + 300  # the batch once, not twice


def fed_stream_config(
    databases: Databases, tmp_path: Path, pipeline: str, stream: str, *simulate: str
) -> Path:
    """`run.py simulate SIMULATE` appended to `stream`, and a copy of configs/PIPELINE.yaml reading it."""
    redis_url = f"redis://:{databases.password('redis')}@{databases.address('redis')}/0"
    fed = run_cli("simulate", *simulate, "--stream", stream, "--stream-url", redis_url, env=databases.env)
    assert fed.returncode == 0, fed.stderr[-3000:]
    config = yaml.safe_load((PROJECT_ROOT / "configs" / f"{pipeline}.yaml").read_text())
    source = {"kind": "stream", "url": f"redis://{databases.address('redis')}/0", "stream": stream}
    config["parameters"]["data"] = {
        "source": source | {"secret": "local_redis", "idle_seconds": 1},
        **({"target": "target"} if pipeline == "training" else {}),
    }
    path = tmp_path / f"{pipeline}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_batch_inference_scores_a_stream_and_acknowledges_it_after_the_run(
    databases: Databases, tmp_path: Path
) -> None:
    """Needs the production model trained above."""
    path = fed_stream_config(
        databases, tmp_path, "batch_inference", "unlabeled", "--rows", "120", "--unlabeled"
    )
    config = yaml.safe_load(path.read_text())
    config["parameters"]["output"] = {"folder": str(tmp_path / "predictions")}
    path.write_text(yaml.safe_dump(config))
    writer = redis_client(databases)
    poisoned_id = str(writer.xadd("unlabeled", {"record": "{not json"}))

    scored = run_cli("--pipeline", "batch-inference", "--config", str(path), env=databases.env)

    moved: Any = writer.xrange("unlabeled:dead-letter")
    writer.close()
    assert scored.returncode == 0, scored.stdout[-3000:] + scored.stderr[-3000:]
    assert "120 entries of stream 'unlabeled'" in scored.stdout
    assert "dead-letter" in scored.stdout and poisoned_id in scored.stdout  # the summary names it
    assert [fields["entry_id"] for _, fields in moved] == [poisoned_id]
    assert pending(databases, "unlabeled") == 0
    [predictions] = (tmp_path / "predictions").iterdir()
    assert len(pd.read_parquet(predictions)) == 120


def test_training_from_a_stream_acknowledges_its_entries_and_names_them_in_the_lineage(
    databases: Databases, tmp_path: Path
) -> None:
    path = fed_stream_config(databases, tmp_path, "training", "training", "--rows", "400", "--seed", "5")

    trained = run_cli("--pipeline", "training", "--config", str(path), env=databases.env)

    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
    assert "400 entries of stream 'training'" in trained.stdout
    assert pending(databases, "training") == 0
    shown = json.loads(run_cli("model", "show", "4", "--json", env=databases.env).stdout)
    [entries] = shown["lineage"]["stream_entries"]
    assert (entries["stream"], entries["entries"], entries["redelivered"]) == ("training", 400, 0)
    assert shown["lineage"]["rows"] == 400
