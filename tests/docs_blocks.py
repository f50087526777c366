"""The command blocks of the docs an adopter follows (README, tutorials, how-tos), each marked by
the journey test that runs it or by why no test can: the docs cannot drift from the code unnoticed.

A marker is an HTML comment on the line before the fence (invisible in GitHub and MkDocs):
`<!-- journey: NAME -->` (a test runs it, reading it from here with `doc_block(NAME)`), or
`<!-- not run by the tests: REASON -->`. Blocks of other languages (YAML, Python) carry the same
marker when a journey applies them (`doc_block` returns any marked block).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import PROJECT_ROOT

FOLLOWED_DOCS = ("README.md", "docs/tutorial", "docs/how-to")
COMMAND_LANGUAGES = ("bash", "sh", "shell", "console")
_BLOCK = re.compile(
    r"(?:<!--\s*(?P<marker>[^>]*?)\s*-->\s*\n)?^(?P<indent>[ \t]*)```(?P<language>\w*)(?P<info>[^\n]*)\n"
    r"(?P<text>.*?)^(?P=indent)```",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class DocBlock:
    path: Path
    language: str
    info: str
    marker: str | None
    text: str

    @property
    def journey(self) -> str | None:
        """The journey that runs the block: the first word after `journey:` (a note may follow)."""
        if self.marker and self.marker.startswith("journey:"):
            return self.marker.removeprefix("journey:").split()[0]
        return None

    @property
    def is_command(self) -> bool:
        return self.language in COMMAND_LANGUAGES

    @property
    def title(self) -> str | None:
        """The file a block is the content of: MkDocs' `title="path"` on the fence."""
        found = re.search(r'title="([^"]+)"', self.info)
        return found.group(1) if found else None


def followed_docs() -> list[Path]:
    paths = []
    for name in FOLLOWED_DOCS:
        path = PROJECT_ROOT / name
        paths += sorted(path.glob("*.md")) if path.is_dir() else [path]
    return paths


def doc_blocks(path: Path) -> list[DocBlock]:
    text = path.read_text(encoding="utf-8")
    return [
        DocBlock(
            path=path,
            language=found["language"],
            info=found["info"],
            marker=found["marker"],
            text=_dedent(found["text"], found["indent"]),
        )
        for found in _BLOCK.finditer(text)
    ]


def journey_blocks(name: str) -> list[DocBlock]:
    """Every block of the followed docs marked `journey: NAME`, in document order."""
    found = [block for path in followed_docs() for block in doc_blocks(path) if block.journey == name]
    if not found:
        raise LookupError(f"no block of the docs is marked `<!-- journey: {name} -->`")
    return found


def doc_block(name: str) -> str:
    """The text of the one block marked `journey: NAME`."""
    (block,) = journey_blocks(name)
    return block.text


def _dedent(text: str, indent: str) -> str:
    return "".join(line.removeprefix(indent) for line in text.splitlines(keepends=True))
