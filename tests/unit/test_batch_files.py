"""Batches by reference: core/batches (listing, header checks, chunks) and core/batch_scoring
(the streamed scoring loop, its sample and its partitioned output), on real files."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.datasets import load_breast_cancer

from core import batches
from core.batch_scoring import PartitionedOutput, ReservoirSample, frame_chunks, score_chunks
from core.batches import arrow_types, list_batch, read_all, read_chunks
from core.errors import DataSourceError, DataValidationError
from core.modeling import TrainConfig, fit_model
from core.scoring import score_in_process, with_predictions
from core.sources import FilesSource
from core.validation import FeatureSchema, ValidationConfig, validate_batch, validate_training_data

DEMO = load_breast_cancer(as_frame=True).frame
FEATURES = DEMO.drop(columns="target")
FS = fsspec.filesystem("file")


def files(uri: Path | str, **options: Any) -> FilesSource:
    return FilesSource(kind="files", uri=str(uri), **options)


@pytest.fixture(scope="module")
def trained() -> tuple[Any, FeatureSchema]:
    data, schema = validate_training_data(DEMO, "target", ValidationConfig())
    config = TrainConfig(estimator="sklearn.linear_model.LogisticRegression", params={"max_iter": 2000})
    model, _ = fit_model(data, schema, config)
    return model, schema


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three Parquet parts of the demo features (the second in two row groups), a `_SUCCESS` marker
    and a hidden file, as Spark or Hive leave them."""
    batch = tmp_path / "batch"
    (batch / "day=2").mkdir(parents=True)
    FEATURES.iloc[:200].to_parquet(batch / "part-0.parquet", index=False)
    pq.write_table(
        pa.Table.from_pandas(FEATURES.iloc[200:450], preserve_index=False),
        batch / "day=2" / "part-1.parquet",
        row_group_size=100,
    )
    FEATURES.iloc[450:].to_parquet(batch / "part-2.parquet", index=False)
    (batch / "_SUCCESS").write_text("")
    (batch / ".part-0.parquet.crc").write_text("x")
    return batch


def test_a_folder_is_listed_from_its_headers_and_read_in_chunks_in_order(folder: Path) -> None:
    batch = list_batch(files(folder), FS)

    assert [Path(f.path).name for f in batch.files] == ["part-1.parquet", "part-0.parquet", "part-2.parquet"]
    assert batch.format == "parquet" and batch.columns == tuple(FEATURES.columns)
    assert batch.reference()["rows"] == len(FEATURES) and batch.reference()["files"] == 3
    chunks = list(read_chunks(batch, FS, rows=60))
    assert sum(len(c.frame) for c in chunks) == len(FEATURES)
    second = [c for c in chunks if c.file_index == 0]  # day=2/part-1.parquet sorts first
    assert [c.first_row for c in second] == [1, 61, 121, 181, 241]
    assert second[2].where.endswith("part-1.parquet, rows 121-180 (row group 1)")
    assert {c.row_group for c in second} == {0, 1, 2}
    read = pd.concat([c.frame for c in chunks], ignore_index=True)
    expected = pd.concat(
        [FEATURES.iloc[200:450], FEATURES.iloc[:200], FEATURES.iloc[450:]], ignore_index=True
    )
    pd.testing.assert_frame_equal(read, expected)
    pd.testing.assert_frame_equal(read_all(batch, FS), expected)


def test_the_fingerprint_names_the_files_as_they_are_without_reading_them(folder: Path) -> None:
    first = list_batch(files(folder), FS).fingerprint

    assert list_batch(files(folder), FS).fingerprint == first
    part = folder / "part-2.parquet"
    FEATURES.iloc[450:].assign(**{"mean radius": 0.0}).to_parquet(part, index=False)
    os.utime(part, (1, 1))
    assert list_batch(files(folder), FS).fingerprint != first


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda p: FEATURES.iloc[:5].drop(columns="mean area").to_parquet(p, index=False),
            "has no column 'mean area'",
        ),
        (lambda p: FEATURES.iloc[:5].assign(extra=1).to_parquet(p, index=False), "has a column 'extra' that"),
        (
            lambda p: FEATURES.iloc[:5].astype({"worst area": str}).to_parquet(p, index=False),
            "column 'worst area' is string here but double in",
        ),
        (lambda p: p.write_bytes(p.read_bytes()[:-40]), "not a readable Parquet file"),
    ],
    ids=["missing column", "extra column", "other type", "corrupt footer"],
)
def test_a_file_unlike_the_first_is_named_with_its_column(folder: Path, change: Any, message: str) -> None:
    part = folder / "part-2.parquet"
    change(part)

    with pytest.raises(DataSourceError, match=message) as raised:
        list_batch(files(folder), FS)
    assert str(raised.value).startswith(str(part))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such file or folder"),
        (lambda p: p.mkdir(), "the folder holds no data files"),
        (
            lambda p: (p.mkdir(), (p / "notes.txt").write_text("a\n1\n"), (p / "x.json").write_text("{}")),
            "x.json: not a Parquet or CSV file",
        ),
        (
            lambda p: (p.mkdir(), FEATURES.to_csv(p / "a.csv"), FEATURES.to_parquet(p / "b.parquet")),
            "mixes Parquet and CSV files",
        ),
        (lambda p: (p.mkdir(), (p / "a.parquet").write_bytes(b"")), "a.parquet: is empty"),
        (
            lambda p: (p.mkdir(), (p / "a.csv").write_text("x;y;z\n1;2;3\n")),
            "a.csv: found a single column 'x;y;z'; the separator is probably not ','",
        ),
        (
            lambda p: (p.mkdir(), (p / "a.csv").write_text("x,y,x\n1,2,3\n")),
            r"a.csv: duplicated column name\(s\) x",
        ),
    ],
    ids=["nowhere", "empty folder", "unknown file", "mixed formats", "empty file", "separator", "duplicates"],
)
def test_what_is_not_a_batch_is_refused_in_one_line(tmp_path: Path, make: Any, message: str) -> None:
    where = tmp_path / "batch"
    make(where)

    with pytest.raises(DataSourceError, match=message):
        list_batch(files(where), FS)


def test_a_wrong_value_deep_in_a_csv_names_the_file_rows_and_column(
    tmp_path: Path, trained: tuple[Any, FeatureSchema], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batches, "CSV_BLOCK_BYTES", 1 << 14)  # many blocks from a small file
    _, schema = trained
    rows = pd.concat([FEATURES] * 4, ignore_index=True).astype({"mean texture": object})
    rows.loc[2000, "mean texture"] = "rough"
    path = tmp_path / "batch.csv"
    rows.to_csv(path, index=False)
    batch = list_batch(files(path), FS)

    with pytest.raises(DataSourceError) as raised:
        for _ in read_chunks(batch, FS, rows=100, csv_types=arrow_types(schema)):
            pass
    message = str(raised.value)
    assert message.startswith(f"{path}, rows from ")
    assert message.endswith("column 'mean texture': wrong type, expected float64 (e.g. rough)")
    first = int(message.split("rows from ")[1].split(":")[0].replace(",", ""))
    assert 1 < first <= 2001


def test_the_reservoir_keeps_a_seeded_uniform_sample_of_any_stream() -> None:
    stream = pd.DataFrame({"row": np.arange(200_000)})

    def sampled(size: int, chunk: int, seed: int) -> pd.DataFrame:
        reservoir = ReservoirSample(size, seed)
        for part in frame_chunks(stream, chunk, "stream"):
            reservoir.add(part.frame)
        return reservoir.rows

    sample = sampled(2_000, 7_000, seed=1)
    assert len(sample) == 2_000 and sample["row"].is_unique
    pd.testing.assert_frame_equal(sample, sampled(2_000, 7_000, seed=1))
    assert not sample.equals(sampled(2_000, 7_000, seed=2))
    # Each row equally likely: a quarter of the sample from each quarter of the stream.
    quarters = np.bincount(sample["row"] // 50_000, minlength=4) / 2_000
    np.testing.assert_allclose(quarters, 0.25, atol=0.04)
    assert len(sampled(300_000, 7_000, seed=1)) == 200_000
    assert len(sampled(None, 7_000, seed=1)) == 200_000  # type: ignore[arg-type]


def test_a_folder_is_scored_into_parts_that_equal_the_whole_batch_scored_at_once(
    folder: Path, tmp_path: Path, trained: tuple[Any, FeatureSchema]
) -> None:
    model, schema = trained
    batch = list_batch(files(folder), FS)
    output = PartitionedOutput(FS, str(tmp_path / "out" / "run-1"), "parquet")
    sample = ReservoirSample(100, 42)

    totals = score_chunks(
        read_chunks(batch, FS, rows=70),
        schema,
        lambda features: score_in_process(model, features, "3"),
        output,
        sample,
    )
    assert not (tmp_path / "out" / "run-1").exists()  # nothing final before publish
    location = output.publish({"rows": totals.rows})

    assert location == str(tmp_path / "out" / "run-1")
    parts = sorted(Path(location).glob("part-*.parquet"))
    assert [p.name for p in parts] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert json.loads((Path(location) / "_SUCCESS").read_text()) == {"rows": len(FEATURES)}
    assert not list((tmp_path / "out").glob(".*"))
    written = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    whole = pd.concat([FEATURES.iloc[200:450], FEATURES.iloc[:200], FEATURES.iloc[450:]], ignore_index=True)
    checked = validate_batch(whole, schema, labels="none")
    expected = with_predictions(checked, score_in_process(model, checked[schema.features], "3"))
    pd.testing.assert_frame_equal(written, expected)
    assert totals.rows == len(FEATURES)
    assert totals.labels == {str(k): int(v) for k, v in expected["prediction"].value_counts().items()}
    assert len(sample.rows) == 100 and list(sample.rows.columns) == schema.features


def test_a_bad_chunk_names_its_file_and_rows_and_leaves_no_output(
    folder: Path, tmp_path: Path, trained: tuple[Any, FeatureSchema]
) -> None:
    model, schema = trained
    late = FEATURES.iloc[450:].copy()
    late.loc[late.index[100], "mean area"] = np.inf
    late.to_parquet(folder / "part-2.parquet", index=False)
    output = PartitionedOutput(FS, str(tmp_path / "out" / "run-2"), "parquet")

    with pytest.raises(DataValidationError) as raised:
        try:
            score_chunks(
                read_chunks(list_batch(files(folder), FS), FS, rows=50),
                schema,
                lambda features: score_in_process(model, features, "3"),
                output,
                ReservoirSample(10, 0),
            )
        finally:
            output.discard()

    where = f"{folder / 'part-2.parquet'}, rows 101-119 (row group 0)"
    assert str(raised.value) == f"{where}: column 'mean area': infinite value (e.g. inf)"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_missing_values_are_judged_on_the_whole_batch_not_per_chunk(
    tmp_path: Path, trained: tuple[Any, FeatureSchema]
) -> None:
    model, schema = trained
    rows = FEATURES.copy()
    rows.loc[: len(rows) // 2, "worst area"] = np.nan  # one chunk all missing, the batch about half

    def run(limit: float, name: str) -> Any:
        contract = schema.contract.model_copy(update={"max_null_fraction": limit})
        return score_chunks(
            frame_chunks(rows, 100, "rows"),
            schema.model_copy(update={"contract": contract}),
            lambda features: score_in_process(model, features, "1"),
            PartitionedOutput(FS, str(tmp_path / name), "csv"),
            ReservoirSample(10, 0),
        )

    assert run(0.6, "kept").rows == len(rows)
    with pytest.raises(
        DataValidationError, match=r"column 'worst area': share of missing values above .* = 0.4"
    ):
        run(0.4, "refused")


def test_an_output_folder_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "run-1").mkdir()

    with pytest.raises(DataSourceError, match="run-1: already exists"):
        PartitionedOutput(FS, str(tmp_path / "run-1"), "parquet")


def test_a_uri_that_cannot_be_read_is_one_line_naming_it() -> None:
    uri = "http://127.0.0.1:9/batches/2026-12-01/"  # nothing listens on the discard port

    with pytest.raises(DataSourceError) as raised:
        list_batch(files(uri), fsspec.filesystem("http"))

    assert str(raised.value).startswith(f"data '{uri}': ")
    assert "\n" not in str(raised.value)
