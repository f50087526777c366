"""One stream entry's record: a JSON object, parsed so that no entry can stop a read (what cannot be
parsed is refused with a reason, and the reader moves it to the dead-letter stream)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from core.capture import UnusableCapture, captured_rows

MAX_DEPTH = 32  # nesting a record may have; a record is a row, so far deeper is an attack or a bug
ROWS_PER_PART = 5_000  # rows held as dicts before they become a frame


class UnreadableRecord(ValueError):
    """Why an entry's record cannot be a row (the message is the dead letter's reason)."""


def parse_record(raw: str) -> dict[str, Any]:
    """The JSON object in `raw`, or UnreadableRecord naming what is wrong with it."""
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as error:
        raise UnreadableRecord(f"not JSON ({error.msg} at character {error.pos})") from None
    except RecursionError:  # the decoder recurses per level; Python's limit stops it
        raise UnreadableRecord(f"nested more than {MAX_DEPTH} levels deep") from None
    if not isinstance(record, dict):
        raise UnreadableRecord(f"not a JSON object (a JSON {_json_kind(record)})")
    if nesting_depth(record) > MAX_DEPTH:
        raise UnreadableRecord(f"nested more than {MAX_DEPTH} levels deep")
    return record


def nesting_depth(value: object) -> int:
    """How many objects and arrays deep `value` goes (1 for a flat object), without recursion."""
    depth = 0
    level = [value]
    while level:
        containers = [item for item in level if isinstance(item, dict | list)]
        if not containers:
            return depth
        depth += 1
        level = [
            child for item in containers for child in (item.values() if isinstance(item, dict) else item)
        ]
    return depth


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    return "null" if value is None else "number"


def capture_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of an entry of captured requests (`core.capture`), or UnreadableRecord saying why not."""
    try:
        return captured_rows(record)
    except UnusableCapture as error:
        raise UnreadableRecord(str(error)) from None


class FrameBuilder:
    """The rows of a read gathered into one frame a few thousand at a time: a row held as a dict
    of 30 features costs about 2.5 KB, as a frame's row about 0.3 KB, so a window of 100,000
    captured requests costs what its frame does, not ten times that."""

    def __init__(self) -> None:
        self._rows: list[dict[str, Any]] = []
        self._parts: list[pd.DataFrame] = []

    def add(self, rows: list[dict[str, Any]]) -> None:
        self._rows += rows
        if len(self._rows) >= ROWS_PER_PART:
            self._close_part()

    def frame(self) -> pd.DataFrame:
        """Every row added, with the columns and dtypes one frame of all the rows would have (a
        missing text value may be NaN where that frame has None: pandas takes both as missing)."""
        self._close_part()
        if len(self._parts) <= 1:
            return self._parts[0] if self._parts else pd.DataFrame()
        return pd.concat(self._parts, ignore_index=True)

    def _close_part(self) -> None:
        if not self._rows:
            return
        part = pd.DataFrame.from_records(self._rows)
        self._rows = []
        # A column with no value in this part is all None (object): as NaN floats it takes the type
        # of the other parts' values, as it would in one frame of all the rows.
        empty = [name for name, column in part.items() if column.dtype == object and column.isna().all()]
        self._parts.append(part.astype(dict.fromkeys(empty, float)) if empty else part)
