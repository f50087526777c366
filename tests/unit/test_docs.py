"""The docs a user reads: the README's contract, and the MkDocs site building strictly with the
reference pages made from the code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
BIN = Path(sys.executable).parent


def test_readme_is_short_and_opens_with_the_two_quick_start_commands() -> None:
    text = README.read_text(encoding="utf-8")
    quick_start = text.split("\n## Quick start\n", 1)[1]
    first_block = re.search(r"```bash\n(.*?)```", quick_start, re.DOTALL)

    assert len(text.encode()) <= 10_000
    assert first_block is not None
    assert first_block.group(1).splitlines() == [
        "bash scripts/setup.sh && .venv/bin/python run.py --pipeline training",
        "bash scripts/test.sh",
    ]


def test_every_relative_link_of_the_readme_points_at_a_file() -> None:
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README.read_text(encoding="utf-8"))
    relative = [link for link in links if not link.startswith(("http://", "https://"))]

    assert relative
    assert [link for link in relative if not (PROJECT_ROOT / link).exists()] == []


def test_the_docs_site_builds_with_no_warning_and_reference_pages_made_from_the_code(
    tmp_path: Path,
) -> None:
    from pipelines.parameters import PARAMETERS

    result = subprocess.run(
        [str(BIN / "mkdocs"), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": str(BIN)},
    )

    assert result.returncode == 0, result.stderr[-3000:]
    configuration = (tmp_path / "site" / "reference" / "configuration" / "index.html").read_text()
    cli = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    keys = [f"parameters.{name}" for model in PARAMETERS.values() for name in model.model_fields]
    assert [key for key in keys if f"<code>{key}" not in configuration] == []
    assert [c for c in ("servers up", "deployment status", "stack register", "predict") if c not in cli] == []
    assert not (PROJECT_ROOT / "docs" / "reference" / "configuration.md").exists()  # made, not stored
