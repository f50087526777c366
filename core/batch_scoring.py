"""Score a batch chunk by chunk: each chunk checked by the model's schema, scored, appended to a
partitioned output and sampled for the drift check, so memory holds a few chunks whatever the size.

The output is written under a hidden folder beside its final place and moved there only when every
row has been scored (`PartitionedOutput.publish`): a failed or killed run leaves nothing that looks
complete.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from core.batches import Chunk
from core.errors import DataSourceError, DataValidationError
from core.scoring import predictions_table
from core.v2_client import Predictions
from core.validation import BatchContract, FeatureSchema, features_validator

if TYPE_CHECKING:
    import pyarrow as pa
    from fsspec import AbstractFileSystem

T = TypeVar("T")
SUCCESS_MARKER = "_SUCCESS"
OutputFormat = Literal["parquet", "csv"]


class BatchPredictions(BaseModel):
    """What a batch inference run wrote: where, how much, by which version, and what it answered."""

    model_config = ConfigDict(frozen=True)

    location: str
    format: OutputFormat
    files: int
    rows: int
    model_version: str
    scored_by: str
    label_counts: dict[str, int]
    mean_probabilities: dict[str, float]
    seconds: float


class ReservoirSample:
    """A seeded, uniform sample of at most `size` rows of a stream of frames, in memory of `size`
    rows: every row draws a random key and the rows with the `size` smallest keys stay, so each row
    of the stream is equally likely to be kept whatever its length. `size=None` keeps every row."""

    def __init__(self, size: int | None, seed: int) -> None:
        self.size = size
        self._rng = np.random.default_rng(seed)
        self._keys = np.empty(0)
        self._rows: pd.DataFrame | None = None

    def add(self, frame: pd.DataFrame) -> None:
        keys = self._rng.random(len(frame))
        if self.size is not None and len(self._keys) == self.size:
            kept = np.flatnonzero(keys < self._keys.max())
            frame, keys = frame.iloc[kept], keys[kept]
        if not len(frame):
            return
        rows = frame if self._rows is None else pd.concat([self._rows, frame], copy=False)
        keys = np.concatenate([self._keys, keys])
        if self.size is not None and len(keys) > self.size:
            smallest = np.argpartition(keys, self.size - 1)[: self.size]
            rows, keys = rows.iloc[smallest], keys[smallest]
        self._rows, self._keys = rows, keys

    @property
    def rows(self) -> pd.DataFrame:
        """The sample, in the order of its keys (the same seed and stream give the same frame)."""
        if self._rows is None:
            return pd.DataFrame()
        return self._rows.iloc[np.argsort(self._keys, kind="stable")].reset_index(drop=True)


class PartitionedOutput:
    """Parts of one result (`part-00000.parquet`, ...) written under `.<name>.incomplete` beside the
    final folder, and moved into it by `publish` once all are written, with a `_SUCCESS` manifest.

    On local disk the move is one rename, so the folder appears whole. On an object store, where a
    rename is a copy, the parts are moved first and `_SUCCESS` is written last: a reader takes the
    folder as complete when `_SUCCESS` is in it, as with Spark's and Hadoop's output.
    """

    def __init__(self, fs: AbstractFileSystem, location: str, fmt: OutputFormat) -> None:
        self.fs, self.format = fs, fmt
        self.location = fs._strip_protocol(location).rstrip("/")
        parent, name = posixpath.split(self.location)
        self.staging = posixpath.join(parent, f".{name}.incomplete")
        if fs.exists(self.location):
            raise DataSourceError(f"{self.uri}: already exists; it is never overwritten")
        self._writers: dict[int, tuple[Any, Any, pa.Schema]] = {}
        self.parts = 0

    @property
    def uri(self) -> str:
        """The final folder: a path on local disk, a URI elsewhere."""
        return self.location if "file" in self.fs.protocol else str(self.fs.unstrip_protocol(self.location))

    def write(self, part: int, table: pa.Table) -> None:
        """Append `table` to part `part` (one part per input file, opened on first use)."""
        if part not in self._writers:
            self._close_parts()
            self._writers[part] = self._open(part, table.schema)
            self.parts += 1
        writer, _, schema = self._writers[part]
        if not table.schema.equals(schema):
            table = table.cast(schema)
        writer.write_table(table) if self.format == "parquet" else writer.write(table)

    def publish(self, manifest: dict[str, Any]) -> str:
        """Move every part into the final folder, then mark it complete; returns its URI."""
        self._close_parts()
        marker = json.dumps(manifest, indent=2, default=str).encode()
        if "file" in self.fs.protocol:
            self.fs.pipe_file(posixpath.join(self.staging, SUCCESS_MARKER), marker)
            self.fs.mv(self.staging, self.location, recursive=True)
        else:
            for part in sorted(self.fs.ls(self.staging, detail=False)):
                self.fs.mv(part, posixpath.join(self.location, posixpath.basename(part)))
            self.fs.pipe_file(posixpath.join(self.location, SUCCESS_MARKER), marker)
            # An object store has no folders: once its parts moved, the staging prefix is gone.
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm(self.staging, recursive=True)
        return self.uri

    def discard(self) -> None:
        """Remove what was written: the run failed, and no part of it is kept."""
        self._close_parts()
        if self.fs.exists(self.staging):
            self.fs.rm(self.staging, recursive=True)

    def _open(self, part: int, schema: pa.Schema) -> tuple[Any, Any, pa.Schema]:
        import pyarrow as pa
        import pyarrow.csv as pc
        import pyarrow.parquet as pq

        self.fs.makedirs(self.staging, exist_ok=True)  # on the first part: a refused batch leaves nothing
        handle = self.fs.open(posixpath.join(self.staging, f"part-{part:05d}.{self.format}"), "wb")
        if self.format == "csv":
            return pc.CSVWriter(handle, schema), handle, schema
        # Dictionary encoding pays off for text, not for the float columns most batches are made of
        # (it doubles the write time of random floats).
        text = [
            field.name
            for field in schema
            if pa.types.is_string(field.type) or pa.types.is_dictionary(field.type)
        ]
        writer = pq.ParquetWriter(handle, schema, compression="snappy", use_dictionary=text or False)
        return writer, handle, schema

    def _close_parts(self) -> None:
        for writer, handle, _ in self._writers.values():
            writer.close()
            handle.close()
        self._writers.clear()


@dataclass
class BatchTotals:
    """Rows, labels and summed probabilities: added up chunk by chunk in process, or counted by
    Spark over its output."""

    rows: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    probability_sums: dict[str, float] = field(default_factory=dict)

    def add(self, predictions: Predictions) -> None:
        self.rows += len(predictions.probabilities)
        # A label is the most probable class, on the endpoint as in process.
        winners = np.bincount(predictions.probabilities.argmax(axis=1), minlength=len(predictions.classes))
        for name, count in zip(predictions.classes, winners.tolist(), strict=True):
            if count:
                self.labels[name] = self.labels.get(name, 0) + count
        for index, name in enumerate(predictions.classes):
            total = float(predictions.probabilities[:, index].sum())
            self.probability_sums[name] = self.probability_sums.get(name, 0.0) + total

    @property
    def mean_probabilities(self) -> dict[str, float]:
        return {name: total / max(self.rows, 1) for name, total in self.probability_sums.items()}


def score_chunks(
    chunks: Iterable[Chunk],
    schema: FeatureSchema,
    score: Callable[[pd.DataFrame], Predictions],
    output: PartitionedOutput,
    sample: ReservoirSample,
) -> BatchTotals:
    """Check, score, write and sample every chunk; a chunk's fault is raised naming its file and rows.

    The rows of each chunk are checked by the model's contract as they come; its rules about the
    whole batch (null shares, uniqueness) are judged over all the chunks (`BatchContract`). Reading
    the next chunk and writing the last one run on threads beside the scoring (Arrow's reader and
    writer release the GIL), with at most one chunk ahead and one behind.
    """
    features = schema.features
    validate = features_validator(schema, per_chunk=True)
    contract = BatchContract(schema)
    totals = BatchTotals()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-writer") as writer:
        written: Future[None] | None = None
        for chunk in _read_ahead(chunks):
            try:
                checked = validate(chunk.frame)
                model_input = checked[features]
                contract.add(model_input)
                predictions = score(model_input)
                table = predictions_table(checked, predictions)
            except DataValidationError as error:
                raise DataValidationError(f"{chunk.where}: {error}") from None
            totals.add(predictions)
            sample.add(model_input)
            if written is not None:
                written.result()
            written = writer.submit(output.write, chunk.file_index, table)
        if written is not None:
            written.result()
    if totals.rows == 0:
        raise DataSourceError("the batch has no rows")
    contract.check()
    return totals


def frame_chunks(frame: pd.DataFrame, rows: int, label: str) -> Iterator[Chunk]:
    """A frame already in memory (from a database, a stream, ...) as chunks of `rows` rows."""
    for start in range(0, len(frame), rows):
        yield Chunk(frame.iloc[start : start + rows], 0, label, start + 1)


def predictions_summary(
    totals: BatchTotals, output: PartitionedOutput, model_version: str, scored_by: str, started: float
) -> BatchPredictions:
    return BatchPredictions(
        location=output.uri,
        format=output.format,
        files=output.parts,
        rows=totals.rows,
        model_version=model_version,
        scored_by=scored_by,
        label_counts=totals.labels,
        mean_probabilities=totals.mean_probabilities,
        seconds=round(time.perf_counter() - started, 3),
    )


def _read_ahead(items: Iterable[T]) -> Iterator[T]:
    """`items`, with the next one fetched on a thread while the caller works on the current one."""
    iterator = iter(items)
    done = object()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-reader") as reader:
        upcoming = reader.submit(next, iterator, done)
        while (item := upcoming.result()) is not done:
            upcoming = reader.submit(next, iterator, done)
            yield item  # type: ignore[misc]
