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


def test_every_command_block_of_the_followed_docs_is_run_by_a_journey_or_says_why_not() -> None:
    """README, tutorials and how-tos: a block is marked `journey: NAME` (and a journey test reads it
    by that name, `doc_block("NAME")` or `journey_blocks("NAME")`) or `not run by the tests: REASON`."""
    from tests.docs_blocks import doc_blocks, followed_docs

    journeys_source = "".join(
        path.read_text(encoding="utf-8") for path in (PROJECT_ROOT / "tests" / "journeys").glob("*.py")
    )
    unmarked, unrun = [], []
    for path in followed_docs():
        for block in doc_blocks(path):
            where = f"{path.relative_to(PROJECT_ROOT)}: {block.text.splitlines()[0] if block.text else ''}"
            if (
                block.is_command
                and block.journey is None
                and not (block.marker or "").startswith("not run by the tests:")
            ):
                unmarked.append(where)
            if block.journey and f'"{block.journey}"' not in journeys_source:
                unrun.append(f"{where} (journey {block.journey})")

    assert unmarked == []
    assert unrun == []


PROJECT_PATH = re.compile(r"`((?:cli|core|pipelines|steps|stacks|configs|scripts|tests|bench|docs)/[\w./-]+)")


def test_every_project_path_the_docs_and_the_code_name_exists() -> None:
    """A path in backquotes (`scripts/reference_docs.py`) in a Markdown file or in the code exists, or
    is a file the same page tells the reader to write (a code block starting `# path`, or titled
    with it); `NAME` stands for the reader's own name."""
    from tests.docs_blocks import doc_blocks

    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    missing = []
    for name in listed:
        if not name.endswith((".md", ".py", ".yaml", ".sh", ".toml")):
            continue
        path = PROJECT_ROOT / name
        written = set()
        if name.endswith(".md"):
            for block in doc_blocks(path):
                written.add(block.title)
                written.add(block.text.splitlines()[0].removeprefix("# ") if block.text else None)
        for found in PROJECT_PATH.finditer(path.read_text(encoding="utf-8", errors="replace")):
            named = found.group(1).rstrip(".")
            if "NAME" not in named and named not in written and not (PROJECT_ROOT / named).exists():
                missing.append(f"{name}: {named}")

    assert missing == []
