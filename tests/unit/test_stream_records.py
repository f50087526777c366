"""A stream entry's record is a JSON object a row can be made of; anything else is refused with the
reason the dead-letter stream records, and nothing (not even a RecursionError) escapes."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from stacks.streams.records import (
    MAX_DEPTH,
    ROWS_PER_PART,
    FrameBuilder,
    UnreadableRecord,
    nesting_depth,
    parse_record,
)


def nested(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


def test_a_json_object_is_the_record() -> None:
    assert parse_record('{"x": 1.5, "kind": "a", "tags": [1, 2], "missing": null}') == {
        "x": 1.5,
        "kind": "a",
        "tags": [1, 2],
        "missing": None,
    }
    assert nesting_depth(parse_record(nested(MAX_DEPTH))) == MAX_DEPTH


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("{not json", "not JSON (Expecting property name enclosed in double quotes at character 1)"),
        ("", "not JSON (Expecting value at character 0)"),
        ("[1, 2]", "not a JSON object (a JSON array)"),
        ('"text"', "not a JSON object (a JSON string)"),
        ("3", "not a JSON object (a JSON number)"),
        ("true", "not a JSON object (a JSON boolean)"),
        ("null", "not a JSON object (a JSON null)"),
        (nested(MAX_DEPTH + 1), f"nested more than {MAX_DEPTH} levels deep"),
        ("[" * 200_000 + "]" * 200_000, f"nested more than {MAX_DEPTH} levels deep"),  # RecursionError
        ('{"a": ' + "[" * 200_000 + "]" * 200_000 + "}", f"nested more than {MAX_DEPTH} levels deep"),
    ],
)
def test_what_cannot_be_a_row_is_refused_with_its_reason(raw: str, reason: str) -> None:
    with pytest.raises(UnreadableRecord) as refused:
        parse_record(raw)
    assert str(refused.value) == reason


def test_nesting_depth_counts_objects_and_arrays_without_recursing() -> None:
    assert nesting_depth(1) == 0
    assert nesting_depth({}) == 1
    assert nesting_depth({"a": 1, "b": [1, {"c": []}]}) == 4
    deep: list[object] = []
    for _ in range(100_000):  # far past Python's recursion limit
        deep = [deep]
    assert nesting_depth(deep) == 100_001


def test_rows_gathered_part_by_part_make_the_frame_all_of_them_would() -> None:
    """Parts where a column has no value, or a key is missing, or holds integers where another part
    holds floats, still give each column the dtype one frame of every row gives it."""
    first: list[dict[str, Any]] = [
        {"x": None, "n": 1, "kind": None, "flag": None} for _ in range(ROWS_PER_PART)
    ]
    second: list[dict[str, Any]] = [
        {"x": 2.5, "n": 2.5, "kind": "a", "flag": True},
        {"n": 3, "kind": "b", "flag": False},
    ]
    third: list[dict[str, Any]] = [{"x": 1, "n": 4, "kind": None, "flag": None, "late": "z"}]
    builder = FrameBuilder()
    for rows in (first, second, third):
        builder.add(rows)

    built = builder.frame()

    expected = pd.DataFrame.from_records(first + second + third)
    assert built.dtypes.to_dict() == expected.dtypes.to_dict()
    assert list(built.columns) == list(expected.columns)
    # A missing text value may be NaN where one frame holds None: both are missing to pandas.
    pd.testing.assert_frame_equal(
        built.astype(object).where(built.notna()), expected.astype(object).where(expected.notna())
    )


def test_no_rows_make_an_empty_frame() -> None:
    assert FrameBuilder().frame().empty
