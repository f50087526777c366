"""bench/figures.py: the one table every benchmark prints and bench/run.py collects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.figures import FIGURES_FILE_ENV, Figure, report, table


def test_table_shows_value_baseline_and_ratio() -> None:
    text = table(
        [
            Figure("serving", "1 row, 8 conn: requests/s", 480.4, "req/s", 75.1, "mlflow models serve"),
            Figure("training", "`run.py --help`", 0.19, "s", 1.0, "target"),
            Figure("drift check", "rows", 1_000_000, ""),
        ]
    )

    lines = text.splitlines()
    assert lines[0] == "| benchmark | measure | value | baseline | ratio |"
    assert (
        lines[2]
        == "| serving | 1 row, 8 conn: requests/s | 480 req/s | 75.1 req/s (mlflow models serve) | 6.40x |"
    )
    assert lines[3] == "| training | `run.py --help` | 0.19 s | 1.00 s (target) | 0.19x |"
    assert lines[4] == "| drift check | rows | 1,000,000 |  |  |"


def test_report_appends_json_lines_for_the_harness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    collected = tmp_path / "figures.jsonl"
    monkeypatch.setenv(FIGURES_FILE_ENV, str(collected))
    first, second = Figure("a", "x", 1.0, "s", 2.0, "b"), Figure("a", "y", 3.0, "s")

    report([first])
    report([second])

    assert [Figure(**json.loads(line)) for line in collected.read_text().splitlines()] == [first, second]
    assert "| a | x | 1.00 s | 2.00 s (b) | 0.50x |" in capsys.readouterr().out
