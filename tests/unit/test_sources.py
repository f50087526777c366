"""core/sources.py: demo, CSV, Parquet, SQL and HTTP sources, with errors naming the file or URL."""

from __future__ import annotations

import functools
import re
import socket
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy
from pydantic import ValidationError

from core.errors import ConfigError, DataSourceError
from core.sources import (
    CsvSource,
    DemoSource,
    FilesSource,
    HttpSource,
    ParquetSource,
    SqlSource,
    StreamSource,
    data_option_source,
    describe_source,
    load_source,
    separator_for,
    source_for_path,
)
from tests.http_server import serving

SMALL_FRAME = pd.DataFrame({"age": [31, 45, 27], "city": ["Oslo", "Rome", "Lima"], "target": ["y", "n", "y"]})


def write_csv(tmp_path: Path, name: str, content: bytes, **options: Any) -> CsvSource:
    path = tmp_path / name
    path.write_bytes(content)
    return CsvSource(kind="csv", path=path, **options)


# --- demo ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rows", "n_classes"), [("breast_cancer", 569, 2), ("iris", 150, 3), ("wine", 178, 3)]
)
def test_demo_sets_load_with_target(name: str, rows: int, n_classes: int) -> None:
    frame = load_source(DemoSource(kind="demo", name=name))  # type: ignore[arg-type]
    assert "target" in frame.columns
    assert len(frame) == rows
    assert frame["target"].nunique() == n_classes


# --- CSV ------------------------------------------------------------------------------------------
def test_csv_loads_values_and_dtypes(tmp_path: Path) -> None:
    source = write_csv(tmp_path, "people.csv", b"age,city,target\n31,Oslo,y\n45,Rome,n\n27,Lima,y\n")
    frame = load_source(source)
    pd.testing.assert_frame_equal(frame, SMALL_FRAME)


def test_csv_with_custom_separator_and_encoding(tmp_path: Path) -> None:
    content = "name;score;target\nJosé;1.5;a\nZoë;2.5;b\n".encode("latin-1")
    frame = load_source(write_csv(tmp_path, "eu.csv", content, separator=";", encoding="latin-1"))
    assert frame["name"].tolist() == ["José", "Zoë"]
    assert frame["score"].tolist() == [1.5, 2.5]


def test_csv_with_utf8_bom_keeps_clean_header(tmp_path: Path) -> None:
    frame = load_source(write_csv(tmp_path, "bom.csv", "target,x\na,1\n".encode("utf-8-sig")))
    assert frame.columns.tolist() == ["target", "x"]


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent.csv"
    with pytest.raises(DataSourceError, match=re.escape(f"data file '{path}': no such file")):
        load_source(CsvSource(kind="csv", path=path))


def test_directory_is_not_a_regular_file(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match=re.escape(f"data file '{tmp_path}': not a regular file")):
        load_source(CsvSource(kind="csv", path=tmp_path))


def test_empty_file_is_named(tmp_path: Path) -> None:
    source = write_csv(tmp_path, "empty.csv", b"")
    with pytest.raises(DataSourceError, match=re.escape(f"data file '{source.path}': is empty")):
        load_source(source)


def test_blank_lines_only_have_no_header(tmp_path: Path) -> None:
    source = write_csv(tmp_path, "blank.csv", b"\n\n")
    with pytest.raises(
        DataSourceError, match=re.escape(f"data file '{source.path}': is empty (no header row)")
    ):
        load_source(source)


def test_header_only_csv_has_no_rows(tmp_path: Path) -> None:
    source = write_csv(tmp_path, "header.csv", b"age,city,target\n")
    with pytest.raises(
        DataSourceError, match=re.escape(f"data file '{source.path}': has a header but no rows")
    ):
        load_source(source)


def test_non_utf8_bytes_are_reported_with_offset(tmp_path: Path) -> None:
    source = write_csv(tmp_path, "latin.csv", "city,target\nMálaga,y\n".encode("latin-1"))
    with pytest.raises(DataSourceError) as caught:
        load_source(source)
    message = str(caught.value)
    assert message.startswith(f"data file '{source.path}': not valid utf-8 text (byte 13)")
    assert "encoding" in message


def test_semicolon_file_read_as_comma_names_the_separator(tmp_path: Path) -> None:
    source = write_csv(tmp_path, "semi.csv", b"age;city;target\n31;Oslo;y\n45;Rome;n\n")
    with pytest.raises(DataSourceError) as caught:
        load_source(source)
    assert str(caught.value) == (
        f"data file '{source.path}': found a single column 'age;city;target'; "
        "the separator is probably not ','"
    )


def test_duplicated_csv_header_is_named(tmp_path: Path) -> None:
    source = write_csv(tmp_path, "dup.csv", b"age,city,age,target\n1,a,2,y\n")
    with pytest.raises(
        DataSourceError, match=re.escape(f"data file '{source.path}': duplicated column name(s) age")
    ):
        load_source(source)


def test_ragged_csv_cannot_be_parsed(tmp_path: Path) -> None:
    source = write_csv(tmp_path, "ragged.csv", b"a,b\n1,2\n3,4,5,6\n")
    with pytest.raises(
        DataSourceError, match=re.escape(f"data file '{source.path}': cannot be parsed as CSV")
    ):
        load_source(source)


# --- source_for_path --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("data.csv", CsvSource(kind="csv", path=Path("data.csv"))),
        ("DATA.CSV", CsvSource(kind="csv", path=Path("DATA.CSV"))),
        ("data.txt", CsvSource(kind="csv", path=Path("data.txt"))),
        ("data.tsv", CsvSource(kind="csv", path=Path("data.tsv"))),
        ("data.parquet", ParquetSource(kind="parquet", path=Path("data.parquet"))),
        ("data.pq", ParquetSource(kind="parquet", path=Path("data.pq"))),
    ],
)
def test_source_for_path_by_suffix(name: str, expected: CsvSource | ParquetSource) -> None:
    assert source_for_path(Path(name)) == expected


@pytest.mark.parametrize(
    ("name", "configured", "expected"),
    [
        ("a.tsv", None, "\t"),
        ("A.TSV", None, "\t"),
        ("a.csv", None, ","),
        ("a.txt", None, ","),
        ("a.tsv", ";", ";"),
    ],
)
def test_separator_by_suffix_unless_configured(name: str, configured: str | None, expected: str) -> None:
    assert separator_for(name, configured) == expected


@pytest.mark.parametrize("by_reference", [False, True])
def test_a_tsv_file_given_as_data_is_read_with_tabs_whole_or_by_reference(
    tmp_path: Path, by_reference: bool
) -> None:
    path = tmp_path / "batch.tsv"
    SMALL_FRAME.to_csv(path, sep="\t", index=False)
    source = data_option_source(str(path), by_reference=by_reference)
    if by_reference:
        import fsspec

        from core.batches import list_batch, read_all

        fs = fsspec.filesystem("file")
        assert isinstance(source, FilesSource)
        frame = read_all(list_batch(source, fs), fs)
    else:
        frame = load_source(source)
    pd.testing.assert_frame_equal(frame, SMALL_FRAME, check_dtype=False)


def test_source_for_path_rejects_unknown_suffix() -> None:
    with pytest.raises(ConfigError) as caught:
        source_for_path(Path("data.xyz"))
    assert str(caught.value) == "--data data.xyz: unsupported file type '.xyz'; use .csv, .tsv or .parquet"


def test_source_for_path_rejects_missing_suffix() -> None:
    with pytest.raises(ConfigError, match=re.escape("unsupported file type '(none)'")):
        source_for_path(Path("data"))


def test_txt_file_loads_as_csv(tmp_path: Path) -> None:
    path = tmp_path / "people.txt"
    path.write_text("age,city,target\n31,Oslo,y\n45,Rome,n\n27,Lima,y\n", encoding="utf-8")
    pd.testing.assert_frame_equal(load_source(source_for_path(path)), SMALL_FRAME)


def test_tsv_file_loads_with_tab(tmp_path: Path) -> None:
    path = tmp_path / "people.tsv"
    path.write_text("age\tcity\ttarget\n31\tOslo\ty\n45\tRome\tn\n27\tLima\ty\n", encoding="utf-8")
    pd.testing.assert_frame_equal(load_source(source_for_path(path)), SMALL_FRAME)


# --- Parquet ------------------------------------------------------------------------------------------
def test_parquet_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "people.parquet"
    SMALL_FRAME.to_parquet(path)
    pd.testing.assert_frame_equal(load_source(ParquetSource(kind="parquet", path=path)), SMALL_FRAME)


def test_non_parquet_file_with_parquet_suffix(tmp_path: Path) -> None:
    path = tmp_path / "fake.parquet"
    path.write_text("age,target\n1,y\n", encoding="utf-8")
    with pytest.raises(DataSourceError, match=re.escape(f"data file '{path}': not a readable Parquet file")):
        load_source(source_for_path(path))


def test_empty_parquet_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    path.write_bytes(b"")
    with pytest.raises(DataSourceError, match=re.escape(f"data file '{path}': is empty")):
        load_source(ParquetSource(kind="parquet", path=path))


def test_parquet_without_rows(tmp_path: Path) -> None:
    path = tmp_path / "norows.parquet"
    SMALL_FRAME.iloc[:0].to_parquet(path)
    with pytest.raises(DataSourceError, match=re.escape(f"data file '{path}': has a header but no rows")):
        load_source(ParquetSource(kind="parquet", path=path))


def test_missing_parquet_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.parquet"
    with pytest.raises(DataSourceError, match=re.escape(f"data file '{path}': no such file")):
        load_source(ParquetSource(kind="parquet", path=path))


def test_duplicated_parquet_columns_are_named(tmp_path: Path) -> None:
    path = tmp_path / "dup.parquet"
    pq.write_table(pa.table([pa.array([1, 2]), pa.array([3, 4])], names=["age", "age"]), path)
    with pytest.raises(DataSourceError, match=re.escape("duplicated column name(s) age")):
        load_source(ParquetSource(kind="parquet", path=path))


def test_duplicated_parquet_columns_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "dup.parquet"
    pq.write_table(pa.table([pa.array([1, 2]), pa.array([3, 4])], names=["age", "age"]), path)
    with pytest.raises(DataSourceError, match=re.escape(f"data file '{path}'")):
        load_source(ParquetSource(kind="parquet", path=path))


# --- SQL --------------------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_dir(tmp_path: Path) -> Path:
    """A real SQLite file `x.db` holding the table `people`."""
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        SMALL_FRAME.to_sql("people", engine, index=False)
    finally:
        engine.dispose()
    return tmp_path


def test_sql_url_expands_env_reference(sqlite_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBDIR", str(sqlite_dir))
    source = SqlSource(kind="sql", url="sqlite:///$DBDIR/x.db", query="SELECT * FROM people ORDER BY rowid")
    pd.testing.assert_frame_equal(load_source(source), SMALL_FRAME)


def test_sql_query_with_filter(sqlite_dir: Path) -> None:
    source = SqlSource(
        kind="sql", url=f"sqlite:///{sqlite_dir / 'x.db'}", query="SELECT age FROM people WHERE target = 'y'"
    )
    assert sorted(load_source(source)["age"].tolist()) == [27, 31]


def test_failing_sql_query_names_source_and_reason(sqlite_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBDIR", str(sqlite_dir))
    source = SqlSource(kind="sql", url="sqlite:///$DBDIR/x.db", query="SELECT * FROM customers")
    with pytest.raises(DataSourceError) as caught:
        load_source(source)
    assert str(caught.value) == (
        "SQL source 'sqlite:///$DBDIR/x.db': query failed: no such table: customers; "
        "check the source's `query` and `params`"
    )


def test_sql_params_are_bound_not_pasted(sqlite_dir: Path) -> None:
    url = f"sqlite:///{sqlite_dir / 'x.db'}"
    query = "SELECT age FROM people WHERE target = :label AND age >= :youngest"
    chosen = SqlSource(kind="sql", url=url, query=query, params={"label": "y", "youngest": 30})
    injected = SqlSource(kind="sql", url=url, query=query, params={"label": "y' OR '1'='1", "youngest": 0})

    assert load_source(chosen)["age"].tolist() == [31]
    with pytest.raises(DataSourceError, match="has a header but no rows"):  # the quote is a value
        load_source(injected)


def test_sql_param_the_query_lacks_is_named(sqlite_dir: Path) -> None:
    source = SqlSource(
        kind="sql", url=f"sqlite:///{sqlite_dir / 'x.db'}", query="SELECT * FROM people", params={"limit": 5}
    )
    with pytest.raises(DataSourceError, match=re.escape("`params`: This text() construct doesn't define")):
        load_source(source)


def test_sql_url_with_an_unset_variable_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_PASSWORD", raising=False)
    source = SqlSource(kind="sql", url="postgresql+psycopg://u:$NO_SUCH_PASSWORD@db/app", query="SELECT 1")
    with pytest.raises(ConfigError) as caught:
        load_source(source)
    assert str(caught.value) == (
        "SQL source 'postgresql+psycopg://***@db/app': `url`: "
        "environment variable(s) NO_SUCH_PASSWORD not set"
    )


def test_sql_query_without_rows(sqlite_dir: Path) -> None:
    source = SqlSource(
        kind="sql", url=f"sqlite:///{sqlite_dir / 'x.db'}", query="SELECT * FROM people WHERE 0"
    )
    with pytest.raises(DataSourceError, match="has a header but no rows"):
        load_source(source)


def test_sql_unparseable_url() -> None:
    with pytest.raises(DataSourceError, match=re.escape("SQL source 'not a url': cannot use this URL")):
        load_source(SqlSource(kind="sql", url="not a url", query="SELECT 1"))


def test_sql_unknown_driver_hides_password() -> None:
    source = SqlSource(
        kind="sql", url="postgresql+nodriver://user:s3cret@db.example:5432/app", query="SELECT 1"
    )
    with pytest.raises(DataSourceError) as caught:
        load_source(source)
    message = str(caught.value)
    assert message.startswith(
        "SQL source 'postgresql+nodriver://***@db.example:5432/app': cannot use this URL"
    )
    assert "s3cret" not in message


def test_describe_sql_source_masks_the_account_written_or_from_a_variable() -> None:
    plain = SqlSource(kind="sql", url="postgresql://user:s3cret@db:5432/app", query="SELECT 1")
    referenced = SqlSource(kind="sql", url="postgresql://user:$PGPASSWORD@db:5432/app", query="SELECT 1")
    assert describe_source(plain) == "SQL source 'postgresql://***@db:5432/app'"
    assert describe_source(referenced) == "SQL source 'postgresql://***@db:5432/app'"


def test_describe_other_sources(tmp_path: Path) -> None:
    assert describe_source(DemoSource(kind="demo", name="wine")) == "demo data set 'wine'"
    assert (
        describe_source(CsvSource(kind="csv", path=tmp_path / "a.csv")) == f"data file '{tmp_path / 'a.csv'}'"
    )
    assert describe_source(ParquetSource(kind="parquet", path=Path("b.pq"))) == "data file 'b.pq'"
    assert describe_source(HttpSource(kind="http", url="https://h/x.csv")) == "URL 'https://h/x.csv'"


# --- HTTP -------------------------------------------------------------------------------------------------


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_root(tmp_path: Path) -> Path:
    root = tmp_path / "www"
    root.mkdir()
    return root


@pytest.fixture
def http_base(http_root: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving `http_root`; yields its base URL."""
    with serving(functools.partial(QuietHandler, directory=str(http_root))) as port:
        yield f"http://127.0.0.1:{port}"


def test_http_csv(http_root: Path, http_base: str) -> None:
    (http_root / "people.csv").write_text(
        "age,city,target\n31,Oslo,y\n45,Rome,n\n27,Lima,y\n", encoding="utf-8"
    )
    frame = load_source(HttpSource(kind="http", url=f"{http_base}/people.csv", timeout_seconds=5))
    pd.testing.assert_frame_equal(frame, SMALL_FRAME)


def test_http_parquet_by_suffix(http_root: Path, http_base: str) -> None:
    SMALL_FRAME.to_parquet(http_root / "people.parquet")
    frame = load_source(
        HttpSource(kind="http", url=f"{http_base}/people.parquet?version=2", timeout_seconds=5)
    )
    pd.testing.assert_frame_equal(frame, SMALL_FRAME)


def test_http_explicit_parquet_format(http_root: Path, http_base: str) -> None:
    SMALL_FRAME.to_parquet(http_root / "people.bin")
    source = HttpSource(kind="http", url=f"{http_base}/people.bin", format="parquet", timeout_seconds=5)
    pd.testing.assert_frame_equal(load_source(source), SMALL_FRAME)


def test_http_csv_served_as_parquet_is_named(http_root: Path, http_base: str) -> None:
    (http_root / "people.csv").write_text("age,target\n1,y\n", encoding="utf-8")
    url = f"{http_base}/people.csv"
    with pytest.raises(DataSourceError, match=re.escape(f"URL '{url}': not a readable Parquet file")):
        load_source(HttpSource(kind="http", url=url, format="parquet", timeout_seconds=5))


def test_http_404_names_url(http_base: str) -> None:
    url = f"{http_base}/missing.csv"
    with pytest.raises(DataSourceError) as caught:
        load_source(HttpSource(kind="http", url=url, timeout_seconds=5))
    assert str(caught.value) == f"URL '{url}': HTTP 404"


def test_http_empty_body(http_root: Path, http_base: str) -> None:
    (http_root / "empty.csv").write_bytes(b"")
    url = f"{http_base}/empty.csv"
    with pytest.raises(DataSourceError, match=re.escape(f"URL '{url}': is empty")):
        load_source(HttpSource(kind="http", url=url, timeout_seconds=5))


def test_http_semicolon_csv_names_url(http_root: Path, http_base: str) -> None:
    (http_root / "semi.csv").write_text("age;target\n1;y\n2;n\n", encoding="utf-8")
    url = f"{http_base}/semi.csv"
    with pytest.raises(DataSourceError, match=re.escape(f"URL '{url}': found a single column 'age;target'")):
        load_source(HttpSource(kind="http", url=url, timeout_seconds=5))


def test_http_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/data.csv"
    with pytest.raises(DataSourceError) as caught:
        load_source(HttpSource(kind="http", url=url, timeout_seconds=2))
    assert str(caught.value) == f"URL '{url}': download failed: ConnectionError"


# --- Streams (read by the ingest step; on a real Redis in tests/integration/test_databases.py) ----------


def test_stream_source_takes_redis_urls_only_and_load_source_leaves_it_to_the_ingest_step() -> None:
    with pytest.raises(ValidationError, match="must start with redis:// or rediss://"):
        StreamSource(kind="stream", url="kafka://broker:9092", stream="events")
    source = StreamSource(kind="stream", url="redis://:s3cret@cache:6379/0", stream="events")

    assert describe_source(source) == "stream 'events' on 'redis://***@cache:6379/0'"
    with pytest.raises(ConfigError, match="read by the ingest step"):
        load_source(source)


def test_a_stream_sources_dead_letter_stream_is_named_after_it_unless_configured() -> None:
    source = StreamSource(kind="stream", url="redis://cache:6379/0", stream="events")

    assert (source.dead_letter_stream(), source.max_deliveries, source.reclaim_after_seconds) == (
        "events:dead-letter",
        3,
        3600.0,
    )
    assert source.model_copy(update={"dead_letter": "quarantine"}).dead_letter_stream() == "quarantine"
    with pytest.raises(ValidationError, match="max_deliveries"):
        StreamSource(kind="stream", url="redis://cache:6379/0", stream="events", max_deliveries=0)
