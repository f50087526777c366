"""A batch by reference: a file or a folder of Parquet or CSV files on any fsspec filesystem (local
disk, s3://, gs://, az://), listed and checked from the files' headers, then read chunk by chunk as
Arrow record batches, so the memory a batch needs does not grow with its size.

Every error names the file, and where it can the rows and the column.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from core.errors import DataSourceError
from core.redaction import redact_url
from core.sources import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    FilesSource,
    check_csv_header,
    check_unique_columns,
    describe_source,
    separator_for,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from fsspec import AbstractFileSystem

    from core.validation import FeatureSchema

FileFormat = Literal["parquet", "csv"]
CSV_BLOCK_BYTES = 16 << 20
PARQUET_BUFFER_BYTES = 1 << 20
# pyarrow's streaming CSV reader says which column failed, not which row.
CSV_CONVERSION = re.compile(r"In CSV column #(\d+): CSV conversion error to (\w+): invalid value '(.*)'")
ARROW_TYPE_WORDING = {"double": "float64", "bool": "boolean"}


@dataclass(frozen=True)
class BatchFile:
    """One file of a batch, as listed: nothing of its data has been read."""

    path: str
    """Its full name, with the URI scheme."""
    size: int
    version: str
    """fsspec's key of the file's properties (modification time, ETag): it changes with the file."""
    rows: int | None
    """From the Parquet footer; unknown for CSV until it is read."""


@dataclass(frozen=True)
class BatchFiles:
    """The files of a batch, with the columns they all have."""

    uri: str
    """As opened (its `$VARS` expanded): recorded only through `reference`, redacted."""
    format: FileFormat
    files: tuple[BatchFile, ...]
    columns: tuple[str, ...]
    separator: str = ","
    encoding: str = "utf-8"

    @property
    def fingerprint(self) -> str:
        """sha256 of each file's name (relative to the URI), size and version key: the same files,
        unchanged, give the same fingerprint, and nothing has to be read to know it."""
        root = self.uri.rstrip("/")
        listed = [[file.path.removeprefix(root).lstrip("/"), file.size, file.version] for file in self.files]
        return hashlib.sha256(json.dumps([self.format, listed]).encode()).hexdigest()

    def reference(self) -> dict[str, Any]:
        """What identifies the batch in a run's metadata and artifacts."""
        rows = [file.rows for file in self.files]
        return {
            "uri": redact_url(self.uri),
            "format": self.format,
            "files": len(self.files),
            "bytes": sum(file.size for file in self.files),
            "rows": None if None in rows else sum(row for row in rows if row is not None),
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True)
class Chunk:
    """Consecutive rows of one file of a batch."""

    frame: pd.DataFrame
    file_index: int
    file: str
    first_row: int
    """1-based, within the file."""
    row_group: int | None = None

    @property
    def where(self) -> str:
        """The file and rows, for messages: `part-3.parquet, rows 6,000,001-6,100,000 (row group 60)`."""
        last = self.first_row + len(self.frame) - 1
        group = "" if self.row_group is None else f" (row group {self.row_group})"
        return f"{self.file}, rows {self.first_row:,}-{last:,}{group}"


def list_batch(source: FilesSource, fs: AbstractFileSystem) -> BatchFiles:
    """The batch's files, each checked from its header: readable, of one format, and with the same
    columns (and, for Parquet, the same types) as the first."""
    label = describe_source(source)
    uri = source.location()
    root = fs._strip_protocol(uri)
    try:
        if fs.isdir(root):
            found = fs.find(root, detail=True)
            infos = [found[path] for path in sorted(found) if not _skipped(path, root)]
        else:
            infos = [fs.info(root)]
    except FileNotFoundError:
        raise DataSourceError(f"{label}: no such file or folder") from None
    except Exception as error:  # each filesystem raises its own errors; all mean the same here
        raise DataSourceError(
            f"{label}: cannot be listed: {_first_line(error)}; check the URI and its credentials "
            "(the active stack's artifact store, or the environment)"
        ) from None
    if not infos:
        raise DataSourceError(f"{label}: the folder holds no data files")
    fmt = _format_of(source, [str(info["name"]) for info in infos])
    separator = separator_for(str(infos[0]["name"]), source.separator)  # one per batch, as the format
    files, columns = [], None
    for info in infos:
        path = _full_name(fs, str(info["name"]))
        if int(info.get("size") or 0) == 0:
            raise DataSourceError(f"{path}: is empty")
        names, types, rows = (
            _parquet_header(fs, path)
            if fmt == "parquet"
            else _csv_header(fs, path, separator, source.encoding)
        )
        if columns is None:
            columns, first_types, first_path = names, types, path
        else:
            _check_same_columns(path, names, types, first_path, columns, first_types)
        files.append(
            BatchFile(path=path, size=int(info["size"]), version=str(fs.ukey(info["name"])), rows=rows)
        )
    assert columns is not None
    return BatchFiles(
        uri=uri,
        format=fmt,
        files=tuple(files),
        columns=tuple(columns),
        separator=separator,
        encoding=source.encoding,
    )


def arrow_types(schema: FeatureSchema) -> dict[str, pa.DataType]:
    """The Arrow type each feature is read as from CSV: the same in every block of every file, so a
    value that does not fit is an error at its block, not a silent change of type."""
    import pyarrow as pa

    by_kind = {
        "numeric": pa.float64(),
        "integer": pa.float64(),
        "boolean": pa.bool_(),
        "categorical": pa.string(),
    }
    return {name: by_kind[kind] for name, kind in schema.columns.items()}


def read_chunks(
    batch: BatchFiles, fs: AbstractFileSystem, rows: int, csv_types: dict[str, pa.DataType] | None = None
) -> Iterator[Chunk]:
    """The batch's rows, file by file, about `rows` at a time (CSV in blocks of its bytes)."""
    for index, file in enumerate(batch.files):
        if batch.format == "parquet":
            yield from _parquet_chunks(fs, file.path, index, rows)
        else:
            yield from _csv_chunks(fs, file.path, index, batch, csv_types or {})


def read_all(batch: BatchFiles, fs: AbstractFileSystem) -> pd.DataFrame:
    """The whole batch in one frame, for a pipeline that needs all of it at once (training)."""
    return pd.concat([chunk.frame for chunk in read_chunks(batch, fs, rows=1_000_000)], ignore_index=True)


def _full_name(fs: AbstractFileSystem, path: str) -> str:
    """A path on local disk, a URI with its scheme elsewhere: what the user would type."""
    return path if "file" in fs.protocol else str(fs.unstrip_protocol(path))


def _skipped(path: str, root: str) -> bool:
    """Hidden and bookkeeping files (`_SUCCESS`, `.crc`, `_temporary/`), as Spark and Hive skip them."""
    relative = posixpath.relpath(path, root)
    return any(part.startswith(("_", ".")) for part in relative.split("/"))


def _format_of(source: FilesSource, names: list[str]) -> FileFormat:
    if source.format != "auto":
        return source.format
    formats = {name: _suffix_format(name) for name in names}
    unknown = [name for name, fmt in formats.items() if fmt is None]
    if unknown:
        raise DataSourceError(
            f"{unknown[0]}: not a Parquet or CSV file by its name; set the source's `format`, "
            "or keep other files out of the batch's folder"
        )
    found = set(formats.values())
    if len(found) > 1:
        raise DataSourceError(f"{describe_source(source)}: mixes Parquet and CSV files; one format per batch")
    return found.pop()  # type: ignore[return-value]


def _suffix_format(name: str) -> FileFormat | None:
    suffix = posixpath.splitext(name.split("?", 1)[0])[1].lower()  # a signed URL's query is no suffix
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    return "csv" if suffix in CSV_SUFFIXES else None


def _parquet_header(fs: AbstractFileSystem, path: str) -> tuple[list[str], dict[str, str], int]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with fs.open(path, "rb") as handle:
            metadata = pq.ParquetFile(handle)
            schema, rows = metadata.schema_arrow, metadata.metadata.num_rows
    except (pa.ArrowException, OSError) as error:
        raise DataSourceError(f"{path}: not a readable Parquet file ({_first_line(error)})") from None
    names = list(schema.names)
    check_unique_columns(names, path)
    return names, {field.name: str(field.type) for field in schema}, rows


def _csv_header(
    fs: AbstractFileSystem, path: str, separator: str, encoding: str
) -> tuple[list[str], dict[str, str], None]:
    try:
        with fs.open(path, "rb") as handle:
            line = handle.readline().decode(encoding)
    except UnicodeDecodeError as error:
        raise DataSourceError(
            f"{path}: not valid {encoding} text (byte {error.start}); set the source's `encoding`"
        ) from None
    return check_csv_header(line, separator, path), {}, None


def _check_same_columns(
    path: str,
    names: list[str],
    types: dict[str, str],
    first_path: str,
    first_names: list[str],
    first_types: dict[str, str],
) -> None:
    rule = "every file of a batch needs the same columns and types"
    for name in first_names:
        if name not in names:
            raise DataSourceError(f"{path}: has no column '{name}', which {first_path} has; {rule}")
    for name in names:
        if name not in first_names:
            raise DataSourceError(f"{path}: has a column '{name}' that {first_path} has not; {rule}")
    for name, kind in types.items():
        first = first_types.get(name, kind)
        if kind != first and "null" not in (kind, first):
            raise DataSourceError(
                f"{path}: column '{name}' is {kind} here but {first} in {first_path}; {rule}"
            )


def _parquet_chunks(fs: AbstractFileSystem, path: str, index: int, rows: int) -> Iterator[Chunk]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    first = 1
    with fs.open(path, "rb") as handle:
        # Without pre-buffering, and reading column chunks through a small buffer: pyarrow's default
        # pre-buffers ranges it keeps until the file is closed, so memory grew with the file
        # (2.7 GB for 10,000,000 x 30 rows, against 370 MB this way).
        parquet = pq.ParquetFile(handle, pre_buffer=False, buffer_size=PARQUET_BUFFER_BYTES)
        group_starts = _row_group_starts(parquet.metadata)
        batches = parquet.iter_batches(batch_size=rows)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            except (pa.ArrowException, OSError) as error:
                group = bisect.bisect_right(group_starts, first) - 1
                raise DataSourceError(
                    f"{path}, rows from {first:,} (row group {group}): cannot be read ({_first_line(error)})"
                ) from None
            yield Chunk(
                batch.to_pandas(), index, path, first, row_group=bisect.bisect_right(group_starts, first) - 1
            )
            first += batch.num_rows


def _row_group_starts(metadata: Any) -> list[int]:
    """The 1-based first row of each row group."""
    starts, row = [], 1
    for group in range(metadata.num_row_groups):
        starts.append(row)
        row += metadata.row_group(group).num_rows
    return starts


def _csv_chunks(
    fs: AbstractFileSystem, path: str, index: int, batch: BatchFiles, types: dict[str, pa.DataType]
) -> Iterator[Chunk]:
    import pyarrow as pa
    import pyarrow.csv as pc

    first = 1
    with fs.open(path, "rb") as handle:
        try:
            reader = pc.open_csv(
                handle,
                read_options=pc.ReadOptions(block_size=CSV_BLOCK_BYTES, encoding=batch.encoding),
                parse_options=pc.ParseOptions(delimiter=batch.separator),
                convert_options=pc.ConvertOptions(
                    column_types={name: kind for name, kind in types.items() if name in batch.columns},
                    strings_can_be_null=True,
                ),
            )
            for record_batch in reader:
                yield Chunk(record_batch.to_pandas(), index, path, first)
                first += record_batch.num_rows
        except (pa.ArrowException, UnicodeDecodeError) as error:
            raise DataSourceError(
                f"{path}, rows from {first:,}: {_csv_reason(error, batch.columns)}"
            ) from None


def _csv_reason(error: Exception, columns: tuple[str, ...]) -> str:
    """Arrow's message in the words pandera uses for the same fault: column, rule, a value."""
    conversion = CSV_CONVERSION.search(str(error))
    if conversion is None:
        return f"cannot be read as CSV ({_first_line(error)})"
    column, expected, value = conversion.groups()
    name = columns[int(column)] if int(column) < len(columns) else f"#{column}"
    return (
        f"column '{name}': wrong type, expected {ARROW_TYPE_WORDING.get(expected, expected)} (e.g. {value})"
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
