"""Read a configured data source into a DataFrame, with errors that name the file, URL or query."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Annotated, Any, Literal

import pandas as pd
from pydantic import Field, field_validator, model_validator

from core.env_vars import CredentialField, expand_variables
from core.errors import ConfigError, DataSourceError
from core.redaction import redact_text, redact_url
from core.types import CAPTURE_STREAM, StrictModel

# `kind` has no default on purpose: ZenML stores parameters without their defaults, and the union
# below needs `kind` to tell the sources apart when it reads them back.


class DemoSource(StrictModel):
    """A data set that ships with scikit-learn, so the template trains offline."""

    kind: Literal["demo"]
    name: Literal["breast_cancer", "iris", "wine"] = "breast_cancer"
    """Which scikit-learn data set."""


class CsvSource(StrictModel):
    """A CSV (or TSV) file."""

    kind: Literal["csv"]
    path: Path
    """The file, relative to the working directory or absolute."""
    separator: str | None = None
    """The CSV's column separator; none: a tab for a .tsv file, else a comma."""
    encoding: str = "utf-8"
    """The file's text encoding."""


class ParquetSource(StrictModel):
    """A Parquet file."""

    kind: Literal["parquet"]
    path: Path
    """The file, relative to the working directory or absolute."""


class FilesSource(StrictModel):
    """A file or a folder of Parquet or CSV files, on local disk or at a URI (s3://, gs://, az://,
    through the stack's artifact store credentials, else fsspec's own). Batch inference reads it
    chunk by chunk, so a batch may be larger than memory; names starting with `_` or `.` (such as
    `_SUCCESS`) are skipped. Read through `core.batches` (the steps give it the filesystem with the
    stack's credentials); `load_source` refuses it."""

    kind: Literal["files"]
    uri: CredentialField
    """The file or folder: a path, or a URI such as s3://bucket/batches/2026-12-01/ (`$VAR` read when
    used)."""
    format: Literal["auto", "parquet", "csv"] = "auto"
    """`auto` goes by the files' suffixes (.parquet/.pq, .csv/.tsv/.txt); one format per batch."""
    separator: str | None = None
    """The CSV files' column separator; none: a tab for .tsv files, else a comma."""
    encoding: str = "utf-8"
    """The CSV files' text encoding."""

    def location(self) -> str:
        """The URI with its `$VARS` read from the environment: what is opened, never what is shown."""
        return expand_variables(self.uri, f"{describe_source(self)}: `uri`")


SqlValue = str | int | float | bool | None


class SqlSource(StrictModel):
    """A query through SQLAlchemy. The password comes from the environment (`$VAR` in the URL, read
    when the query runs) or from a ZenML secret (`secret`), never from the config file.

    Write `$PGPASSWORD`, not the braced form, which ZenML would substitute into the stored config.
    """

    kind: Literal["sql"]
    url: CredentialField
    """SQLAlchemy URL, e.g. postgresql+psycopg://reader:$PGPASSWORD@db.example.com/sales
    (mysql+pymysql://... for MySQL and MariaDB)."""
    query: str
    """The SQL query whose rows are the data; `:name` marks a parameter."""
    params: dict[str, SqlValue] = Field(default_factory=dict)
    """Values of the query's `:name` parameters, bound by the driver, never pasted into the SQL."""
    secret: str | None = None
    """A ZenML secret whose `username` and `password` replace the URL's (`servers up` stores
    `local_postgres` and `local_mysql`)."""


class HttpSource(StrictModel):
    """A CSV or Parquet file behind an HTTP(S) URL; `format: auto` goes by the URL's suffix."""

    kind: Literal["http"]
    url: CredentialField
    """An http:// or https:// URL of the file (`$VAR` read when used, e.g. https://host/f.csv?token=$TOKEN)."""
    format: Literal["auto", "csv", "parquet"] = "auto"
    """`auto` goes by the URL's suffix."""
    timeout_seconds: float = Field(default=60.0, gt=0)
    """Longest the whole download may take: connecting, redirects and the body."""
    max_bytes: int = Field(default=1 << 30, gt=0)
    """Largest body accepted (1 GiB by default), as sent and as decoded."""
    max_compression_ratio: float = Field(default=100.0, gt=1)
    """A compressed body (`Content-Encoding: gzip`...) may decode to at most this many times its size;
    beyond, it is refused as a decompression bomb."""
    redirect_hosts: list[str] = Field(default_factory=list)
    """Hosts a redirect may lead to besides the URL's own (e.g. a CDN); a redirect elsewhere fails."""

    @field_validator("url")
    @classmethod
    def _http_only(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url


class DvcSource(StrictModel):
    """A file versioned with DVC in a Git repository, read at a revision with DVC's own API (the
    `dvc` extra): from the repository's DVC cache, else from its remote. The run records the
    revision's commit and the file's hash."""

    kind: Literal["dvc"]
    repo: CredentialField
    """The repository: a local path or a Git URL (`$VAR` read when used, e.g. https://$GIT_TOKEN@host/r.git)."""
    path: str
    """The file inside the repository (.csv, .tsv or .parquet), as `dvc add` tracked it."""
    rev: str
    """A tag, branch or commit."""
    remote: str | None = None
    """A DVC remote of the repository to read from, instead of its default."""


class ConsumerGroupReading(StrictModel):
    """How a run reads a stream through a consumer group, the same for every kind of stream: up to
    `max_records`, or what arrived until the stream has been idle for `idle_seconds`. Each run reads
    as a consumer of its own, and what it read is acknowledged only after the whole run succeeded;
    what a failed or killed run read is taken over by a later run once it has waited
    `reclaim_after_seconds`. An entry that cannot be parsed, or that `max_deliveries` runs read
    without succeeding, goes to the dead letter with its reason. Only the ingest step can read a
    stream (it needs the stream's client); `load_source` refuses it."""

    group: str = "mlops-template"
    """The consumer group: each group reads every entry once."""
    consumer: str = "mlops-template"
    """The prefix of each run's consumer name in the group (PREFIX-HOST-PID-RANDOM)."""
    max_records: int = Field(default=10_000, gt=0)
    """Most records one run reads."""
    idle_seconds: float = Field(default=2.0, gt=0)
    """Stop reading once no new entry has arrived for this long."""
    reclaim_after_seconds: float = Field(default=3600.0, gt=0)
    """A run's unacknowledged entries are taken over by a later run after this long: longer than
    your longest run, or a slow run's entries are read twice."""
    max_deliveries: int = Field(default=3, gt=0)
    """An entry read by this many runs, none of which succeeded, goes to the dead letter."""
    secret: str | None = None
    """A ZenML secret whose `password` (and `username`) are the account (`servers up` stores
    `local_redis`; its Kafka broker asks for none)."""


class StreamSource(ConsumerGroupReading):
    """Records from Redis Streams (`redis://`); each entry holds one record as a JSON object in
    `field`. See `ConsumerGroupReading` for how runs share it."""

    kind: Literal["stream"]
    url: CredentialField
    """The stream server, e.g. redis://:$REDIS_PASSWORD@127.0.0.1:6380/0 (`$VAR` read when used)."""
    stream: str
    """The stream's name (its key)."""
    field: str = "record"
    """The entry field holding the record's JSON object."""
    dead_letter: str | None = None
    """The dead-letter stream; `<stream>:dead-letter` when not set."""

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if not url.startswith(cls.url_schemes()):
            raise ValueError(f"must start with {' or '.join(cls.url_schemes())}")
        return url

    @classmethod
    def url_schemes(cls) -> tuple[str, ...]:
        return ("redis://", "rediss://")

    def dead_letter_stream(self) -> str:
        return self.dead_letter or f"{self.stream}:dead-letter"


class CapturedSource(StreamSource):
    """What the endpoint answered: the requests it captured (`capture_url` of the stack's MLServer
    deployer) to a Redis stream or a Kafka topic (`kafka://HOST:PORT[,HOST:PORT]`), read as a
    window through a consumer group like any stream, one row per request row, joined with the labels
    that have arrived for them (keyed by `<request id>/<row>`, stored by `python run.py labels` in a
    Redis hash or a Kafka topic). Rows without a label yet feed the drift check; labeled ones also
    the quality check and retraining."""

    kind: Literal["captured"]  # type: ignore[assignment]
    max_records: int = Field(default=500, gt=0)
    """Most stream entries one run reads: the endpoint writes up to 50 requests to an entry."""
    stream: str = CAPTURE_STREAM
    """The stream or topic the endpoint captures to (the deployer's `capture_stream`)."""
    labels: str | None = None
    """Where labels are kept by request: `<stream>:labels` (a Redis hash) or `<stream>.labels` (a
    Kafka topic) when not set."""

    @classmethod
    def url_schemes(cls) -> tuple[str, ...]:
        return ("redis://", "rediss://", "kafka://")

    @property
    def on_kafka(self) -> bool:
        return self.url.startswith("kafka://")

    def labels_key(self) -> str:
        return self.labels or f"{self.stream}{'.' if self.on_kafka else ':'}labels"

    def dead_letter_stream(self) -> str:
        return self.dead_letter or f"{self.stream}{'.' if self.on_kafka else ':'}dead-letter"

    def as_kafka(self) -> KafkaSource:
        """The topic of captures as a Kafka source, read as any Kafka source is."""
        shared = self.model_dump(include=set(ConsumerGroupReading.model_fields))
        brokers = self.url.removeprefix("kafka://").rstrip("/")
        return KafkaSource(
            kind="kafka", brokers=brokers, topic=self.stream, dead_letter=self.dead_letter_stream(), **shared
        )


KAFKA_NAME = re.compile(r"[A-Za-z0-9._-]+")


class KafkaSource(ConsumerGroupReading):
    """Records from a Kafka topic (Apache Kafka, Confluent, MSK, Redpanda: any broker that speaks
    the Kafka protocol), through `confluent-kafka` (the `kafka` extra); each message's value is one
    record as a JSON object. See `ConsumerGroupReading` for how runs share it."""

    kind: Literal["kafka"]
    brokers: str
    """The bootstrap servers, host:port[,host:port...]."""
    topic: str
    """The topic to read."""
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    """How the client talks to the brokers; SASL_* take the account from `secret`."""
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    """The SASL mechanism, for the SASL_* protocols."""
    dead_letter: str | None = None
    """The dead-letter topic; `<topic>.dead-letter` when not set."""

    @field_validator("topic", "group", "dead_letter")
    @classmethod
    def _topic_name(cls, name: str | None) -> str | None:
        if name is not None and not KAFKA_NAME.fullmatch(name):
            raise ValueError(
                "use letters, digits, '.', '_' and '-' only (a Kafka topic name, or part of the claims "
                "topic's: <topic>.<group>.claims)"
            )
        return name

    @model_validator(mode="after")
    def _account_for_sasl(self) -> KafkaSource:
        if self.security_protocol.startswith("SASL") and self.secret is None:
            raise ValueError(
                f"security_protocol {self.security_protocol} needs `secret`: a ZenML secret with the "
                "account's username and password"
            )
        return self

    def dead_letter_stream(self) -> str:
        return self.dead_letter or f"{self.topic}.dead-letter"

    def claims_topic(self) -> str:
        """Where runs record which offsets each holds (Kafka keeps no per-entry pending list)."""
        return f"{self.topic}.{self.group}.claims"


StreamKind = StreamSource | KafkaSource
"""The sources read through a consumer group and acknowledged after the run succeeded."""


class ArtifactsSource(StrictModel):
    """Data frames stored as ZenML artifact versions, stacked: how continuous training hands the
    reference data plus the new batch to the training pipeline, with lineage, on any stack.

    Only the ingest step can read it (it needs the ZenML store); `load_source` refuses it.
    """

    kind: Literal["artifacts"]
    ids: list[str] = Field(min_length=1)
    """ZenML artifact version ids of data frames, stacked in order."""


Source = Annotated[
    DemoSource
    | CsvSource
    | ParquetSource
    | FilesSource
    | SqlSource
    | HttpSource
    | DvcSource
    | StreamSource
    | KafkaSource
    | CapturedSource
    | ArtifactsSource,
    Field(discriminator="kind"),
]


class DataConfig(StrictModel):
    """Where a pipeline reads its rows; `target`, the label column, passes through batch inference."""

    source: Source
    """Where the rows come from; `kind` picks the source: demo, csv, parquet, files, sql, http,
    dvc, stream, kafka, captured (`--data PATH` replaces it)."""
    target: str | None = None
    """The label column; batch inference passes it through when the batch has it."""


class LabeledDataConfig(DataConfig):
    """Data to learn from: the label column is required."""

    target: str
    """The label column (`--target` replaces it)."""


PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")


def separator_for(name: str | Path, separator: str | None) -> str:
    """A CSV file's column separator: the configured one, else a tab for .tsv and a comma otherwise."""
    if separator is not None:
        return separator
    return "\t" if str(name).lower().endswith(".tsv") else ","


def source_for_path(path: Path) -> CsvSource | ParquetSource:
    """The source of one file, chosen by its suffix."""
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return ParquetSource(kind="parquet", path=path)
    if suffix in CSV_SUFFIXES:
        return CsvSource(kind="csv", path=path)
    raise ConfigError(
        f"--data {path}: unsupported file type '{suffix or '(none)'}'; use .csv, .tsv or .parquet"
    )


def data_option_source(data: str, by_reference: bool) -> Source:
    """What `--data` stands for. Read whole (training, continuous training): one existing CSV, TSV or
    Parquet file. Read by reference, chunk by chunk (batch inference): also a folder of them or a
    URI (s3://, gs://, az://)."""
    if by_reference:
        return FilesSource(kind="files", uri=data)
    path = Path(data)
    if not path.is_file():
        raise ConfigError(f"--data: data file '{path}': no such file")
    return source_for_path(path)


def describe_source(source: Source) -> str:
    """A short human name of the source for messages and metadata: its URLs as configured (`$VARS`
    unexpanded) and redacted, so no credential shows."""
    match source:
        case DemoSource(name=name):
            return f"demo data set '{name}'"
        case CsvSource(path=path) | ParquetSource(path=path):
            return f"data file '{path}'"
        case FilesSource(uri=uri):
            return f"data '{redact_url(uri)}'"
        case SqlSource(url=url):
            return f"SQL source '{redact_url(url)}'"
        case CapturedSource(url=url, stream=stream):
            return f"captured requests '{stream}' on '{redact_url(url)}'"
        case StreamSource(url=url, stream=stream):
            return f"stream '{stream}' on '{redact_url(url)}'"
        case KafkaSource(brokers=brokers, topic=topic):
            return f"Kafka topic '{topic}' on '{brokers}'"
        case HttpSource(url=url):
            return f"URL '{redact_url(url)}'"
        case DvcSource(repo=repo, path=path, rev=rev):
            return f"DVC file '{path}' at '{rev}' of '{redact_url(repo)}'"
        case ArtifactsSource(ids=ids):
            return f"ZenML artifact version(s) {', '.join(ids)}"
    raise AssertionError(source)


@dataclass(frozen=True)
class Login:
    """A database account from a secret store, for a source whose config names none."""

    username: str | None
    password: str | None


def load_source(source: Source, login: Login | None = None) -> pd.DataFrame:
    """Load the whole data set; raises `DataSourceError` with the source's name on any failure.
    `login` (a SQL source's `secret`, looked up by the caller) replaces the URL's account."""
    match source:
        case DemoSource():
            frame = _load_demo(source)
        case CsvSource():
            frame = _read_csv_file(source)
        case ParquetSource():
            frame = _read_parquet_file(source.path)
        case SqlSource():
            frame = _read_sql(source, login)
        case HttpSource():
            frame = _read_http(source)
        case DvcSource():
            frame = read_dvc(source).frame
        case StreamSource() | KafkaSource() | ArtifactsSource() | FilesSource():
            raise ConfigError(f"{describe_source(source)}: read by the ingest step, not `load_source`")
    check_frame(frame, source)
    return frame


def check_frame(frame: pd.DataFrame, source: Source) -> None:
    """What every source must give: unique column names and at least one row."""
    if frame.columns.duplicated().any():
        duplicated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise DataSourceError(f"{describe_source(source)}: duplicated column name(s) {', '.join(duplicated)}")
    if frame.empty:
        raise DataSourceError(f"{describe_source(source)}: has a header but no rows")


def _load_demo(source: DemoSource) -> pd.DataFrame:
    from sklearn import datasets

    loader = {
        "breast_cancer": datasets.load_breast_cancer,
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
    }[source.name]
    frame: pd.DataFrame = loader(as_frame=True).frame
    return frame


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DataSourceError(f"data file '{path}': no such file")
    if not path.is_file():
        raise DataSourceError(f"data file '{path}': not a regular file")
    if not os.access(path, os.R_OK):
        raise DataSourceError(f"data file '{path}': not readable (permission denied)")
    if path.stat().st_size == 0:
        raise DataSourceError(f"data file '{path}': is empty")


def _read_csv_file(source: CsvSource) -> pd.DataFrame:
    _check_file(source.path)
    with source.path.open("rb") as handle:
        separator = separator_for(source.path, source.separator)
        return _parse_csv(handle, separator, source.encoding, f"data file '{source.path}'")


def _parse_csv(handle: IO[bytes], separator: str, encoding: str, label: str) -> pd.DataFrame:
    """Parse CSV bytes; pandas renames duplicated headers, so they are checked on the raw header."""
    raw = handle.read()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise DataSourceError(
            f"{label}: not valid {encoding} text (byte {error.start}); "
            "set the source's `encoding` to the file's encoding"
        ) from None
    check_csv_header(text, separator, label)
    try:
        return pd.read_csv(io.StringIO(text), sep=separator)
    except pd.errors.ParserError as error:
        raise DataSourceError(f"{label}: cannot be parsed as CSV: {error}") from None


def check_csv_header(text: str, separator: str, label: str) -> list[str]:
    """The header row of CSV `text` (the file's first line will do): present, split by `separator`,
    every name once (pandas would rename a duplicate without a word)."""
    header = next(csv.reader(io.StringIO(text), delimiter=separator), [])
    if not any(cell.strip() for cell in header):
        raise DataSourceError(f"{label}: is empty (no header row)")
    if len(header) == 1 and any(mark in header[0] for mark in ";\t|,".replace(separator, "")):
        raise DataSourceError(
            f"{label}: found a single column '{header[0]}'; the separator is probably not '{separator}'"
        )
    check_unique_columns(header, label)
    return header


def check_unique_columns(names: list[str], label: str) -> None:
    duplicated = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicated:
        raise DataSourceError(f"{label}: duplicated column name(s) {', '.join(duplicated)}")


def _read_parquet_file(path: Path) -> pd.DataFrame:
    _check_file(path)
    return _parse_parquet(path, f"data file '{path}'")


def _parse_parquet(data: Path | IO[bytes], label: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(data)
        check_unique_columns(parquet.schema_arrow.names, label)
        frame: pd.DataFrame = parquet.read().to_pandas()
    except (pa.ArrowException, OSError) as error:
        raise DataSourceError(f"{label}: not a readable Parquet file ({error})") from None
    return frame


def _read_sql(source: SqlSource, login: Login | None) -> pd.DataFrame:
    import sqlalchemy
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    label = describe_source(source)
    expanded = expand_variables(source.url, f"{label}: `url`")
    try:
        url = make_url(expanded)
        if login is not None:
            url = url.set(username=login.username or url.username, password=login.password or url.password)
        engine = sqlalchemy.create_engine(url)
    except (ArgumentError, ImportError, ValueError) as error:
        raise DataSourceError(f"{label}: cannot use this URL: {redact_text(str(error), expanded)}") from None
    used = url.render_as_string(hide_password=False)

    def reason(error: SQLAlchemyError) -> str:
        return redact_text(str(getattr(error, "orig", None) or error).strip().splitlines()[0], used)

    try:
        query = sqlalchemy.text(source.query).bindparams(**source.params)
    except ArgumentError as error:  # a parameter the query does not have
        engine.dispose()
        raise DataSourceError(f"{label}: `params`: {error}") from None
    try:
        connection = engine.connect()
    except SQLAlchemyError as error:
        engine.dispose()
        raise DataSourceError(
            f"{label}: cannot connect: {reason(error)}; check that the server is up and the account "
            "(the URL, its $VARIABLES or the source's `secret`)"
        ) from None
    try:
        frame = pd.read_sql_query(query, connection)
    except SQLAlchemyError as error:
        raise DataSourceError(
            f"{label}: query failed: {reason(error)}; check the source's `query` and `params`"
        ) from None
    finally:
        connection.close()
        engine.dispose()
    return frame


def _read_http(source: HttpSource) -> pd.DataFrame:
    import requests

    label = describe_source(source)
    url = expand_variables(source.url, f"{label}: `url`")
    deadline = time.monotonic() + source.timeout_seconds
    try:
        response = requests.get(
            url,
            timeout=source.timeout_seconds,
            stream=True,
            hooks={"response": _response_guard(source, url, label, deadline)},
        )
        with response:
            response.raise_for_status()
            payload = _download(response, source, label, deadline)
    except requests.HTTPError as error:
        raise DataSourceError(f"{label}: HTTP {error.response.status_code}") from None
    except requests.RequestException as error:
        raise DataSourceError(f"{label}: download failed: {type(error).__name__}") from None
    if not payload:
        raise DataSourceError(f"{label}: is empty")
    fmt = source.format
    if fmt == "auto":
        path = source.url.split("?", 1)[0].lower()
        fmt = "parquet" if path.endswith(PARQUET_SUFFIXES) else "csv"
    if fmt == "parquet":
        return _parse_parquet(io.BytesIO(payload), label)
    return _parse_csv(io.BytesIO(payload), ",", "utf-8", label)


@dataclass(frozen=True)
class DvcRead:
    """A DVC-versioned file's rows and which version of it they are."""

    frame: pd.DataFrame
    commit: str
    md5: str | None

    def lineage(self, source: DvcSource) -> dict[str, Any]:
        return {
            "repo": redact_url(source.repo),
            "path": source.path,
            "rev": source.rev,
            "commit": self.commit,
            "md5": self.md5,
        }


def read_dvc(source: DvcSource) -> DvcRead:
    """Read the file at the source's revision; errors name the repository, path and revision."""
    label = describe_source(source)
    suffix = PurePosixPath(source.path).suffix.lower()
    if suffix not in PARQUET_SUFFIXES + CSV_SUFFIXES:
        raise DataSourceError(
            f"{label}: unsupported file type '{suffix or '(none)'}'; use .csv, .tsv or .parquet"
        )
    try:
        from dvc.api import DVCFileSystem
        from dvc.exceptions import DvcException, PathMissingError
        from dvc.repo.open_repo import clean_repos
        from dvc.scm import RevError
    except ImportError:
        raise DataSourceError(f"{label}: needs DVC: bash scripts/setup.sh dvc") from None
    repo = expand_variables(source.repo, f"{label}: `repo`")
    try:
        fs = DVCFileSystem(repo, rev=source.rev, remote=source.remote)
        commit = str(fs.repo.get_rev())
        md5 = fs.info(source.path).get("md5")
        payload = fs.read_bytes(source.path)
    except RevError:
        raise DataSourceError(f"{label}: no revision '{source.rev}' in the repository; check `rev`") from None
    except (PathMissingError, FileNotFoundError):
        raise DataSourceError(f"{label}: no file '{source.path}' at '{source.rev}'; check `path`") from None
    except DvcException as error:  # a failed clone's cause says which URL and why
        raise DataSourceError(f"{label}: {redact_text(str(error.__cause__ or error), repo)}") from None
    finally:
        clean_repos()  # DVC's temporary clone of a URL keeps the URL, token included, in its Git config
    if not payload:
        raise DataSourceError(f"{label}: is empty")
    parsed_as = source_for_path(Path(source.path))  # its suffix was checked above
    if isinstance(parsed_as, ParquetSource):
        frame = _parse_parquet(io.BytesIO(payload), label)
    else:
        separator = separator_for(source.path, None)
        frame = _parse_csv(io.BytesIO(payload), separator, parsed_as.encoding, label)
    return DvcRead(frame=frame, commit=commit, md5=None if md5 is None else str(md5))


HTTP_CHUNK_BYTES = 1 << 16
RATIO_FREE_BYTES = 1 << 20
"""Decoded bytes up to which a compressed body's ratio is not checked: a small body's says little."""


def _response_guard(source: HttpSource, url: str, label: str, deadline: float) -> Callable[..., None]:
    """A requests hook, run on each response (redirects too) before requests acts on it: the
    deadline holds across redirects, and a redirect may leave `url`'s host only for `redirect_hosts`,
    so a source cannot be turned into a request to any host the server names."""
    from urllib.parse import urljoin, urlsplit

    allowed = {urlsplit(url).hostname, *(host.lower() for host in source.redirect_hosts)}

    def guard(response: Any, *args: Any, **kwargs: Any) -> None:
        if time.monotonic() > deadline:
            response.close()
            raise _too_slow(source, label)
        if response.is_redirect:
            host = urlsplit(urljoin(response.url, response.headers["location"])).hostname
            if host not in allowed:
                response.close()
                raise DataSourceError(
                    f"{label}: redirected to another host, '{host}'; list it in the source's "
                    "`redirect_hosts` to follow it"
                )

    return guard


def _download(response: Any, source: HttpSource, label: str, deadline: float) -> bytes:
    """Stream the body within the source's limits, with a rich progress bar when its size is known.

    A read's timeout starts again with every byte, so a server sending a byte now and then could hold
    it for ever: at the deadline a watchdog shuts the socket down instead. urllib3 decodes a
    compressed body a chunk at a time, so a decompression bomb is refused after one chunk.
    """
    import requests
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    declared = int(response.headers.get("content-length") or 0) or None
    if declared is not None and declared > source.max_bytes:
        raise _too_large(source, label)
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        with contextlib.suppress(ValueError, RuntimeError, OSError):  # the body may be complete
            response.raw.shutdown()

    watchdog = threading.Timer(max(deadline - time.monotonic(), 0.0), expire)
    watchdog.start()
    chunks: list[bytes] = []
    size = 0
    try:
        with Progress(
            *Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(), transient=True
        ) as progress:
            task = progress.add_task(f"Downloading {label}", total=declared)
            for chunk in response.iter_content(chunk_size=HTTP_CHUNK_BYTES):
                size, received = size + len(chunk), response.raw.tell()  # decoded, and as sent
                if size > source.max_bytes:
                    raise _too_large(source, label)
                if size > RATIO_FREE_BYTES and size > source.max_compression_ratio * received:
                    raise DataSourceError(
                        f"{label}: its {response.headers.get('content-encoding')} encoding expands it over "
                        f"max_compression_ratio ({source.max_compression_ratio:g} times); refused as a "
                        "decompression bomb"
                    )
                chunks.append(chunk)
                progress.update(task, completed=received)
    except requests.RequestException:
        if not expired.is_set():
            raise
    finally:
        watchdog.cancel()
    if expired.is_set():
        raise _too_slow(source, label)
    return b"".join(chunks)


def _too_large(source: HttpSource, label: str) -> DataSourceError:
    return DataSourceError(
        f"{label}: larger than max_bytes ({source.max_bytes:,} bytes); raise the source's `max_bytes` "
        "if the file is meant to be this large"
    )


def _too_slow(source: HttpSource, label: str) -> DataSourceError:
    return DataSourceError(
        f"{label}: the download took longer than timeout_seconds ({source.timeout_seconds:g} s)"
    )
