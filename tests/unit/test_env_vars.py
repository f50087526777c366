"""core/env_vars.py: `$NAME` in every field that can carry a credential is read where the source is
opened, an unset one is one line naming the field and the variable, and the braced form ZenML
would store is refused when the config is read. Real servers on 127.0.0.1 check the credential."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import fsspec
import pandas as pd
import pytest

from core.batches import list_batch, read_all
from core.config_files import validate
from core.errors import ConfigError, DataSourceError
from core.sources import (
    DataConfig,
    DvcSource,
    FilesSource,
    HttpSource,
    Source,
    SqlSource,
    StreamSource,
    load_source,
    read_dvc,
)
from pipelines.preflight import check_data
from tests.conftest import PROJECT_ROOT
from tests.http_server import serving

FRAME = pd.DataFrame({"age": [31, 45], "plan": ["basic", "pro"]})
SIGNATURE = "s3cret"


def open_stream(source: StreamSource) -> None:
    from stacks.streams.redis_streams import RedisStreamReader

    RedisStreamReader(source, None)


FIELDS: list[tuple[Source, Callable[[Any], object], str]] = [
    (
        SqlSource(kind="sql", url="postgresql+psycopg://reader:$NO_SUCH_VAR@db/sales", query="SELECT 1"),
        load_source,
        "SQL source 'postgresql+psycopg://***@db/sales': `url`",
    ),
    (
        HttpSource(kind="http", url="https://data.example.com/rows.csv?token=$NO_SUCH_VAR"),
        load_source,
        "URL 'https://data.example.com/rows.csv?token=***': `url`",
    ),
    (
        FilesSource(kind="files", uri="$NO_SUCH_VAR/batches/2026-12-01/"),
        lambda source: list_batch(source, fsspec.filesystem("file")),
        "data '$NO_SUCH_VAR/batches/2026-12-01/': `uri`",
    ),
    (
        DvcSource(kind="dvc", repo="https://ci:$NO_SUCH_VAR@git.example.com/d.git", path="d.csv", rev="v1"),
        read_dvc,
        "DVC file 'd.csv' at 'v1' of 'https://***@git.example.com/d.git': `repo`",
    ),
    (
        StreamSource(kind="stream", url="redis://:$NO_SUCH_VAR@127.0.0.1:6379/0", stream="events"),
        open_stream,
        "stream 'events' on 'redis://***@127.0.0.1:6379/0': `url`",
    ),
]


@pytest.mark.parametrize(
    ("source", "open_source", "field"), FIELDS, ids=["sql", "http", "files", "dvc", "stream"]
)
def test_an_unset_variable_is_one_line_naming_the_field_and_the_variable(
    source: Source, open_source: Callable[[Any], object], field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_SUCH_VAR", raising=False)
    with pytest.raises(ConfigError) as caught:
        open_source(source)

    assert str(caught.value) == f"{field}: environment variable(s) NO_SUCH_VAR not set"


@pytest.mark.parametrize(
    ("source", "key"),
    [
        ({"kind": "sql", "url": "postgresql://reader:${TOKEN}@db/sales", "query": "SELECT 1"}, "url"),
        ({"kind": "http", "url": "https://h/rows.csv?token=${TOKEN}"}, "url"),
        ({"kind": "files", "uri": "https://h/batch.parquet?sig=${TOKEN}"}, "uri"),
        ({"kind": "dvc", "repo": "https://ci:${TOKEN}@h/d.git", "path": "d.csv", "rev": "v1"}, "repo"),
        ({"kind": "stream", "url": "redis://:${TOKEN}@h:6379/0", "stream": "events"}, "url"),
    ],
    ids=["sql", "http", "files", "dvc", "stream"],
)
def test_the_braced_form_zenml_would_store_is_refused_when_the_config_is_read(
    source: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        validate(DataConfig, {"source": source}, "configs/training.yaml", "parameters.data")

    assert str(caught.value) == (
        f"configs/training.yaml: parameters.data.source.{key}: write $TOKEN, not ${{TOKEN}}: "
        "ZenML would substitute ${TOKEN} and store its value with the run"
    )


class SignedHandler(SimpleHTTPRequestHandler):
    """Serves a file only to a request whose query carries `sig=SIGNATURE`, as a signed URL's host."""

    def do_GET(self) -> None:
        if parse_qs(urlsplit(self.path).query).get("sig") != [SIGNATURE]:
            self.send_error(403)
            return
        super().do_GET()

    do_HEAD = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def signed_base(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving rows.csv and batch.parquet behind a signature."""
    FRAME.to_csv(tmp_path / "rows.csv", index=False)
    FRAME.to_parquet(tmp_path / "batch.parquet", index=False)
    with serving(functools.partial(SignedHandler, directory=str(tmp_path))) as port:
        yield f"http://127.0.0.1:{port}"


def test_an_http_source_reads_with_the_signature_from_the_environment(
    signed_base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = HttpSource(kind="http", url=f"{signed_base}/rows.csv?sig=$DATA_SIG", timeout_seconds=5)
    monkeypatch.setenv("DATA_SIG", SIGNATURE)
    pd.testing.assert_frame_equal(load_source(source), FRAME)

    monkeypatch.setenv("DATA_SIG", "wrong-s3cret")
    with pytest.raises(DataSourceError) as caught:
        load_source(source)
    assert str(caught.value) == f"URL '{signed_base}/rows.csv?sig=***': HTTP 403"


def test_a_files_uri_reads_with_the_signature_from_the_environment_and_records_it_masked(
    signed_base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATCH_SIG", SIGNATURE)
    fs = fsspec.filesystem("http")

    batch = list_batch(FilesSource(kind="files", uri=f"{signed_base}/batch.parquet?sig=$BATCH_SIG"), fs)

    pd.testing.assert_frame_equal(read_all(batch, fs), FRAME)
    assert batch.reference()["uri"] == f"{signed_base}/batch.parquet?sig=***"
    assert batch.reference()["rows"] == len(FRAME)


def test_the_preflight_leaves_a_uri_with_variables_to_the_step_whose_environment_has_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_SUCH_VAR", raising=False)
    config = PROJECT_ROOT / "configs" / "batch_inference.yaml"

    check_data("batch-inference", config, "$NO_SUCH_VAR/batches/2026-12-01/", None)  # not refused here
    with pytest.raises(ConfigError, match="no such file or folder"):
        check_data("batch-inference", config, "no-such-folder/batches/2026-12-01/", None)
