"""core/lineage.py: a data fingerprint that follows the content, not the file, and a config hash."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.lineage import config_hash, data_fingerprint
from core.modeling import SplitConfig
from core.sources import CsvSource, ParquetSource, load_source


def table() -> pd.DataFrame:
    return pd.DataFrame({"size": [1, 2, 3], "weight": [0.5, 1.5, None], "colour": ["red", "blue", "red"]})


def test_the_same_rows_from_csv_and_parquet_have_one_fingerprint(tmp_path: Path) -> None:
    table().to_csv(tmp_path / "t.csv", index=False)
    table().astype({"size": "Int64"}).to_parquet(tmp_path / "t.parquet", index=False)

    from_csv = load_source(CsvSource(kind="csv", path=tmp_path / "t.csv"))
    from_parquet = load_source(ParquetSource(kind="parquet", path=tmp_path / "t.parquet"))

    assert data_fingerprint(from_csv) == data_fingerprint(from_parquet) == data_fingerprint(table())


def test_a_changed_value_row_order_or_column_name_changes_the_fingerprint() -> None:
    original = data_fingerprint(table())
    changed = table()
    changed.loc[1, "weight"] = 1.25

    assert data_fingerprint(changed) != original
    assert data_fingerprint(table().iloc[::-1]) != original
    assert data_fingerprint(table().rename(columns={"size": "length"})) != original
    assert data_fingerprint(table().set_axis([7, 8, 9])) == original  # the index is not content


def test_config_hash_follows_the_values_with_defaults_filled_in() -> None:
    assert config_hash(SplitConfig()) == config_hash(SplitConfig(test_size=0.2, seed=42))
    assert config_hash(SplitConfig()) != config_hash(SplitConfig(seed=7))
