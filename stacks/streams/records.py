"""One stream entry's record: a JSON object, parsed so that no entry can stop a read (what cannot be
parsed is refused with a reason, and the reader moves it to the dead-letter stream)."""

from __future__ import annotations

import json
from typing import Any

from core.capture import UnusableCapture, captured_rows

MAX_DEPTH = 32  # nesting a record may have; a record is a row, so far deeper is an attack or a bug


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
