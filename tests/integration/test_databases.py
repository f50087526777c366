"""Sources on real database servers, started by `servers up` (Debian's PostgreSQL and MariaDB):
bound parameters, accounts from the environment or a ZenML secret, one-line errors that never show
a password, and a model trained from each server whose lineage says so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest
import sqlalchemy
import yaml

from core.errors import DataSourceError
from core.lineage import data_fingerprint
from core.sources import DemoSource, SqlSource, load_source
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

    label = f"SQL source '{DRIVERS[server]}://mlops:***@"
    assert all(message.startswith(label) and "\n" not in message for message in messages), messages
    assert all(password not in message for message in messages)
    assert "cannot connect" in messages[0] and "check that the server is up and the account" in messages[0]
    assert "cannot connect" in messages[1]
    assert "query failed" in messages[2] and "no_such_table" in messages[2]


def test_a_secret_that_does_not_exist_is_named(databases: Databases) -> None:
    from steps.ingest import _login

    source = SqlSource(kind="sql", url=databases.url("postgres"), query="SELECT 1", secret="no_such_secret")
    with pytest.raises(DataSourceError) as caught:
        _login(source)
    assert str(caught.value).startswith(
        f"SQL source '{DRIVERS['postgres']}://mlops:***@{databases.address('postgres')}/mlops': "
        "ZenML secret 'no_such_secret' not found; create it with `zenml secret create no_such_secret"
    )


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
