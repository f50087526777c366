"""One shape for every benchmark figure: each benchmark prints its table through `report`, and
`bench/run.py` collects them all into one table."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

FIGURES_FILE_ENV = "BENCH_FIGURES"


@dataclass(frozen=True)
class Figure:
    """A measured value next to the baseline it is compared with (run side by side, or a target)."""

    benchmark: str
    measure: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None


def _number(value: float, unit: str) -> str:
    digits = 0 if abs(value) >= 100 else 2 if abs(value) < 10 else 1
    return f"{value:,.{digits}f} {unit}".strip()


def table(figures: list[Figure]) -> str:
    lines = ["| benchmark | measure | value | baseline | ratio |", "|---|---|---|---|---|"]
    for figure in figures:
        baseline = (
            f"{_number(figure.baseline, figure.unit)} ({figure.baseline_name})"
            if figure.baseline is not None
            else ""
        )
        ratio = f"{figure.ratio:.2f}x" if figure.ratio is not None else ""
        lines.append(
            f"| {figure.benchmark} | {figure.measure} | {_number(figure.value, figure.unit)} | "
            f"{baseline} | {ratio} |"
        )
    return "\n".join(lines)


def report(figures: list[Figure]) -> None:
    """Print the figures as a Markdown table; also append them to $BENCH_FIGURES (JSON lines)."""
    print(f"{os.cpu_count()} cores\n")
    print(table(figures))
    path = os.environ.get(FIGURES_FILE_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            for figure in figures:
                handle.write(json.dumps(asdict(figure)) + "\n")
